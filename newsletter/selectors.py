"""Read-only queries shared by views, emails and the admin."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Max, Prefetch, QuerySet, Subquery
from django.utils import timezone

from newsletter.models import Paper, PaperTopic, Topic, WorkerPing


def latest_edition_date(*, on_or_before: date | None = None) -> date | None:
    """The newest date with visible papers, not after ``on_or_before`` (today)."""
    limit = on_or_before or timezone.localdate()
    return (
        Paper.objects.filter(hidden=False, featured_on__lte=limit)
        .order_by("-featured_on")
        .values_list("featured_on", flat=True)
        .first()
    )


def edition_papers(*, day: date) -> QuerySet[Paper]:
    """The visible papers of a day, pins first, topics prefetched (no N+1)."""
    return (
        Paper.objects.filter(featured_on=day, hidden=False)
        .order_by("-pinned", "-upvotes", "-num_comments", "arxiv_id")
        .prefetch_related(
            Prefetch(
                "papertopic_set",
                queryset=PaperTopic.objects.select_related("topic")
                .filter(topic__active=True)
                .order_by("-score"),
                to_attr="topic_links",
            )
        )
    )


def topics_version() -> str:
    """Changes whenever a topic is added, edited or retired: the cache key
    of rendered topic pickers."""
    stats = Topic.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    last = stats["last"].timestamp() if stats["last"] else 0
    return f"{stats['n']}-{last:.6f}"


def front_page_state(*, on_or_before: date | None = None) -> tuple[date | None, str]:
    """The newest day with visible papers and its fingerprint, in one query:
    all the front page needs to know whether its cached copy is current."""
    limit = on_or_before or timezone.localdate()
    newest = (
        Paper.objects.filter(hidden=False, featured_on__lte=limit)
        .order_by("-featured_on")
        .values("featured_on")[:1]
    )
    stats = Paper.objects.filter(featured_on=Subquery(newest)).aggregate(
        day=Max("featured_on"), n=Count("id"), last=Max("updated_at")
    )
    if stats["day"] is None:
        return None, ""
    return stats["day"], f"{stats['n']}-{stats['last'].timestamp():.6f}"


def worker_last_seen() -> WorkerPing | None:
    """The newest answer a Celery worker gave (a ping or a heartbeat)."""
    return WorkerPing.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()
