"""Read-only queries shared by views, emails and the admin."""

from __future__ import annotations

import functools
import hashlib
from datetime import date

from django.db import connection
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from newsletter.models import Edition, Paper, PaperTopic, Topic, WorkerPing

# The order of a day's papers, on every page, in the admin and in digests:
# the editor's pins, then upvotes and comments, then the source's own list
# (Hugging Face lists a day in trending order); arrival order settles papers
# no source placed. Never the arXiv id: that would put a 2022 paper at the
# head of a 2026 day.
EDITION_ORDER = (
    "-pinned", "-upvotes", "-num_comments", F("source_position").asc(nulls_last=True), "pk",
)


def visible_q(prefix: str = "") -> Q:
    """Papers anyone may be shown: not hidden by an editor, not withdrawn
    from arXiv by their authors (``prefix``: the path to the paper from
    another model, e.g. "paper__")."""
    return Q(**{f"{prefix}hidden": False, f"{prefix}withdrawn_at__isnull": True})


def papers_visible() -> QuerySet[Paper]:
    return Paper.objects.filter(visible_q())


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


def topic_links_prefetch() -> Prefetch:
    """A paper's active topics, best first, as ``paper.topic_links``."""
    return Prefetch(
        "papertopic_set",
        queryset=PaperTopic.objects.select_related("topic").filter(topic__active=True).order_by("-score"),
        to_attr="topic_links",
    )


def edition_papers(*, day: date) -> QuerySet[Paper]:
    """The visible papers of a day in edition order, topics prefetched (no N+1)."""
    return editions_papers(first=day, last=day).prefetch_related(topic_links_prefetch())


def topics_version() -> str:
    """Changes whenever a topic is added, edited or retired: the cache key
    of rendered topic pickers."""
    stats = Topic.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    last = stats["last"].timestamp() if stats["last"] else 0
    return f"{stats['n']}-{last:.6f}"


@functools.cache
def _front_page_sql() -> str:
    """The front page's state as SQL, compiled by the ORM once per process:
    building this query for every visit cost more CPU (~1.3 ms) than all the
    rest of serving the cached page. Its one parameter is the last day."""
    newest, params = (
        papers_visible().filter(featured_on__lte=date.min).order_by("-featured_on")
        .values("featured_on")[:1].query.sql_with_params()
    )
    if len(params) != 1:
        raise RuntimeError(f"the newest-day query has {len(params)} parameters, not 1")
    quote = connection.ops.quote_name
    paper, edition = quote(Paper._meta.db_table), quote(Edition._meta.db_table)
    return (
        f"WITH newest AS ({newest}) "  # noqa: S608 - table names and ORM-compiled SQL only
        f"SELECT n.featured_on, COUNT(p.id), MAX(p.updated_at), "
        f"(SELECT e.updated_at FROM {edition} e WHERE e.date = n.featured_on) "
        f"FROM newest n JOIN {paper} p ON p.featured_on = n.featured_on GROUP BY n.featured_on"
    )


def front_page_state(*, on_or_before: date | None = None) -> tuple[date | None, str]:
    """The newest day with visible papers and its fingerprint (its papers,
    hidden ones included, and the editor's note), in one query: all the
    front page needs to know whether its cached copy is current."""
    with connection.cursor() as cursor:
        cursor.execute(_front_page_sql(), [on_or_before or timezone.localdate()])
        row = cursor.fetchone()
    if row is None:
        return None, ""
    day, count, last, note = row
    # SQLite answers computed columns as text; the fingerprint only compares.
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return day, hashlib.blake2b(f"{count}|{last}|{note}".encode(), digest_size=12).hexdigest()


def worker_last_seen() -> WorkerPing | None:
    """The newest answer a Celery worker gave (a ping or a heartbeat)."""
    return WorkerPing.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()
