from datetime import date

from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, register_converter
from django.views.decorators.cache import cache_page

from newsletter import views
from newsletter.models import ARXIV_ID_PATTERN
from newsletter.site import feeds
from newsletter.site import views as site
from newsletter.site.periods import Period, iso_week_parse, month_parse
from newsletter.site.sitemaps import SITEMAPS

SITEMAP_CACHE_SECONDS = 3600


class IsoDateConverter:
    """``2025-07-10`` <-> date; anything else is no match (a 404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # ValueError (e.g. 2025-02-30) means no match

    def to_url(self, value: date) -> str:
        return value.isoformat()


class IsoWeekConverter:
    """``2025-W28`` <-> that ISO week; a week the year does not have is no match."""

    regex = r"\d{4}-W\d{2}"

    def to_python(self, value: str) -> Period:
        return iso_week_parse(value)

    def to_url(self, value) -> str:
        return value.slug if isinstance(value, Period) else str(value)


class MonthConverter:
    """``2025-07`` <-> that month."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value: str) -> Period:
        return month_parse(value)

    def to_url(self, value) -> str:
        return value.slug if isinstance(value, Period) else str(value)


class ArxivIdConverter:
    """An arXiv id, new (2507.06607) or old style (cs/0112017), with or without a version."""

    regex = ARXIV_ID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IsoDateConverter, "isodate")
register_converter(IsoWeekConverter, "isoweek")
register_converter(MonthConverter, "month")
register_converter(ArxivIdConverter, "arxiv")

urlpatterns = [
    path("", site.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("digests/<isodate:day>/", site.day, name="digest-edition"),
    path("digests/<isodate:day>/<str:token>/", views.digest_reader, name="digest-reader"),
    path("", include("newsletter.feedback.urls")),
    path("week/<isoweek:period>/", site.period, name="week"),
    path("month/<month:period>/", site.period, name="month"),
    path("papers/<arxiv:arxiv_id>/", site.paper, name="paper"),
    path("topics/", site.topics, name="topics"),
    path("topics/<slug:slug>/", site.topic, name="topic"),
    path("topics/<slug:slug>/feed/", feeds.topic_feed, name="feed-topic"),
    path("topics/<slug:slug>/feed/rss/", feeds.topic_feed_rss, name="feed-topic-rss"),
    path("search/", site.search, name="search"),
    path("search/feed/", feeds.search_feed, name="feed-search"),
    path("search/feed/rss/", feeds.search_feed_rss, name="feed-search-rss"),
    path("feed/", feeds.site_feed, name="feed"),
    path("feed/rss/", feeds.site_feed_rss, name="feed-rss"),
    path("feed/<str:token>/", feeds.reader_feed, name="feed-reader"),
    path("feed/<str:token>/rss/", feeds.reader_feed_rss, name="feed-reader-rss"),
    path("robots.txt", site.robots_txt, name="robots"),
    path("favicon.ico", site.favicon, name="favicon"),
    path(
        "sitemap.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap-index",
    ),
    path(
        "sitemap-<section>.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
]
