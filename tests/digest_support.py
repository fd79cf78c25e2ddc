"""Helpers shared by the digest tests: small hand-made editions whose right
answer can be worked out by hand, readers, and the Postmark settings that
point anymail's real backend at the fake provider."""

from __future__ import annotations

import importlib
from datetime import date

from django.apps import apps

from newsletter.models import Paper, PaperTopic, Topic
from subscribers.models import Subscriber

DAY = date(2025, 7, 10)  # a Thursday


def topics_default() -> None:
    """Put the default topics back if a transactional test's flush removed
    what the data migration created."""
    migration = importlib.import_module("newsletter.migrations.0003_default_topics")
    if Topic.objects.count() < len(migration.DEFAULT_TOPICS):
        migration.create_topics(apps, None)


def topic(slug: str) -> Topic:
    topics_default()
    return Topic.objects.get(slug=slug)


def paper_make(arxiv_id: str, *, day: date = DAY, topics: dict[str, float] | None = None,
               editor_topics: tuple[str, ...] = (), **fields) -> Paper:
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


def reader_make(email: str, *, topics: tuple[str, ...] = (), **fields) -> Subscriber:
    fields.setdefault("status", Subscriber.Status.ACTIVE)
    subscriber = Subscriber.objects.create(email=email, **fields)
    subscriber.topics.set([topic(slug) for slug in topics])
    return subscriber


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


def use_fake_postmark(settings, fake) -> None:
    """Send through anymail's real Postmark backend to the fake provider."""
    settings.EMAIL_PROVIDER = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": fake.token, "POSTMARK_API_URL": fake.url}
