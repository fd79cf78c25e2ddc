"""Realistic rows for the admin tests: the bundled sample papers, readers
with topics and consent records, editions with deliveries in every state."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.models import Delivery, Edition, Paper, Topic
from subscribers.models import ConsentRecord, Subscriber

DAY = date(2025, 8, 5)


def sample_papers(*, day: date = DAY) -> list[Paper]:
    """The 91 sample papers, featured on ``day``, tagged by the real tagger."""
    papers_ingest_file(path=SAMPLE_PATH, featured_on=day)
    return list(Paper.objects.filter(featured_on=day))


def paper_make(n: int, *, day: date = DAY, **fields) -> Paper:
    values = {
        "arxiv_id": f"2508.{n:05d}",
        "title": f"Paper number {n}",
        "abstract": f"Abstract of paper {n}.",
        "authors": [f"Author {n}", "Jörg Müller"],
        "featured_on": day,
        "upvotes": n,
    }
    values.update(fields)
    return Paper.objects.create(**values)


def topic(slug: str) -> Topic:
    return Topic.objects.get(slug=slug)


def reader_make(n: int, *, status: str = Subscriber.Status.ACTIVE, topics: tuple[str, ...] = ("reasoning",),
                **fields) -> Subscriber:
    reader = Subscriber.objects.create(
        email=f"reader{n}@example.org",
        status=status,
        confirmed_at=timezone.now() if status != Subscriber.Status.PENDING else None,
        **fields,
    )
    if topics:
        reader.topics.set(Topic.objects.filter(slug__in=topics))
    ConsentRecord.objects.create(
        subscriber=reader, kind=ConsentRecord.Kind.SIGNUP, wording="I want the digest.", wording_version="1"
    )
    return reader


def edition_make(*, day: date = DAY, note: str = "") -> Edition:
    return Edition.objects.create(date=day, note=note)


def delivery_make(*, reader: Subscriber, edition: Edition, status: str = Delivery.Status.SENT,
                  reason: str = "") -> Delivery:
    sent = status == Delivery.Status.SENT
    due = datetime.combine(edition.date, time(7), tzinfo=timezone.get_current_timezone())
    return Delivery.objects.create(
        subscriber=reader, edition=edition, status=status, reason=reason, due_at=due,
        sent_at=due + timedelta(minutes=1) if sent else None,
        provider_message_id=f"msg-{reader.pk}-{edition.pk}" if sent else "",
    )
