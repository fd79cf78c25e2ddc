"""Days, ISO weeks and months of papers, and how to walk between them.

A period's neighbours are the nearest earlier and later periods that have
visible papers: days, weeks or months without any are skipped.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.urls import reverse

from newsletter.selectors import papers_visible

DAY, WEEK, MONTH = "day", "week", "month"


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date

    @property
    def slug(self) -> str:
        """How the period reads in its URL: 2025-07-10, 2025-W28, 2025-07."""
        if self.kind == DAY:
            return self.first.isoformat()
        if self.kind == WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"

    @property
    def title(self) -> str:
        if self.kind == DAY:
            return f"{self.first:%A}, {self.first.day} {self.first:%B %Y}"
        if self.kind == WEEK:
            year, week, _ = self.first.isocalendar()
            return f"Week {week} of {year}"
        return f"{self.first:%B %Y}"

    @property
    def span(self) -> str:
        """The dates a week covers, e.g. "7-13 July 2025" (with an en dash)."""
        first, last = self.first, self.last
        if first.year != last.year:
            return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"
        if first.month != last.month:
            return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
        return f"{first.day}–{last.day} {last:%B %Y}"

    def get_absolute_url(self) -> str:
        name = {DAY: "digest-edition", WEEK: "week", MONTH: "month"}[self.kind]
        return reverse(name, args=[self.first if self.kind == DAY else self.slug])

    def papers(self):
        return papers_visible().filter(featured_on__gte=self.first, featured_on__lte=self.last)


def day_period(day: date) -> Period:
    return Period(DAY, day, day)


def week_period(day: date) -> Period:
    """The ISO week (Monday to Sunday) holding ``day``."""
    first = day - timedelta(days=day.weekday())
    return Period(WEEK, first, first + timedelta(days=6))


def month_period(day: date) -> Period:
    first = day.replace(day=1)
    return Period(MONTH, first, first.replace(day=calendar.monthrange(first.year, first.month)[1]))


PERIOD_OF = {DAY: day_period, WEEK: week_period, MONTH: month_period}


def iso_week_parse(value: str) -> Period:
    """``"2020-W53"`` -> that week; ValueError if there is no such week."""
    year, _, week = value.partition("-W")
    return week_period(date.fromisocalendar(int(year), int(week), 1))


def month_parse(value: str) -> Period:
    """``"2025-07"`` -> that month; ValueError if there is no such month."""
    year, _, month = value.partition("-")
    return month_period(date(int(year), int(month), 1))


def period_neighbours(period: Period) -> tuple[Period | None, Period | None]:
    """The nearest earlier and later periods of the same kind with visible
    papers (two index lookups)."""
    public = papers_visible().values_list("featured_on", flat=True)
    before = public.filter(featured_on__lt=period.first).order_by("-featured_on").first()
    after = public.filter(featured_on__gt=period.last).order_by("featured_on").first()
    make = PERIOD_OF[period.kind]
    return (make(before) if before else None, make(after) if after else None)


def period_days(period: Period) -> list[tuple[date, int]]:
    """The days of ``period`` that have visible papers, with how many."""
    return list(
        period.papers().values("featured_on").order_by("featured_on")
        .annotate(n=Count("id")).values_list("featured_on", "n")
    )
