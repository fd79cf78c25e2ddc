"""What each public page shows, as template context: one function per page,
called by a thin view. Read-only; every list's queries are bounded (a test
pins the counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.core.paginator import Page
from django.db.models import Count, Q
from django.utils import timezone

from newsletter.models import ARXIV_ID_RE, Edition, Paper, Topic
from newsletter.selectors import latest_edition_date, papers_visible, topic_links_prefetch
from newsletter.site import listing
from newsletter.site.cards import cards_of
from newsletter.site.forms import SearchForm
from newsletter.site.periods import (
    Period,
    day_period,
    month_period,
    period_days,
    period_neighbours,
    week_period,
)
from newsletter.site.related import related_papers
from newsletter.site.search import MAX_RESULTS, highlights, papers_search


def _sort_links(sort: str, **params) -> list[dict]:
    """The sort switch: one link per sort, keeping the other parameters."""
    links = []
    for value, label in listing.SORTS.items():
        query = {k: v for k, v in params.items() if v}
        if value != listing.TRENDING:
            query["sort"] = value
        links.append({"label": label, "query": f"?{urlencode(query)}", "current": value == sort})
    return links


def _paging(page: Page, **params) -> dict:
    """Previous/next page links that keep the other parameters."""

    def link(number: int) -> str:
        query = {k: v for k, v in params.items() if v} | ({"page": number} if number > 1 else {})
        return "?" + urlencode(query) if query else "?"

    return {
        "page": page,
        "previous_url": link(page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page.next_page_number()) if page.has_next() else "",
    }


def day_page(*, day: date, sort: str) -> dict | None:
    """A day's edition: the note, every visible paper, the days around it;
    None when the day has no visible papers."""
    period = day_period(day)
    cards = cards_of(listing.day_ordered(period.papers(), sort=sort))
    if not cards:
        return None
    previous, following = period_neighbours(period)
    return {
        "period": period,
        "day": day,
        "cards": cards,
        "note": Edition.objects.filter(date=day).values_list("note", flat=True).first() or "",
        "previous": previous,
        "next": following,
        "week": week_period(day),
        "month": month_period(day),
        "sort_links": _sort_links(sort),
    }


def period_page(*, period: Period, sort: str, page: str | None) -> dict | None:
    """A week's or a month's papers by trending score (or newest), a page at
    a time, with the days that have papers; None when it has none.
    ``InvalidPage`` for a page that does not exist."""
    days = period_days(period)
    if not days:
        return None
    previous, following = period_neighbours(period)
    shown = listing.list_page(listing.period_ordered(period.papers(), sort=sort), number=page,
                              counted=period.papers())
    return {
        "cards": cards_of(shown.object_list),
        "period": period,
        "days": days,
        "total": sum(n for _, n in days),
        "previous": previous,
        "next": following,
        "sort_links": _sort_links(sort),
        **_paging(shown, sort=sort if sort != listing.TRENDING else ""),
    }


@dataclass(frozen=True)
class PaperLookup:
    paper: Paper | None = None
    canonical: str = ""  # the id without its version, when asked with one
    withdrawn: bool = False


def paper_lookup(*, raw_id: str) -> PaperLookup:
    """The paper a visitor may see under ``raw_id``: hidden papers are not
    found, withdrawn ones say so."""
    match = ARXIV_ID_RE.match(raw_id)
    if not match:
        return PaperLookup()
    if match.group("v"):
        return PaperLookup(canonical=match.group("id"))
    paper = (
        Paper.objects.filter(arxiv_id=raw_id, hidden=False)
        .prefetch_related(topic_links_prefetch())
        .first()
    )
    if paper is None:
        return PaperLookup()
    if paper.withdrawn_at is not None:
        return PaperLookup(withdrawn=True)
    return PaperLookup(paper=paper)


def paper_page(*, paper: Paper) -> dict:
    topics = [link.topic for link in paper.topic_links]
    day = paper.featured_on
    return {
        "paper": paper,
        "topics": topics,
        "related": cards_of(related_papers(paper=paper)),
        "edition": day_period(day) if day else None,
        "week": week_period(day) if day else None,
        "month": month_period(day) if day else None,
        "subscribe_query": urlencode({"topics": ",".join(t.slug for t in topics)}) if topics else "",
    }


def topic_page(*, topic: Topic, sort: str, page: str | None) -> dict:
    """A topic's papers, recent ones by trending score first (or newest), a
    page at a time. ``InvalidPage`` for a page that does not exist."""
    papers = papers_visible().filter(papertopic__topic=topic)
    ordered = listing.topic_ordered(papers, sort=sort, newest_day=latest_edition_date())
    shown = listing.open_page(ordered, number=page)
    return {
        "cards": cards_of(shown.object_list),
        "topic": topic,
        "trending_days": listing.TOPIC_TRENDING_DAYS,
        "sort_links": _sort_links(sort),
        **_paging(shown, sort=sort if sort != listing.TRENDING else ""),
    }


def topics_page() -> dict:
    """Every active topic with how many visible papers it has."""
    visible = Q(papertopic__paper__hidden=False, papertopic__paper__withdrawn_at__isnull=True)
    topics = Topic.objects.filter(active=True).annotate(n=Count("papertopic", filter=visible))
    return {"topics": list(topics.order_by("position", "name"))}


def search_page(*, params) -> dict:
    """The search form bound to the query string and, for a search with
    words, one page of hits. ``InvalidPage`` for a page that does not exist."""
    form = SearchForm(params)
    form.is_valid()
    search = form.search()
    context = {"form": form, "search": search, "search_text": search.text, "cards": [], "page": None}
    if search.empty:
        return context
    matches, ordered = papers_search(search=search, today=timezone.localdate())
    shown = listing.list_page(ordered.prefetch_related(topic_links_prefetch()), number=params.get("page"),
                              counted=matches, limit=MAX_RESULTS)
    keep = {
        "q": search.text,
        "topic": search.topic.slug if search.topic else "",
        "date_from": search.date_from.isoformat() if search.date_from else "",
        "date_to": search.date_to.isoformat() if search.date_to else "",
        "sort": search.sort if search.sort != "relevance" else "",
    }
    context.update(
        cards=cards_of(shown.object_list, marks=highlights(papers=list(shown.object_list), search=search)),
        capped=shown.paginator.capped,
        feed_query=urlencode({"q": search.text}),
        **_paging(shown, **keep),
    )
    return context
