"""Rows for tests: readers, papers, editions and deliveries with plain
defaults, and the small hand-made edition whose right answer can be worked
out by hand. Every test makes its rows here."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.models import Delivery, Edition, Paper, PaperTopic, Topic
from subscribers.models import Subscriber
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
