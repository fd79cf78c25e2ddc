"""sitemap.xml: the public pages only (days, weeks, months, topics, papers);
never a search, a feed or anything reached through a personal link."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from newsletter.models import Topic
from newsletter.selectors import papers_visible
from newsletter.site.periods import day_period, month_period, week_period


class _SiteSitemap(Sitemap):
    @property
    def protocol(self) -> str:
        return "https" if settings.SITE_URL.startswith("https://") else "http"


class PagesSitemap(_SiteSitemap):
    changefreq = "daily"

    def items(self):
        return ["home", "topics"]

    def location(self, name):
        return reverse(name)


def _days() -> list:
    return list(
        papers_visible().exclude(featured_on=None).values("featured_on").order_by("featured_on")
        .annotate(last=Max("updated_at")).values_list("featured_on", "last")
    )


class _PeriodsSitemap(_SiteSitemap):
    """Days, weeks or months with visible papers, last changed when their
    newest paper did."""

    period_of = staticmethod(day_period)

    def items(self):
        periods: dict = {}
        for day, last in _days():
            period = self.period_of(day)
            periods[period] = max(periods.get(period, last), last)
        return list(periods.items())

    def location(self, item):
        return item[0].get_absolute_url()

    def lastmod(self, item):
        return item[1]


class DaysSitemap(_PeriodsSitemap):
    period_of = staticmethod(day_period)


class WeeksSitemap(_PeriodsSitemap):
    period_of = staticmethod(week_period)


class MonthsSitemap(_PeriodsSitemap):
    period_of = staticmethod(month_period)


class TopicsSitemap(_SiteSitemap):
    def items(self):
        return list(Topic.objects.filter(active=True).order_by("position", "name"))

    def location(self, topic):
        return reverse("topic", args=[topic.slug])


class PapersSitemap(_SiteSitemap):
    def items(self):
        return papers_visible().order_by("pk").only("arxiv_id", "updated_at")

    def lastmod(self, paper):
        return paper.updated_at


SITEMAPS = {
    "pages": PagesSitemap,
    "days": DaysSitemap,
    "weeks": WeeksSitemap,
    "months": MonthsSitemap,
    "topics": TopicsSitemap,
    "papers": PapersSitemap,
}
