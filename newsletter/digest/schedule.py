"""Who is due a digest now, and their Delivery rows.

A reader is due when, in their own time zone (zoneinfo, so DST is right),
their send hour has come today, today is their day (weekly readers), they
are active, not paused, not suppressed, have had no digest since their local
midnight and have none for the current edition. The hour test is "has come",
not "is now": a beat that was down catches up the same day, the hour skipped
by a spring-forward change still comes, and the hour repeated in autumn
sends once. An hour counts only if it came after the reader confirmed: who
confirms at 23:27 gets the first "08:00" digest at 08:00, not at 23:30
(``first_digest_at`` says when, by the same rule).

Planning is safe to run twice at once: rows are inserted with the unique
(subscriber, edition) constraint deciding (``ON CONFLICT DO NOTHING
RETURNING id``), so each Delivery is created, and handed out, by exactly one
planner. Rows are created and committed a batch at a time and each batch can
be handed on at once (``on_batch``): the first digests leave while the rest
of a large morning is still being planned.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from newsletter.models import Delivery, Edition
from newsletter.selectors import latest_edition_date, papers_visible
from subscribers.models import Subscriber
from subscribers.suppression import suppressed_among

log = logging.getLogger(__name__)
BATCH = 1000


def reader_zone(name: str) -> zoneinfo.ZoneInfo:
    """The reader's time zone; an unknown name falls back to UTC (and says so)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using UTC", name)
        return zoneinfo.ZoneInfo("UTC")


def send_moment(*, day: date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant a reader's hour comes on a local day, in UTC. An hour that
    does not exist that day (spring forward) maps to the instant it would have
    been, which the clock has already passed when it shows the next hour."""
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def edition_current(*, on: date | None = None) -> Edition | None:
    """The newest edition with visible papers, not after ``on`` (the site's today)."""
    day = latest_edition_date(on_or_before=on or timezone.localdate())
    if day is None:
        return None
    edition, _ = Edition.objects.get_or_create(date=day)
    return edition


def hour_counts(*, moment: datetime, confirmed_at: datetime | None) -> bool:
    """Whether a reader's hour at ``moment`` brings a digest: only once it
    comes at or after they confirmed (a reader with no confirmation date,
    from before it was kept, is not held back)."""
    return confirmed_at is None or moment >= confirmed_at


def first_digest_at(*, subscriber: Subscriber) -> datetime | None:
    """When a confirmed reader's first digest is due: the first time their
    hour comes at or after they confirmed, on their weekday for weekly
    readers (UTC). None before they confirm."""
    if subscriber.confirmed_at is None:
        return None
    zone = reader_zone(subscriber.timezone)
    first_day = subscriber.confirmed_at.astimezone(zone).date()
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        if subscriber.frequency == Subscriber.Frequency.WEEKLY and day.weekday() != subscriber.weekday:
            continue
        moment = send_moment(day=day, hour=subscriber.send_hour, zone=zone)
        if hour_counts(moment=moment, confirmed_at=subscriber.confirmed_at):
            return moment
    return None


@dataclass
class Plan:
    edition: Edition | None
    delivery_ids: list[int] = field(default_factory=list)
    reason: str = ""


def _eligible():
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused=False)


def addresses_q(emails: list[str], *, path: str = "email") -> Q:
    """Any of these addresses, as typed (case and spaces aside), at ``path``."""
    address = Q()
    for email in emails:
        address |= Q(**{f"{path}__iexact": email.strip()})
    return address


def readers_due(
    *, now: datetime, edition: Edition, emails: list[str] | None = None, ignore_schedule: bool = False
) -> list[tuple[int, str, datetime]]:
    """(subscriber id, email, due at) for every reader due ``now``, suppressed
    addresses left out. One query per time zone in use."""
    has_this_edition = Delivery.objects.filter(subscriber=OuterRef("pk"), edition=edition)
    base = _eligible().filter(~Exists(has_this_edition))
    if emails:
        base = base.filter(addresses_q(emails))
    due: list[tuple[int, str, datetime]] = []
    if ignore_schedule:
        due = [(pk, email, now) for pk, email in base.values_list("pk", "email").order_by("pk")]
    else:
        for name in base.values_list("timezone", flat=True).distinct().order_by("timezone"):
            zone = reader_zone(name)
            local = now.astimezone(zone)
            midnight = send_moment(day=local.date(), hour=0, zone=zone)
            had_one_today = Delivery.objects.filter(subscriber=OuterRef("pk"), due_at__gte=midnight)
            rows = (
                base.filter(timezone=name, send_hour__lte=local.hour)
                .filter(
                    Q(frequency=Subscriber.Frequency.DAILY)
                    | Q(frequency=Subscriber.Frequency.WEEKLY, weekday=local.weekday())
                )
                .filter(~Exists(had_one_today))
                .values_list("pk", "email", "send_hour", "confirmed_at")
                .order_by("pk")
            )
            for pk, email, hour, confirmed_at in rows:
                moment = send_moment(day=local.date(), hour=hour, zone=zone)
                if hour_counts(moment=moment, confirmed_at=confirmed_at):
                    due.append((pk, email, moment))
    kept: list[tuple[int, str, datetime]] = []
    for start in range(0, len(due), BATCH):
        batch = due[start : start + BATCH]
        suppressed = suppressed_among(email for _, email, _ in batch)
        kept.extend(row for row in batch if row[1] not in suppressed)
    return kept


def deliveries_plan(
    *,
    now: datetime | None = None,
    edition_date: date | None = None,
    emails: list[str] | None = None,
    ignore_schedule: bool = False,
    on_batch: Callable[[list[int]], None] | None = None,
) -> Plan:
    """Create pending Deliveries for every reader due now (or, with
    ``ignore_schedule``, every eligible reader) and return their ids.

    Idempotent and safe to run concurrently: a reader gets at most one
    Delivery per edition, and a second run creates nothing the first did.
    Sends nothing. ``edition_date`` picks an edition (default: the newest).
    ``on_batch`` is called with the ids of each batch once it is committed.
    """
    now = now or timezone.now()
    if edition_date is not None:
        if not papers_visible().filter(featured_on=edition_date).exists():
            return Plan(edition=None, reason=f"the edition of {edition_date:%Y-%m-%d} has no visible papers")
        edition, _ = Edition.objects.get_or_create(date=edition_date)
    else:
        edition = edition_current(on=timezone.localdate(now))
        if edition is None:
            return Plan(edition=None, reason="no edition with papers yet")
    due = readers_due(now=now, edition=edition, emails=emails, ignore_schedule=ignore_schedule)
    ids: list[int] = []
    analyzed = 0
    for start in range(0, len(due), BATCH):
        with transaction.atomic():
            created = deliveries_insert(edition=edition, due=due[start : start + BATCH])
        ids.extend(created)
        if created and len(ids) >= 4 * analyzed:  # after 1, 4, 16, 64 ... thousand rows
            deliveries_statistics_refresh()
            analyzed = len(ids)
        if on_batch is not None and created:
            on_batch(created)
    return Plan(edition=edition, delivery_ids=sorted(ids))


def deliveries_statistics_refresh() -> None:
    """Fresh PostgreSQL planner statistics for the deliveries table.

    A morning's plan adds rows far faster than autovacuum looks at them. With
    statistics from before them, "status = 'pending'" looks like a handful of
    rows, so the senders' by-id reads and claims scanned every pending row
    instead of looking up their own by primary key: each chunk then cost
    more the more readers were due. Refreshed each time the run's rows have
    quadrupled, so the share of pending rows is never underestimated by more
    than four times, at a constant cost per refresh (ANALYZE reads a
    fixed-size sample; figures in docs/performance.md).
    SKIP_LOCKED: if autovacuum holds the table, it is refreshing them already."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE (SKIP_LOCKED) {connection.ops.quote_name(Delivery._meta.db_table)}")


def deliveries_insert(*, edition: Edition, due: list[tuple[int, str, datetime]]) -> list[int]:
    """Pending Deliveries for ``due`` (subscriber id, email, due at) in one
    statement; returns the ids created by this call. A reader who already has
    a Delivery for the edition (another planner got there first) is left to
    whoever created it."""
    if not due:
        return []
    table = connection.ops.quote_name(Delivery._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = (
        f"INSERT INTO {table} (subscriber_id, edition_id, due_at, status, reason, attempts, "
        "provider_message_id, error, paper_ids, for_you_count, reconciled, reconcile_note, "
        "created_at, updated_at) "
    )
    conflict = " ON CONFLICT (subscriber_id, edition_id) DO NOTHING RETURNING id"
    if connection.vendor == "postgresql":
        # Two array parameters instead of a dozen per row: building and
        # parsing that many placeholders was most of planning's CPU.
        sql = (
            f"{columns}SELECT u.s, %s, u.d, %s, '', 0, '', '', '[]', 0, '', '', %s, %s "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(s, d)" + conflict
        )
        params = [edition.pk, Delivery.Status.PENDING, now, now,
                  [pk for pk, _, _ in due], [due_at for _, _, due_at in due]]
    else:
        row = "(%s, %s, %s, %s, '', 0, '', '', '[]', 0, '', '', %s, %s)"
        sql = f"{columns}VALUES {', '.join([row] * len(due))}{conflict}"
        adapt = connection.ops.adapt_datetimefield_value
        pending = Delivery.Status.PENDING
        params = [x for pk, _, due_at in due for x in (pk, edition.pk, adapt(due_at), pending, now, now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def chunks(ids: list[int], size: int | None = None) -> list[list[int]]:
    size = size or settings.DIGEST_CHUNK_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def weekly_first_day(*, last: date) -> date:
    """The first edition date a weekly digest ending at ``last`` covers."""
    return last - timedelta(days=6)
