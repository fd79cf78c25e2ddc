"""Atom feeds (each with an RSS 2.0 twin) built with Django's syndication
framework: the site's latest papers, a topic, a saved search, and a private
feed of one reader's digests.

Public feeds cover the papers featured in the last ``FEED_WINDOW_DAYS`` days
(counted back from the newest edition), newest first. Feed readers poll, so
every feed answers conditional requests: its ETag and Last-Modified come from
a fingerprint of what it shows (a few small aggregates) and a matching
If-None-Match or If-Modified-Since gets a 304 without building anything; the
body is cached under that fingerprint until the data changes.

Feeds are XML 1.0: text that cannot appear there (control characters, lone
surrogates, U+FFFE/U+FFFF) is dropped, and summaries are escaped HTML, so a
paper's markup is text in every reader.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from django.views.decorators.http import condition, require_safe

from newsletter.models import Delivery, Paper, Topic
from newsletter.selectors import EDITION_ORDER, latest_edition_date, papers_visible, topic_links_prefetch
from newsletter.site.search import Search, papers_search, query_clean
from subscribers.models import Subscriber
from subscribers.tokens import TokenInvalid, token_make, token_read

FEED_WINDOW_DAYS = 30
FEED_ITEMS = 100
TOPIC_FEED_ITEMS = 50
SEARCH_FEED_ITEMS = 50
READER_FEED_DELIVERIES = 20
FEED_AUTHORS = 10
FEED_CACHE_SECONDS = 6 * 3600
FEED_PURPOSE = "feed"
# Not in XML 1.0: C0 controls but tab and line breaks, surrogates, U+FFFE/F.
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value) -> str:
    """``value`` as text an XML 1.0 document can hold."""
    return _NOT_XML_RE.sub("", str(value or ""))


def reader_feed_url(subscriber: Subscriber) -> str:
    """The absolute address of a reader's private feed (for the preferences
    page and the digest footer)."""
    token = token_make(subscriber=subscriber, purpose=FEED_PURPOSE)
    return settings.SITE_URL + reverse("feed-reader", args=[token])


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


# --- what each feed shows --------------------------------------------------------------------

def window_start() -> date | None:
    """The first day public feeds cover, or None when there are no papers."""
    newest = latest_edition_date()
    return newest - timedelta(days=FEED_WINDOW_DAYS - 1) if newest else None


def _recent(papers: QuerySet, since: date | None) -> QuerySet:
    return papers.filter(featured_on__gte=since) if since else papers.none()


def _newest_first(papers: QuerySet) -> QuerySet:
    return papers.order_by("-featured_on", *EDITION_ORDER).prefetch_related(topic_links_prefetch())


@dataclass(frozen=True)
class FeedState:
    """What a feed shows (``subject``: a topic, a search, a reader; ``since``:
    the first day of the window; ``papers``: a reader's arXiv ids), and what
    its ETag and Last-Modified are made of. Built once per request."""

    key: str
    last_modified: datetime | None
    subject: object = None
    since: date | None = None
    paper_ids: tuple[str, ...] = ()

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:32]


def _window_fingerprint(since: date | None) -> tuple[tuple, datetime | None]:
    """Everything public feeds show from the window: its papers (any change
    touches ``updated_at``; curation does so for topic changes too) and the
    topics' names. Two small aggregates."""
    if since is None:
        return ("empty",), None
    papers = Paper.objects.filter(featured_on__gte=since).aggregate(n=Count("pk"), last=Max("updated_at"))
    topics = Topic.objects.aggregate(n=Count("pk", filter=Q(active=True)), last=Max("updated_at"))
    stamp = (since, papers["n"], papers["last"], topics["n"], topics["last"], settings.SITE_URL)
    return stamp, max(filter(None, [papers["last"], topics["last"]]), default=None)


def public_state(kind: str, *, subject=None, key: str = "") -> FeedState:
    since = window_start()
    stamp, last = _window_fingerprint(since)
    return FeedState(key=repr((kind, key, stamp)), last_modified=last, subject=subject, since=since)


# --- feed classes ---------------------------------------------------------------------------

class PapersFeed(Feed):
    """What every paper entry looks like, in Atom. ``get_object`` hands the
    request's FeedState to the other methods."""

    feed_type = Atom1Feed
    title_suffix = ""

    def get_object(self, request, *args, **kwargs) -> FeedState:
        return request.feed_state

    def title(self, state: FeedState) -> str:
        return xml_text(f"{settings.SITE_NAME}{self.title_suffix}")

    def link(self, state: FeedState) -> str:
        return _absolute(reverse("home"))

    def subtitle(self, state: FeedState) -> str:
        return "Trending AI research papers, every day."

    description = subtitle

    def feed_url(self, state: FeedState) -> str:
        return None  # the request's own address

    def item_title(self, paper: Paper) -> str:
        # RSS readers read titles as HTML; Atom titles are plain text.
        title = xml_text(" ".join(paper.title.split()))
        return escape(title) if self.feed_type is Rss201rev2Feed else title

    def item_description(self, paper: Paper) -> str:
        return escape(xml_text(paper.excerpt(600)))

    def item_link(self, paper: Paper) -> str:
        return _absolute(paper.get_absolute_url())

    def item_guid(self, paper: Paper) -> str:
        # Stable: the paper page's address, whatever the paper's text does.
        return _absolute(paper.get_absolute_url())

    item_guid_is_permalink = True

    def item_author_name(self, paper: Paper) -> str:
        names = [xml_text(" ".join(str(a).split())) for a in (paper.authors or [])]
        shown = ", ".join(n for n in names[:FEED_AUTHORS] if n)
        return shown + (" et al." if len(names) > FEED_AUTHORS else "") or None

    def item_pubdate(self, paper: Paper) -> datetime:
        if paper.featured_on:
            return datetime.combine(paper.featured_on, time.min, tzinfo=UTC)
        return paper.created_at

    def item_updateddate(self, paper: Paper) -> datetime:
        return paper.updated_at

    def item_categories(self, paper: Paper) -> list[str]:
        return [xml_text(link.topic.name) for link in getattr(paper, "topic_links", [])]


class SiteFeed(PapersFeed):
    def items(self, state: FeedState) -> QuerySet:
        return _newest_first(_recent(papers_visible(), state.since))[:FEED_ITEMS]


class TopicFeed(PapersFeed):
    def title(self, state: FeedState) -> str:
        return xml_text(f"{state.subject.name} · {settings.SITE_NAME}")

    def link(self, state: FeedState) -> str:
        return _absolute(reverse("topic", args=[state.subject.slug]))

    def subtitle(self, state: FeedState) -> str:
        return xml_text(state.subject.description) or xml_text(state.subject.name)

    description = subtitle

    def items(self, state: FeedState) -> QuerySet:
        papers = _recent(papers_visible(), state.since).filter(papertopic__topic=state.subject)
        return _newest_first(papers)[:TOPIC_FEED_ITEMS]


def search_of(request: HttpRequest) -> Search:
    """A saved search: the words only (newest matches first)."""
    return Search(text=query_clean(request.GET.get("q")), sort="new")


class SearchFeed(PapersFeed):
    def title(self, state: FeedState) -> str:
        return xml_text(f"“{state.subject.text}” · {settings.SITE_NAME}")

    def link(self, state: FeedState) -> str:
        return _absolute(reverse("search")) + "?" + urlencode({"q": state.subject.text})

    def subtitle(self, state: FeedState) -> str:
        return xml_text(f"New papers matching “{state.subject.text}”.")

    description = subtitle

    def items(self, state: FeedState):
        _, ordered = papers_search(search=state.subject, today=timezone.localdate())
        recent = _recent(ordered, state.since)
        return recent.prefetch_related(topic_links_prefetch())[:SEARCH_FEED_ITEMS]


# --- a reader's private feed ----------------------------------------------------------------

def reader_of_token(token: str) -> Subscriber:
    try:
        return token_read(token=token, purpose=FEED_PURPOSE)
    except TokenInvalid:
        raise Http404("no such feed") from None


def reader_papers(*, paper_ids: tuple[str, ...]) -> list[Paper]:
    """The visible papers among ``paper_ids``, in that order, each once."""
    by_id = papers_visible().filter(arxiv_id__in=paper_ids).prefetch_related(topic_links_prefetch()).in_bulk(
        field_name="arxiv_id"
    )
    return [by_id[arxiv_id] for arxiv_id in dict.fromkeys(paper_ids) if arxiv_id in by_id]


class ReaderFeed(PapersFeed):
    title_suffix = " · your digest"

    def subtitle(self, state: FeedState) -> str:
        return "The papers of your latest digests."

    description = subtitle

    def items(self, state: FeedState) -> list[Paper]:
        return reader_papers(paper_ids=state.paper_ids)


def reader_state(token: str) -> FeedState:
    """Exactly the papers of the reader's latest sent digests, newest digest
    first, each digest in its own order; papers hidden or withdrawn since are
    left out when the feed is built."""
    subscriber = reader_of_token(token)
    deliveries = list(
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT)
        .order_by("-edition__date")
        .values_list("pk", "sent_at", "paper_ids")[:READER_FEED_DELIVERIES]
    )
    paper_ids = tuple(str(pid) for _, _, ids in deliveries for pid in ids or ())
    papers = Paper.objects.filter(arxiv_id__in=paper_ids).aggregate(
        hidden=Count("pk", filter=Q(hidden=True) | Q(withdrawn_at__isnull=False)), last=Max("updated_at")
    )
    topics = Topic.objects.aggregate(last=Max("updated_at"))
    sent = [when for _, when, _ in deliveries if when]
    stamp = (subscriber.pk, [pk for pk, _, _ in deliveries], papers["hidden"], papers["last"], topics["last"],
             settings.SITE_URL)
    last = max([*sent, *filter(None, [papers["last"], topics["last"]])], default=None)
    return FeedState(key=repr(("reader", stamp)), last_modified=last, subject=subscriber, paper_ids=paper_ids)


# --- views ----------------------------------------------------------------------------------

def conditional_feed(feed: Feed, state_of: Callable[..., FeedState], *, private: bool = False):
    """A view answering conditional requests for ``feed`` and caching its
    body under the state's fingerprint."""

    def state(request: HttpRequest, *args, **kwargs) -> FeedState:
        if not hasattr(request, "feed_state"):
            request.feed_state = state_of(request, *args, **kwargs)
        return request.feed_state

    @condition(
        etag_func=lambda request, *a, **kw: state(request, *a, **kw).etag,
        last_modified_func=lambda request, *a, **kw: state(request, *a, **kw).last_modified,
    )
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = f"feed-body:{type(feed).__name__}:{state(request, *args, **kwargs).etag}"
        cached = cache.get(key)
        if cached is None:
            built = feed(request, *args, **kwargs)
            cached = (built["Content-Type"], built.content)
            cache.set(key, cached, timeout=FEED_CACHE_SECONDS)
        return HttpResponse(cached[1], content_type=cached[0])

    @require_safe
    def answer(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if private:
            response["X-Robots-Tag"] = "noindex, nofollow"
            response["Referrer-Policy"] = "no-referrer"
            response["Cache-Control"] = "private, no-cache"
        else:
            # Shared caches may keep it, but must ask again before reuse.
            response["Cache-Control"] = "public, no-cache"
        return response

    return answer


def _rss(feed_class: type[PapersFeed]) -> PapersFeed:
    return type(f"Rss{feed_class.__name__}", (feed_class,), {"feed_type": Rss201rev2Feed})()


def _site_state(request):
    return public_state("site")


def _topic_state(request, slug: str):
    topic = Topic.objects.filter(slug=slug, active=True).first()
    if topic is None:
        raise Http404("no such topic")
    return public_state("topic", subject=topic, key=slug)


def _search_state(request):
    search = search_of(request)
    return public_state("search", subject=search, key=search.text)


def _reader_state(request, token: str):
    return reader_state(token)


site_feed = conditional_feed(SiteFeed(), _site_state)
site_feed_rss = conditional_feed(_rss(SiteFeed), _site_state)
topic_feed = conditional_feed(TopicFeed(), _topic_state)
topic_feed_rss = conditional_feed(_rss(TopicFeed), _topic_state)
search_feed = conditional_feed(SearchFeed(), _search_state)
search_feed_rss = conditional_feed(_rss(SearchFeed), _search_state)
reader_feed = conditional_feed(ReaderFeed(), _reader_state, private=True)
reader_feed_rss = conditional_feed(_rss(ReaderFeed), _reader_state, private=True)
