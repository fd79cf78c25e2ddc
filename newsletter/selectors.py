"""Read-only queries shared by views, emails and the admin."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from newsletter.models import Edition, Paper, PaperTopic, Topic


def latest_edition_date(*, on_or_before: date | None = None) -> date | None:
    """The newest date with visible papers, not after ``on_or_before`` (today)."""
    limit = on_or_before or timezone.localdate()
    return (
        papers_public().filter(featured_on__lte=limit)
        .order_by("-featured_on")
        .values_list("featured_on", flat=True)
        .first()
    )


# The order of a day's papers: the editor's pins, then upvotes and comments,
# then the source's own list (Hugging Face lists a day in trending order);
# arrival order settles papers no source placed. Never the arXiv id: that
# would put a 2022 paper at the head of a 2026 day.
EDITION_ORDER = (
    "-pinned", "-upvotes", "-num_comments", F("source_position").asc(nulls_last=True), "pk",
)


def public_q(prefix: str = "") -> Q:
    """Papers any visitor may see: not hidden by an editor, not withdrawn
    (``prefix``: the path to the paper from another model, e.g. "paper__")."""
    return Q(**{f"{prefix}hidden": False, f"{prefix}withdrawn_at__isnull": True})


def papers_public() -> QuerySet[Paper]:
    return Paper.objects.filter(public_q())


def topic_links_prefetch() -> Prefetch:
    """A paper's active topics, best first, as ``paper.topic_links``."""
    return Prefetch(
        "papertopic_set",
        queryset=PaperTopic.objects.select_related("topic").filter(topic__active=True).order_by("-score"),
        to_attr="topic_links",
    )


def edition_papers(*, day: date) -> QuerySet[Paper]:
    """The visible papers of a day in edition order, topics prefetched (no N+1)."""
    return (
        papers_public().filter(featured_on=day)
        .order_by(*EDITION_ORDER)
        .prefetch_related(topic_links_prefetch())
    )


def topics_version() -> str:
    """Changes whenever a topic is added, edited or retired: the cache key
    of rendered topic pickers."""
    stats = Topic.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    last = stats["last"].timestamp() if stats["last"] else 0
    return f"{stats['n']}-{last:.6f}"


def front_page_state(*, on_or_before: date | None = None) -> tuple[date | None, str]:
    """The newest day with visible papers and its fingerprint (its papers and
    the editor's note), in one query: all the front page needs to know
    whether its cached copy is current."""
    limit = on_or_before or timezone.localdate()
    newest = papers_public().filter(featured_on__lte=limit).order_by("-featured_on").values("featured_on")[:1]
    note = Edition.objects.filter(date=Subquery(newest)).values("updated_at")[:1]
    stats = Paper.objects.filter(featured_on=Subquery(newest)).aggregate(
        day=Max("featured_on"), n=Count("id"), last=Max("updated_at"), note=Max(Subquery(note))
    )
    if stats["day"] is None:
        return None, ""
    note_stamp = stats["note"].timestamp() if stats["note"] else 0
    return stats["day"], f"{stats['n']}-{stats['last'].timestamp():.6f}-{note_stamp:.6f}"
