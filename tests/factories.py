"""Rows for tests: readers, papers, editions and deliveries with plain
defaults, and the small hand-made edition whose right answer can be worked
out by hand. Every test makes its rows here."""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.models import Delivery, Edition, Paper, PaperTopic, Topic, WorkerPing
from subscribers.models import ProviderEvent, Subscriber, Suppression, email_hash
from subscribers.suppression import suppression_add
from tests.subscriber_helpers import unique_email

DAY = date(2025, 7, 10)  # a Thursday: the day every factory puts its rows on unless told


# The data migrations that make and revise the default topics, in order.
TOPIC_MIGRATIONS = [
    ("0003_default_topics", "create_topics"),
    ("0004_topic_keywords", "richer_keywords"),
    ("0009_topic_keywords_general", "general_keywords"),
]


def topics_default() -> None:
    """Put back the default topics as the data migrations left them, if a
    transactional test's flush removed them (conftest does it before every
    database test)."""
    first = importlib.import_module("newsletter.migrations.0003_default_topics")
    if Topic.objects.count() >= len(first.DEFAULT_TOPICS):
        return
    for name, function in TOPIC_MIGRATIONS:
        getattr(importlib.import_module(f"newsletter.migrations.{name}"), function)(apps, None)


def topic(slug: str) -> Topic:
    return Topic.objects.get(slug=slug)


def reader_make(email: str | None = None, *, status: str = Subscriber.Status.ACTIVE,
                topics: Iterable[str] = ("reasoning",), **fields) -> Subscriber:
    """A reader (active, following reasoning, a fresh address unless told);
    ``topics=()`` is a reader who follows every topic."""
    subscriber = Subscriber.objects.create(email=email or unique_email(), status=status, **fields)
    subscriber.topics.set([topic(slug) for slug in topics])
    return subscriber


def paper_make(arxiv_id: str, *, day: date | None = DAY, topics: dict[str, float] | None = None,
               editor_topics: Iterable[str] = (), **fields) -> Paper:
    """A paper featured on ``day`` with automatic topics {slug: score} and
    editor-set ones."""
    fields.setdefault("title", f"Paper {arxiv_id}")
    fields.setdefault("abstract", f"The abstract of paper {arxiv_id}.")
    fields.setdefault("authors", ["First Author", "Second Author"])
    paper = Paper.objects.create(arxiv_id=arxiv_id, featured_on=day, **fields)
    for slug, score in (topics or {}).items():
        PaperTopic.objects.create(paper=paper, topic=topic(slug), score=score)
    for slug in editor_topics:
        PaperTopic.objects.create(paper=paper, topic=topic(slug), score=1.0, origin=PaperTopic.Origin.EDITOR)
    return paper


def papers_sample(*, day: date = DAY) -> list[Paper]:
    """The 91 bundled sample papers, featured on ``day``, tagged by the real tagger."""
    papers_ingest_file(path=SAMPLE_PATH, featured_on=day)
    return list(Paper.objects.filter(featured_on=day))


def edition_make(day: date = DAY, **fields) -> Edition:
    """The edition of ``day`` with ``fields`` (its note), made or updated."""
    edition, _ = Edition.objects.update_or_create(date=day, defaults=fields)
    return edition


def delivery_make(*, reader: Subscriber, edition: Edition | None = None, status: str = Delivery.Status.SENT,
                  **fields) -> Delivery:
    """``reader``'s delivery of ``edition`` (default: the edition of DAY), due
    at 07:00 that day; a sent one went a minute later and has a provider
    message id of its own unless told."""
    edition = edition or edition_make()
    due = datetime.combine(edition.date, time(7), tzinfo=timezone.get_current_timezone())
    fields.setdefault("due_at", due)
    if status == Delivery.Status.SENT:
        fields.setdefault("sent_at", due + timedelta(minutes=1))
        fields.setdefault("provider_message_id", f"msg-{reader.pk}-{edition.pk}")
    return Delivery.objects.create(subscriber=reader, edition=edition, status=status, **fields)


def edition_small(day: date = DAY) -> dict[str, Paper]:
    """Eight papers whose ranking for a quantization reader is, by the
    documented score: G (pinned), A, C, B; then trending D, E, H; F hidden.

    A: quantization 3.0, 50 upvotes, "W4A16" in the title  -> 3/5 x (1 + 0.3 ln 51) = 1.31
    B: quantization 1.0                                    -> 1/5 = 0.2
    C: quantization 1.0 + speculative, 10 upvotes          -> 1/5 x (1 + 0.3 ln 11) = 0.34
    D: reasoning, 200 upvotes; E: agents, 100 upvotes, by Ada Lovelace;
    H: code, 20 upvotes, "w4a16" in the abstract; G: multimodal, pinned.
    """
    p = "2507.0"
    return {
        "A": paper_make(f"{p}0001", day=day, topics={"quantization-compression": 3.0}, upvotes=50,
                        title="W4A16 kernels for fast inference"),
        "B": paper_make(f"{p}0002", day=day, topics={"quantization-compression": 1.0}),
        "C": paper_make(f"{p}0003", day=day, topics={"quantization-compression": 1.0,
                                                     "speculative-decoding": 2.0}, upvotes=10),
        "D": paper_make(f"{p}0004", day=day, topics={"reasoning": 2.0}, upvotes=200, num_comments=12),
        "E": paper_make(f"{p}0005", day=day, topics={"agents-tools": 1.0}, upvotes=100,
                        authors=["Ada Lovelace", "Charles Babbage"]),
        "F": paper_make(f"{p}0006", day=day, topics={"quantization-compression": 4.0}, upvotes=999,
                        hidden=True),
        "G": paper_make(f"{p}0007", day=day, topics={"multimodal": 1.0}, upvotes=5, pinned=True),
        "H": paper_make(f"{p}0008", day=day, topics={"code": 1.0}, upvotes=20,
                        abstract="Code models quantized to w4a16 run anywhere."),
    }


def provider_event_make(*, reader: Subscriber, kind: str, received_at: datetime | None = None,
                        delivery: Delivery | None = None, **fields) -> ProviderEvent:
    """What the provider reported about ``reader`` (a Postmark event by default)."""
    fields.setdefault("provider", "postmark")
    fields.setdefault("event_type", {"hard_bounce": "bounced", "complaint": "complained"}.get(kind, kind))
    return ProviderEvent.objects.create(
        event_key=unique_email(), kind=kind, recipient=reader.email, recipient_hash=email_hash(reader.email),
        subscriber=reader, delivery=delivery, received_at=received_at or timezone.now(), **fields,
    )


def desk_make(*, today: date) -> dict:
    """A month at the editor's desk, for walking every admin page: the sample
    papers featured today (the edition half sent), two weeks of earlier
    editions with their digests (two days without sends), readers of every
    status following one to seven topics, bounces, a complaint, clicks,
    suppressions and a worker ping."""
    rng = random.Random(19)
    zone = timezone.get_current_timezone()
    slugs = list(Topic.objects.filter(active=True).values_list("slug", flat=True))
    papers_sample(day=today)
    edition_make(today, note="Reasoning and agents lead today; two strong quantization papers.")
    days = [today - timedelta(days=n) for n in range(14, 0, -1)]
    for index, day in enumerate(days):
        edition_make(day, note="A quiet day." if index % 4 == 0 else "")
        for n in range(6):
            paper_make(f"2506.{index:02d}{n:03d}", day=day, title=f"Paper {n + 1} of {day:%d %B}",
                       upvotes=rng.randint(0, 120), topics={rng.choice(slugs): 1.0},
                       pinned=n == 0 and index % 3 == 0)
    readers = []
    for n in range(36):
        status = (Subscriber.Status.PENDING if n in (3, 17, 29) else
                  Subscriber.Status.UNSUBSCRIBED if n in (8, 21) else
                  Subscriber.Status.BOUNCED if n == 12 else
                  Subscriber.Status.COMPLAINED if n == 25 else Subscriber.Status.ACTIVE)
        email = ("a.very.long.address.for.width.checks@department.university-of-somewhere.example.edu"
                 if n == 5 else f"reader{n:02d}@example.org")
        reader = reader_make(email, status=status, topics=rng.sample(slugs, 1 + n % 7),
                             timezone=rng.choice(["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]),
                             frequency="weekly" if n % 5 == 0 else "daily", weekday=n % 7,
                             send_hour=5 + n % 5, keywords="Mamba, KV cache" if n % 4 == 0 else "")
        joined = datetime.combine(today - timedelta(days=rng.randint(0, 29)), time(9), tzinfo=zone)
        Subscriber.objects.filter(pk=reader.pk).update(
            created_at=joined, confirmed_at=None if status == Subscriber.Status.PENDING else joined,
            unsubscribed_at=joined + timedelta(days=1) if status == Subscriber.Status.UNSUBSCRIBED else None,
        )
        readers.append(reader)
    active = [r for r in readers if r.status == Subscriber.Status.ACTIVE]
    editions = {e.date: e for e in Edition.objects.filter(date__in=[*days, today])}
    for index, day in enumerate(days):
        if index in (4, 9):  # the sender was down: no digests these days
            continue
        for n, reader in enumerate(active[: 20 + index]):
            sent_at = datetime.combine(day, time(5 + n % 5, n), tzinfo=zone)
            delivery_make(reader=reader, edition=editions[day], sent_at=sent_at, due_at=sent_at,
                          **({"status": Delivery.Status.SKIPPED, "reason": "nothing new for this reader"}
                             if n % 9 == 4 else {}))
    for n, reader in enumerate(active):
        due = datetime.combine(today, time(5 + n % 5), tzinfo=zone)
        delivery_make(reader=reader, edition=editions[today], due_at=due,
                      **({"sent_at": due} if n % 3 else {"status": Delivery.Status.PENDING}))
    bounced = next(r for r in readers if r.status == Subscriber.Status.BOUNCED)
    complained = next(r for r in readers if r.status == Subscriber.Status.COMPLAINED)
    provider_event_make(reader=bounced, kind="hard_bounce", description="550 5.1.1 mailbox does not exist",
                        received_at=datetime.combine(days[-3], time(8), zone))
    provider_event_make(reader=complained, kind="complaint",
                        received_at=datetime.combine(days[-2], time(11), zone))
    provider_event_make(reader=active[0], kind="soft_bounce", description="mailbox full")
    sent_today = Delivery.objects.filter(edition=editions[today], status=Delivery.Status.SENT)
    papers = list(Paper.objects.filter(featured_on=today).order_by("-upvotes", "arxiv_id")[:3])
    for n, delivery in enumerate(sent_today[:12]):
        provider_event_make(reader=delivery.subscriber, kind="clicked", delivery=delivery,
                            click_url=papers[n % 3].hf_url, processed_at=timezone.now(),
                            result="click counted")
    suppression_add(email=bounced.email, reason=Suppression.Reason.BOUNCED,
                    detail="550 5.1.1 mailbox does not exist")
    suppression_add(email="old-address@example.org", reason=Suppression.Reason.MANUAL)
    WorkerPing.objects.create(answered_at=timezone.now(), hostname="worker-1")
    return {"today": editions[today], "yesterday": editions[days[-1]], "readers": readers}
