"""Votes and clicks in the database -> each reader's stored taste.

A reader's taste is rebuilt from all their votes (and the clicks counted
since their last reset) after each vote and when new clicks arrive; digest
assembly only reads it. Nothing here sends an email or changes a
subscription: a suggestion is followed only through the reader's own click.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from newsletter.feedback.taste import (
    CLICK_VALUE,
    Taste,
    feature_counts,
    feature_score,
    paper_features,
    taste_from_counts,
)
from newsletter.models import Paper, PaperTopic, PaperVote, ReaderTaste, Topic
from subscribers.models import ProviderEvent, Subscriber

MAX_VOTES = 500  # the most recent votes make a taste
SUGGEST_AFTER = 3  # papers rated up, none down, before a topic or keyword is suggested
MAX_SUGGESTIONS = 3
# Mail scanners open every link of a message within seconds: that many
# links of one message inside the window is a scanner, not a reader.
SCANNER_BURST_LINKS = 3
SCANNER_BURST_SECONDS = 10
_ARXIV_IN_URL = re.compile(r"(?:huggingface\.co/papers|arxiv\.org/(?:abs|pdf))/(\d{4}\.\d{4,5})")


def papers_features(paper_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Paper id -> features, with the paper's current topics (two queries)."""
    ids = list(paper_ids)
    topics: dict[int, list[int]] = {}
    for paper_id, topic_id in PaperTopic.objects.filter(paper_id__in=ids, topic__active=True).values_list(
        "paper_id", "topic_id"
    ):
        topics.setdefault(paper_id, []).append(topic_id)
    return {
        pk: paper_features(
            title=title, ai_keywords=keywords or [], authors=authors or [], topic_ids=topics.get(pk, [])
        )
        for pk, title, keywords, authors in Paper.objects.filter(pk__in=ids).values_list(
            "pk", "title", "ai_keywords", "authors"
        )
    }


def clicks_counted(*, subscriber_id: int, since: datetime | None) -> list[str]:
    """arXiv ids of papers the reader clicked in their digests, leaving out
    bursts that look like a mail scanner (SCANNER_BURST_LINKS links of one
    message within SCANNER_BURST_SECONDS)."""
    events = ProviderEvent.objects.filter(subscriber_id=subscriber_id, kind=ProviderEvent.Kind.CLICKED)
    if since is not None:
        events = events.filter(received_at__gt=since)
    by_message: dict[str, list[tuple[datetime, str]]] = {}
    for message, occurred, received, url in events.values_list(
        "message_id", "occurred_at", "received_at", "click_url"
    ):
        by_message.setdefault(message or str(url), []).append((occurred or received, url))
    counted: list[str] = []
    window = timedelta(seconds=SCANNER_BURST_SECONDS)
    for clicks in by_message.values():
        clicks.sort()
        times = [at for at, _ in clicks]
        for at, url in clicks:
            near = sum(1 for other in times if abs(other - at) <= window)
            if near >= SCANNER_BURST_LINKS:
                continue
            match = _ARXIV_IN_URL.search(url or "")
            if match:
                counted.append(match.group(1))
    return counted


@dataclass
class Suggestion:
    kind: str  # "topic" or "keyword"
    value: str  # topic slug or keyword text
    label: str
    liked: int


def _suggestions(*, subscriber: Subscriber, counts: dict, liked_keywords: dict[str, str]) -> list[dict]:
    followed = set(subscriber.topics.values_list("pk", flat=True))
    keywords = {k.lower() for k in subscriber.keyword_list()}
    candidates = []
    topics = {t.pk: t for t in Topic.objects.filter(active=True)}
    for feature, (up, down) in counts.items():
        if up < SUGGEST_AFTER or down > 0:
            continue
        kind, _, value = feature.partition(":")
        if kind == "t" and int(value) in topics and int(value) not in followed:
            topic = topics[int(value)]
            candidates.append(Suggestion("topic", topic.slug, topic.name, int(up)))
        elif kind == "k" and value in liked_keywords and liked_keywords[value].lower() not in keywords:
            candidates.append(Suggestion("keyword", liked_keywords[value], liked_keywords[value], int(up)))
    candidates.sort(key=lambda s: (-s.liked, s.kind != "topic", s.label))
    return [s.__dict__ for s in candidates[:MAX_SUGGESTIONS]]


def taste_rebuild(*, subscriber: Subscriber) -> ReaderTaste:
    """Recompute the reader's taste from their votes and counted clicks.
    Idempotent: the same votes and clicks give the same taste."""
    taste, _ = ReaderTaste.objects.get_or_create(subscriber=subscriber)
    recent = PaperVote.objects.filter(subscriber=subscriber).order_by("-updated_at")
    votes = list(recent.values_list("paper_id", "value")[:MAX_VOTES])
    voted = {paper_id for paper_id, _ in votes}
    clicked_ids = clicks_counted(subscriber_id=subscriber.pk, since=taste.reset_at)
    clicked = [
        pk for pk in Paper.objects.filter(arxiv_id__in=set(clicked_ids)).values_list("pk", flat=True)
        if pk not in voted  # a vote says more than a click
    ]
    features = papers_features([*voted, *clicked])
    examples = [(features[pk], float(value)) for pk, value in votes if pk in features]
    examples += [(features[pk], CLICK_VALUE) for pk in clicked if pk in features]
    counts = feature_counts(examples)
    liked_keywords: dict[str, str] = {}
    liked = [pk for pk, value in votes if value > 0]
    for keywords in Paper.objects.filter(pk__in=liked).values_list("ai_keywords", flat=True):
        for keyword in keywords or []:
            for feature in paper_features(title="", ai_keywords=[keyword]):
                liked_keywords.setdefault(feature[2:], str(keyword))
    taste.counts = {feature: [round(up, 3), round(down, 3)] for feature, (up, down) in counts.items()}
    taste.votes_up = sum(1 for _, value in votes if value > 0)
    taste.votes_down = sum(1 for _, value in votes if value < 0)
    taste.clicks = len(clicked)
    taste.suggestions = _suggestions(subscriber=subscriber, counts=counts, liked_keywords=liked_keywords)
    taste.version = F("version") + 1
    taste.save()
    taste.refresh_from_db()
    return taste


def taste_reset(*, subscriber: Subscriber) -> None:
    """Forget what was learned: the votes go, earlier clicks stop counting.
    Idempotent."""
    with transaction.atomic():
        PaperVote.objects.filter(subscriber=subscriber).delete()
        taste, _ = ReaderTaste.objects.get_or_create(subscriber=subscriber)
        taste.reset_at = timezone.now()
        taste.save(update_fields=["reset_at", "updated_at"])
        taste_rebuild(subscriber=subscriber)


def suggestion_follow(*, subscriber: Subscriber, kind: str, value: str) -> bool:
    """Follow a topic or keyword the reader was offered (their own click on
    the preferences page). False, changing nothing, for anything that is not
    a current suggestion."""
    taste = ReaderTaste.objects.filter(subscriber=subscriber).first()
    offered = {(s["kind"], s["value"]) for s in (taste.suggestions if taste else [])}
    if (kind, value) not in offered:
        return False
    with transaction.atomic():
        if kind == "topic":
            topic = Topic.objects.filter(slug=value, active=True).first()
            if topic is None:
                return False
            subscriber.topics.add(topic)
        else:
            keywords = subscriber.keyword_list()
            subscriber.keywords = ", ".join([*keywords, value])
            subscriber.save(update_fields=["keywords", "updated_at"])
        taste_rebuild(subscriber=subscriber)
    return True


def tastes_for(*, subscriber_ids: Iterable[int]) -> dict[int, Taste]:
    """Subscriber id -> Taste, for the readers who have one (one query)."""
    out = {}
    for subscriber_id, counts, version in ReaderTaste.objects.filter(
        subscriber_id__in=list(subscriber_ids)
    ).exclude(counts={}).values_list("subscriber_id", "counts", "version"):
        taste = taste_from_counts(counts={f: (up, down) for f, (up, down) in counts.items()},
                                  key=(subscriber_id, version))
        if taste is not None:
            out[subscriber_id] = taste
    return out


def tastes_refresh(*, since: datetime) -> int:
    """Rebuild the tastes of readers with click events received since
    ``since`` (run by beat). Idempotent. Returns how many were rebuilt."""
    ids = set(
        ProviderEvent.objects.filter(kind=ProviderEvent.Kind.CLICKED, received_at__gte=since)
        .exclude(subscriber_id=None).values_list("subscriber_id", flat=True)
    )
    for subscriber in Subscriber.objects.filter(pk__in=ids):
        taste_rebuild(subscriber=subscriber)
    return len(ids)


def taste_summary(*, subscriber: Subscriber) -> dict | None:
    """What the preferences page shows: counts, what moves papers up and
    down (topic names, keywords and title words, authors), suggestions."""
    taste = ReaderTaste.objects.filter(subscriber=subscriber).first()
    if taste is None or not (taste.votes_up or taste.votes_down or taste.clicks):
        return None
    topics = dict(Topic.objects.values_list("pk", "name"))
    up, down = [], []
    scored = sorted(
        ((feature_score(u, d), feature) for feature, (u, d) in taste.counts.items()), key=lambda x: -abs(x[0])
    )
    for score, feature in scored:
        kind, _, value = feature.partition(":")
        if kind == "t":
            label = topics.get(int(value), "")
        elif kind == "a":
            label = value.title()
        else:
            label = value
        if not label or abs(score) < 0.4:
            continue
        (up if score > 0 else down).append(label)
    return {"taste": taste, "up": up[:8], "down": down[:8], "suggestions": taste.suggestions}


def feedback_export(*, subscriber: Subscriber) -> dict:
    """The reader's votes and learned taste, for "download my data"."""
    taste = ReaderTaste.objects.filter(subscriber=subscriber).first()
    return {
        "votes": [
            {"paper": arxiv_id, "vote": "more like this" if value > 0 else "less like this",
             "edition": day.isoformat(), "source": source, "at": at.isoformat()}
            for arxiv_id, value, day, source, at in PaperVote.objects.filter(subscriber=subscriber)
            .order_by("updated_at")
            .values_list("paper__arxiv_id", "value", "edition_date", "source", "updated_at")
        ],
        "learned": None if taste is None else {
            "features": taste.counts, "votes_up": taste.votes_up, "votes_down": taste.votes_down,
            "clicks_counted": taste.clicks, "suggestions": taste.suggestions,
            "reset_at": taste.reset_at.isoformat() if taste.reset_at else None,
        },
    }
