"""How the public lists order and page papers.

Every list offers two sorts: trending (the default) and newest.

Trending
    a day          the edition order (``selectors.EDITION_ORDER``: the
                   editor's pins, upvotes, comments, the source's own list)
    a week, month  the trending score, best first; ties by day, newest
                   first, then in edition order
    a topic        its papers of the last ``TOPIC_TRENDING_DAYS`` days
                   (counted back from the newest edition) by trending
                   score, then the older ones newest first

The trending score is the attention the digest ranks by
(``newsletter.digest.ranking.paper_attention``)::

    ln(1 + upvotes) + 0.5 ln(1 + comments) + 0.25 ln(1 + GitHub stars)

computed by the database here (``attention_sql``; a test holds the two
equal).

Newest
    by featured day, newest first; within a day by arXiv date, then arXiv
    id, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce, Ln
from django.utils.functional import cached_property

from newsletter.selectors import EDITION_ORDER, topic_links_prefetch

TRENDING = "trending"
NEWEST = "new"
SORTS = {TRENDING: "Trending", NEWEST: "Newest"}
PAGE_SIZE = 30
# Lists stop after this many pages: deeper papers are one month page away,
# and no crawler walks OFFSET 30,000.
MAX_PAGES = 100
TOPIC_TRENDING_DAYS = 30

NEWEST_ORDER = ("-featured_on", F("published_on").desc(nulls_last=True), "-arxiv_id")


def sort_read(value: str | None) -> str:
    """The sort a request asks for; anything unknown is the default."""
    return value if value in SORTS else TRENDING


def attention_sql():
    """``ranking.paper_attention`` as a database expression."""
    return (
        Ln(F("upvotes") + 1)
        + Value(0.5) * Ln(F("num_comments") + 1)
        + Value(0.25) * Ln(Coalesce(F("github_stars"), 0) + 1)
    )


def day_ordered(papers: QuerySet, *, sort: str) -> QuerySet:
    """A day's papers: edition order, or newest."""
    order = EDITION_ORDER if sort == TRENDING else NEWEST_ORDER
    return papers.order_by(*order).prefetch_related(topic_links_prefetch())


def period_ordered(papers: QuerySet, *, sort: str) -> QuerySet:
    """A week's or a month's papers: by trending score, or newest."""
    if sort == NEWEST:
        return papers.order_by(*NEWEST_ORDER).prefetch_related(topic_links_prefetch())
    return (
        papers.annotate(trending=attention_sql())
        .order_by("-trending", "-featured_on", *EDITION_ORDER)
        .prefetch_related(topic_links_prefetch())
    )


class RecentThenOlder:
    """A topic's papers as one list to page through: the recent ones by
    trending score, then the older ones newest first. Sorting every paper
    of a topic by a score only the recent ones have took most of the page's
    time. Here each part gives the page's ids (narrow queries: the recent
    ones ranked, the older ones walking the featured-date index) and the
    page's papers are read once, by id."""

    def __init__(self, *, recent: QuerySet, older: QuerySet):
        self.recent, self.older = recent, older

    @cached_property
    def recent_ids(self) -> list[int]:
        return list(
            self.recent.annotate(trending=attention_sql()).order_by("-trending", *NEWEST_ORDER)
            .values_list("pk", flat=True)
        )

    def __getitem__(self, span: slice) -> list:
        start, stop = span.start or 0, span.stop
        ids = self.recent_ids[start:stop]
        if stop > len(self.recent_ids):
            skip = max(start - len(self.recent_ids), 0)
            ids += list(self.older.values_list("pk", flat=True)[skip:stop - len(self.recent_ids)])
        by_pk = self.recent.model.objects.prefetch_related(topic_links_prefetch()).in_bulk(ids) if ids else {}
        return [by_pk[pk] for pk in ids]


def topic_ordered(papers: QuerySet, *, sort: str, newest_day: date | None):
    """A topic's papers: its recent ones by trending score, then older ones
    newest first; or all newest first."""
    if sort == NEWEST or newest_day is None:
        return papers.order_by(*NEWEST_ORDER).prefetch_related(topic_links_prefetch())
    since = newest_day - timedelta(days=TOPIC_TRENDING_DAYS)
    return RecentThenOlder(
        recent=papers.filter(featured_on__gt=since),
        older=papers.exclude(featured_on__gt=since).order_by(*NEWEST_ORDER),
    )


class CappedPaginator(Paginator):
    """Counts no further than ``limit`` items (``MAX_PAGES`` pages by
    default): the count of a big result stops at the cap instead of reading
    every row. ``counted`` is what to count when it is cheaper than the list
    (the same rows without a score or a sort)."""

    def __init__(self, object_list, per_page, *, counted: QuerySet | None = None, limit: int | None = None):
        super().__init__(object_list, per_page)
        self.counted = object_list if counted is None else counted
        self.limit = limit or per_page * MAX_PAGES

    @cached_property
    def count(self) -> int:
        return self.counted.order_by()[: self.limit].count()

    @property
    def capped(self) -> bool:
        return self.count >= self.limit


def list_page(papers: QuerySet, *, number: str | None, counted: QuerySet | None = None,
              limit: int | None = None) -> Page:
    """One page of a list; ``InvalidPage`` for a page that is not a number
    or out of range (the views answer 404). Page 1 of an empty list exists."""
    return CappedPaginator(papers, PAGE_SIZE, counted=counted, limit=limit).page(number or 1)


@dataclass
class OpenPage:
    """A page of a list that is never counted (a topic's papers: counting
    them meant joining thousands of rows): one row more than a page tells
    whether another page follows."""

    number: int
    object_list: list
    more: bool
    paginator: None = None

    def has_next(self) -> bool:
        return self.more

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def open_page(papers, *, number: str | None) -> OpenPage:
    """Like ``list_page`` for an uncounted list; ``InvalidPage`` likewise."""
    try:
        wanted = int(number or 1)
    except ValueError:
        raise PageNotAnInteger("that page number is not a whole number") from None
    if not 1 <= wanted <= MAX_PAGES:
        raise EmptyPage("there is no such page")
    start = (wanted - 1) * PAGE_SIZE
    rows = list(papers[start:start + PAGE_SIZE + 1])
    if not rows and wanted > 1:
        raise EmptyPage("there is no such page")
    more = len(rows) > PAGE_SIZE and wanted < MAX_PAGES
    return OpenPage(number=wanted, object_list=rows[:PAGE_SIZE], more=more)
