"""The public pages: parse the request, call one function of ``pages``,
render. Nothing here is personal, so every page may be cached and indexed."""

from __future__ import annotations

import gzip
from datetime import date

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import InvalidPage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from newsletter.models import Topic
from newsletter.selectors import front_page_state
from newsletter.site import pages
from newsletter.site.listing import sort_read
from newsletter.site.periods import Period

# A short life as well: topic renames do not change the fingerprint.
FRONT_PAGE_CACHE_SECONDS = 60
TOPICS_CACHE_SECONDS = 600


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "").lower()


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # The front page is the same for every visitor: it is rendered (and
    # compressed) once per change of the day's papers and served from the
    # cache, so a visit costs one small query. A visitor with a flash
    # message gets a fresh render.
    day, fingerprint = front_page_state()
    sort = sort_read(request.GET.get("sort"))
    if len(messages.get_messages(request)):
        context = (pages.day_page(day=day, sort=sort) if day else None) or {}
        return render(request, "newsletter/day.html", {**context, "front": True})
    packed = _accepts_gzip(request)
    key = f"front-page:{day}:{sort}:{fingerprint}"
    # The plain and the compressed page are kept apart: a visit fetches one.
    body = cache.get(f"{key}:{'gzip' if packed else 'plain'}")
    if body is None:
        context = (pages.day_page(day=day, sort=sort) if day else None) or {}
        html = render_to_string("newsletter/day.html", {**context, "front": True}, request=request).encode()
        # mtime=0: the same bytes for the same page.
        bodies = {"plain": html, "gzip": gzip.compress(html, mtime=0)}
        for kind, value in bodies.items():
            cache.set(f"{key}:{kind}", value, timeout=FRONT_PAGE_CACHE_SECONDS)
        body = bodies["gzip" if packed else "plain"]
    response = HttpResponse(body)
    if packed:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@require_safe
def day(request: HttpRequest, day: date) -> HttpResponse:
    """A day's edition: every visible paper, pins first."""
    context = pages.day_page(day=day, sort=sort_read(request.GET.get("sort")))
    if context is None:
        raise Http404("no papers on that day")
    return render(request, "newsletter/day.html", context)


def _page_or_404(build, **kwargs) -> dict:
    try:
        context = build(**kwargs)
    except InvalidPage:
        raise Http404("no such page") from None
    if context is None:
        raise Http404("no papers then")
    return context


@require_safe
def period(request: HttpRequest, period: Period) -> HttpResponse:
    """A week's or a month's best papers."""
    sort = sort_read(request.GET.get("sort"))
    context = _page_or_404(pages.period_page, period=period, sort=sort, page=request.GET.get("page"))
    return render(request, "newsletter/period.html", context)


@require_safe
def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    found = pages.paper_lookup(raw_id=arxiv_id)
    if found.canonical:
        return HttpResponsePermanentRedirect(reverse("paper", args=[found.canonical]))
    if found.withdrawn:
        return render(request, "newsletter/paper_withdrawn.html", {"arxiv_id": arxiv_id}, status=410)
    if found.paper is None:
        raise Http404("no such paper")
    return render(request, "newsletter/paper.html", pages.paper_page(paper=found.paper))


@require_safe
def topics(request: HttpRequest) -> HttpResponse:
    context = cache.get("topics-page")
    if context is None:
        context = pages.topics_page()
        cache.set("topics-page", context, timeout=TOPICS_CACHE_SECONDS)
    return render(request, "newsletter/topics.html", context)


@require_safe
def topic(request: HttpRequest, slug: str) -> HttpResponse:
    chosen = get_object_or_404(Topic, slug=slug, active=True)
    context = _page_or_404(
        pages.topic_page, topic=chosen, sort=sort_read(request.GET.get("sort")), page=request.GET.get("page")
    )
    return render(request, "newsletter/topic.html", context)


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    context = _page_or_404(pages.search_page, params=request.GET)
    return render(request, "newsletter/search.html", context)


ROBOTS_TXT = """User-agent: *
Disallow: /admin/
Disallow: /confirm/
Disallow: /preferences/
Disallow: /unsubscribe/
Disallow: /search/
Disallow: /feed/*/
Disallow: /digests/*/*/
Disallow: /outbox/

Sitemap: {sitemap}
"""


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    sitemap = request.build_absolute_uri(reverse("sitemap-index"))
    return HttpResponse(ROBOTS_TXT.format(sitemap=sitemap), content_type="text/plain; charset=utf-8")


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("favicon.svg"), permanent=True)

