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

from datetime import date, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
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


def topic_ordered(papers: QuerySet, *, sort: str, newest_day: date | None) -> QuerySet:
    """A topic's papers: its recent ones by trending score, then older ones
    newest first; or all newest first."""
    if sort == NEWEST or newest_day is None:
        return papers.order_by(*NEWEST_ORDER).prefetch_related(topic_links_prefetch())
    recent = {"featured_on__gt": newest_day - timedelta(days=TOPIC_TRENDING_DAYS)}
    return (
        papers.annotate(
            recent=Case(When(**recent, then=Value(1)), default=Value(0), output_field=IntegerField()),
            trending=Case(When(**recent, then=attention_sql()), default=Value(0.0),
                          output_field=FloatField()),
        )
        .order_by("-recent", "-trending", *NEWEST_ORDER)
        .prefetch_related(topic_links_prefetch())
    )


class CappedPaginator(Paginator):
    """Counts no further than ``MAX_PAGES`` pages: the count of a big result
    (a search for a common word) stops at the cap instead of reading every
    match. ``counted`` is what to count when it is cheaper than the list
    (the same rows without the score)."""

    def __init__(self, object_list, per_page, *, counted: QuerySet | None = None):
        super().__init__(object_list, per_page)
        self.counted = object_list if counted is None else counted

    @cached_property
    def count(self) -> int:
        # Unordered: counting needs no score and no sort.
        return self.counted.order_by()[: self.per_page * MAX_PAGES].count()

    @property
    def capped(self) -> bool:
        return self.count >= self.per_page * MAX_PAGES


def list_page(papers: QuerySet, *, number: str | None, counted: QuerySet | None = None) -> Page:
    """One page of a list; ``InvalidPage`` for a page that is not a number
    or out of range (the views answer 404). Page 1 of an empty list exists."""
    return CappedPaginator(papers, PAGE_SIZE, counted=counted).page(number or 1)
