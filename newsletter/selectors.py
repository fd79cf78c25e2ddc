"""Read-only queries shared by views, emails and the admin."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Max, Prefetch, QuerySet, Subquery
from django.utils import timezone

from newsletter.models import Paper, PaperTopic, Topic, WorkerPing

# An edition's order, on every page, in the admin and in digests: the
# editor's pins first, then by attention.
EDITION_ORDER = ("-pinned", "-upvotes", "-num_comments", "arxiv_id")


def papers_visible() -> QuerySet[Paper]:
    """Papers anyone may be shown: not hidden by an editor, not withdrawn
    from arXiv by their authors."""
    return Paper.objects.filter(hidden=False, withdrawn_at__isnull=True)


def editions_papers(*, first: date, last: date) -> QuerySet[Paper]:
    """The visible papers of the editions from ``first`` to ``last``
    (inclusive), in edition order."""
    return papers_visible().filter(featured_on__gte=first, featured_on__lte=last).order_by(*EDITION_ORDER)


def latest_edition_date(*, on_or_before: date | None = None) -> date | None:
    """The newest date with visible papers, not after ``on_or_before`` (today)."""
    limit = on_or_before or timezone.localdate()
    return (
        papers_visible().filter(featured_on__lte=limit)
        .order_by("-featured_on")
        .values_list("featured_on", flat=True)
        .first()
    )


def edition_papers(*, day: date) -> QuerySet[Paper]:
    """The visible papers of a day in edition order, topics prefetched (no N+1)."""
    return (
        editions_papers(first=day, last=day)
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
        papers_visible().filter(featured_on__lte=limit)
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
