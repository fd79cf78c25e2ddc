"""Numbers for the admin dashboard: readers, sends, bounces and complaints per
day. Each figure is one grouped query over an indexed date column, so the page
stays fast with millions of deliveries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from newsletter.admin.charts import Threshold
from newsletter.models import Delivery
from newsletter.selectors import editions_papers
from subscribers.models import ProviderEvent, Subscriber

# What mailbox providers enforce: spam complaints should stay under 0.1% of
# delivered mail and must never reach 0.3% (Gmail and Yahoo sender rules).
COMPLAINT_WARN = 0.001
COMPLAINT_MAX = 0.003
# Hard bounces: under 2% is healthy; providers review senders above 5%
# (Amazon SES puts an account under review at 5%, suspends at 10%).
BOUNCE_WARN = 0.02
BOUNCE_MAX = 0.05


class _Rates:
    """Bounce and complaint rates of what was sent (None: nothing was)."""

    sent: int
    bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.sent if self.sent else None


@dataclass
class DayStats(_Rates):
    day: date
    active: int = 0
    confirmations: int = 0
    unsubscribes: int = 0
    sent: int = 0
    bounces: int = 0
    complaints: int = 0
    reconciled: int = 0  # sends that got no answer, settled with the provider


@dataclass
class Dashboard(_Rates):
    days: list[DayStats]
    active_now: int
    sent: int
    bounces: int
    complaints: int

    @property
    def bounce_level(self) -> str:
        return rate_level(self.bounce_rate, warn=BOUNCE_WARN, limit=BOUNCE_MAX)

    @property
    def complaint_level(self) -> str:
        return rate_level(self.complaint_rate, warn=COMPLAINT_WARN, limit=COMPLAINT_MAX)


@dataclass(frozen=True)
class Figure:
    """One figure per day: a column of the dashboard's day-by-day table and,
    with a ``unit``, a chart. Adding a figure is a DayStats field (or
    property), the query that fills it, and an entry in FIGURES."""

    name: str  # the DayStats attribute
    title: str
    unit: str = ""  # "": in the table only
    percent: bool = False
    color: str = "#c2410c"
    thresholds: tuple[Threshold, ...] = ()
    gap: str = ""  # what a day without a value means

    def value(self, day: DayStats) -> float | None:
        return getattr(day, self.name)


FIGURES = [
    Figure("active", "Active readers", unit="readers"),
    Figure("confirmations", "New confirmations", unit="readers", color="#2e7d32"),
    Figure("unsubscribes", "Unsubscribes", unit="readers", color="#8d6e63"),
    Figure("sent", "Emails sent", unit="emails"),
    Figure("reconciled", "Unanswered sends settled"),
    Figure("bounces", "Hard bounces"),
    Figure(
        "bounce_rate", "Bounce rate", unit="% of emails sent", percent=True, color="#ef6c00",
        thresholds=(Threshold(BOUNCE_WARN, "2%: keep under", "#b45309"),
                    Threshold(BOUNCE_MAX, "5%: providers review the sender", "#c62828")),
        gap="no emails sent",
    ),
    Figure("complaints", "Complaints"),
    Figure(
        "complaint_rate", "Complaint rate", unit="% of emails sent", percent=True, color="#ad1457",
        thresholds=(Threshold(COMPLAINT_WARN, "0.1%: keep under", "#b45309"),
                    Threshold(COMPLAINT_MAX, "0.3%: never reach", "#c62828")),
        gap="no emails sent",
    ),
]


def rate_level(rate: float | None, *, warn: float, limit: float) -> str:
    """"ok" below ``warn``, "warning" up to ``limit``, "critical" at or above it."""
    if rate is None or rate < warn:
        return "ok"
    return "warning" if rate < limit else "critical"


def _per_day(queryset, field: str, start: datetime, end: datetime, **counts) -> dict[date, dict]:
    rows = (
        queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        .annotate(day=TruncDate(field))
        .values("day")
        .annotate(n=Count("pk"), **counts)
        .order_by()
    )
    return {row["day"]: row for row in rows}


def _per_day_counts(queryset, field: str, first: date, days: int) -> dict[date, int]:
    """One COUNT per day over an index range. Grouping a million rows by a
    computed date costs a second; thirty index-only range counts cost a few
    milliseconds each."""
    zone = timezone.get_current_timezone()
    counts = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time.min, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        counts[day] = queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end}).count()
    return counts


def daily_bounces_and_complaints(
    *, start: datetime, end: datetime
) -> tuple[dict[date, int], dict[date, int]]:
    """Hard bounces and spam complaints per day in [start, end), as the
    provider reported them (one per event, dated when we received it) —
    what mailbox providers' rate thresholds are about."""
    kinds = [ProviderEvent.Kind.HARD_BOUNCE, ProviderEvent.Kind.COMPLAINT]
    rows = _per_day(
        ProviderEvent.objects.filter(kind__in=kinds), "received_at", start, end,
        bounced=Count("pk", filter=Q(kind=ProviderEvent.Kind.HARD_BOUNCE)),
        complained=Count("pk", filter=Q(kind=ProviderEvent.Kind.COMPLAINT)),
    )
    return (
        {day: row["bounced"] for day, row in rows.items()},
        {day: row["complained"] for day, row in rows.items()},
    )


def daily_departures(*, start: datetime, end: datetime) -> dict[date, int]:
    """Readers lost to a bounce or complaint per day (their last change),
    for reconstructing the active count: a reader leaves once however many
    events the provider sends."""
    rows = _per_day(
        Subscriber.objects.filter(status__in=[Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED]),
        "updated_at", start, end,
    )
    return {day: row["n"] for day, row in rows.items()}


def dashboard_stats(*, today: date | None = None, days: int = 30) -> Dashboard:
    """The last ``days`` days up to and including ``today`` (local dates).

    Active readers per day are reconstructed backwards from today's count:
    the day before had this day's new confirmations fewer and this day's
    departures (unsubscribes of confirmed readers, bounces, complaints) more.
    Read-only; a fixed number of queries whatever the volume.
    """
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)

    confirmed = _per_day(Subscriber.objects.all(), "confirmed_at", start, end)
    unsubscribed = _per_day(
        Subscriber.objects.all(), "unsubscribed_at", start, end,
        left=Count("pk", filter=Q(confirmed_at__isnull=False)),
    )
    sent = _per_day_counts(Delivery.objects.filter(status=Delivery.Status.SENT), "sent_at", first, days)
    # Few rows, on their own partial index: one grouped query.
    reconciled = _per_day(Delivery.objects.exclude(reconciled=""), "sent_at", start, end)
    bounces, complaints = daily_bounces_and_complaints(start=start, end=end)
    departures = daily_departures(start=start, end=end)
    active_now = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).count()

    stats = []
    active = active_now
    for offset in range(days):
        day = today - timedelta(days=offset)
        row = DayStats(
            day=day,
            active=active,
            confirmations=confirmed.get(day, {}).get("n", 0),
            unsubscribes=unsubscribed.get(day, {}).get("n", 0),
            sent=sent.get(day, 0),
            reconciled=reconciled.get(day, {}).get("n", 0),
            bounces=bounces.get(day, 0),
            complaints=complaints.get(day, 0),
        )
        stats.append(row)
        left = unsubscribed.get(day, {}).get("left", 0) + departures.get(day, 0)
        active = max(0, active - row.confirmations + left)
    stats.reverse()
    return Dashboard(
        days=stats,
        active_now=active_now,
        sent=sum(d.sent for d in stats),
        bounces=sum(d.bounces for d in stats),
        complaints=sum(d.complaints for d in stats),
    )


def topics_reader_counts() -> dict[int, int]:
    """Active readers per topic id, in one grouped query (a correlated count
    per topic would scan the readers once per topic)."""
    through = Subscriber.topics.through
    rows = (
        through.objects.filter(
            subscriber__in=Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).values("pk")
        )
        .values("topic")
        .annotate(n=Count("*"))
        .order_by()
    )
    return {row["topic"]: row["n"] for row in rows}


# Links in a digest that name a paper: its Hugging Face page, arXiv abstract or PDF.
_PAPER_LINK = re.compile(r"(?:huggingface\.co/papers/|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5})")


def top_clicked_papers(*, edition, limit: int = 10) -> list[tuple]:
    """The edition's papers by clicks, as the provider reports them (click
    events on its deliveries; providers without click tracking report none).
    Links to a paper's page, abstract, PDF or code all count for the paper.
    Two queries: clicks grouped by link, then the papers they name."""
    per_link = (
        ProviderEvent.objects.filter(kind=ProviderEvent.Kind.CLICKED, delivery__edition=edition)
        .exclude(click_url="")
        .values("click_url")
        .annotate(n=Count("pk"))
        .order_by()
    )
    papers = {p.arxiv_id: p for p in editions_papers(first=edition.date, last=edition.date)}
    by_repo = {p.github_repo.rstrip("/").lower(): p.arxiv_id for p in papers.values() if p.github_repo}
    clicks: dict[str, int] = {}
    for row in per_link:
        url = row["click_url"]
        match = _PAPER_LINK.search(url)
        arxiv_id = match.group(1) if match else by_repo.get(url.split("?")[0].rstrip("/").lower())
        if arxiv_id in papers:
            clicks[arxiv_id] = clicks.get(arxiv_id, 0) + row["n"]
    ranked = sorted(clicks.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(papers[arxiv_id], n) for arxiv_id, n in ranked]
