"""Sending digests: at most once per (reader, edition), and every Delivery
ends sent, failed or skipped, with the reason where not sent.

For each Delivery of a chunk: check the reader may still be mailed, select
and freeze the papers (``paper_ids``: a retry re-sends the same digest,
late upvotes do not reshuffle it), assemble, then claim the row with a
conditional UPDATE (pending -> sending) just before handing the message to
the provider. Whoever loses the claim sends nothing. (``sender_pool`` does the
claiming in groups and keeps many messages in flight, one reused connection
per sending thread.) Accepted -> sent, with the provider's message id; what
a failure means (retry later, refused, failed) is in ``failures``.

A worker killed between claim and answer leaves the row ``sending``;
``stale_deliveries_settle`` ends it ``interrupted`` after DIGEST_SENDING_TIMEOUT_SECONDS
(it may have gone out, so it is never simply sent again: where the provider
can be searched it waits ``uncertain`` for a lookup, see ``reconcile``; else
it ends ``failed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.lib.lookups import pg_array
from newsletter.digest.assemble import digest_assemble
from newsletter.digest.failures import delivery_finish
from newsletter.digest.history import readers_history
from newsletter.digest.pool import EditionPool, pool_get
from newsletter.digest.reconcile import Reconciliation, deliveries_reconcile, interrupted_record
from newsletter.digest.render import parts_get
from newsletter.digest.schedule import weekly_first_day
from newsletter.digest.selection import Reader, digest_select, keywords_parse, selection_frozen
from newsletter.digest.sender_pool import Window, hand_back
from newsletter.feedback.learning import tastes_for
from newsletter.models import Delivery
from subscribers.models import Subscriber
from subscribers.suppression import suppressed_among

log = logging.getLogger(__name__)

SWEEP_LIMIT = 100_000
NOTHING_NEW = "nothing new for this reader in this edition"
S = Delivery.Status


@dataclass
class ChunkOutcome:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # No answer after the request left: waiting to be looked up at the provider.
    uncertain: list[int] = field(default_factory=list)
    # Back to pending after a transient failure (or never tried because the
    # provider asked us to slow down): id -> not before.
    deferred: dict[int, datetime] = field(default_factory=dict)
    # Not pending any more (another task has it or finished it): untouched.
    busy: list[int] = field(default_factory=list)

    def merge(self, other: ChunkOutcome) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.failed += other.failed
        self.uncertain += other.uncertain
        self.busy += other.busy
        self.deferred.update(other.deferred)


@dataclass(slots=True)
class Row:
    """What sending needs of a Delivery and its reader: read as plain values
    (no model instances: for a chunk of 200 that is a third of the reading)."""

    pk: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    paper_ids: list
    for_you_count: int
    edition_date: date
    subscriber_id: int
    email: str
    subscriber_status: str
    paused: bool
    frequency: str
    keywords: str
    digest_format: str
    reconciled: str  # "resend": this is the one send again after a lookup found nothing


ROW_FIELDS = ("pk", "status", "attempts", "next_attempt_at", "paper_ids", "for_you_count", "edition__date",
              "subscriber_id", "subscriber__email", "subscriber__status", "subscriber__paused",
              "subscriber__frequency", "subscriber__keywords", "subscriber__digest_format", "reconciled")


@dataclass(slots=True)
class Prepared:
    row: Row
    message: object
    paper_ids: list[str]  # frozen on the row when it is claimed
    for_you_count: int


def _ineligible(row: Row, suppressed: set[str]) -> str:
    if row.subscriber_status != Subscriber.Status.ACTIVE:
        return f"reader is {Subscriber.Status(row.subscriber_status).label.lower()}"
    if row.paused:
        return "reader paused their digests"
    if row.email in suppressed:
        return "address is suppressed"
    return ""


def _skip_many(ids: list[int], reason: str) -> list[int]:
    """Pending rows among ``ids`` -> skipped with ``reason``, in one statement."""
    if not ids:
        return []
    table = db_connection.ops.quote_name(Delivery._meta.db_table)
    if db_connection.vendor == "postgresql":  # one parameter (see config.lib.lookups)
        among, params = "id = ANY(%s::bigint[])", [pg_array(ids)]
    else:
        among, params = f"id IN ({', '.join(['%s'] * len(ids))})", list(ids)
    sql = (
        f"UPDATE {table} SET status = %s, reason = %s, updated_at = %s "  # noqa: S608
        f"WHERE {among} AND status = %s RETURNING id"
    )
    stamp = db_connection.ops.adapt_datetimefield_value(timezone.now())
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [S.SKIPPED, reason[:200], stamp, *params, S.PENDING])
        return [row[0] for row in cursor.fetchall()]


def _eligible(rows: list[Row], outcome: ChunkOutcome) -> list[Row]:
    """The rows whose reader may still be mailed; the others end skipped."""
    suppressed = suppressed_among(row.email for row in rows)
    ready = []
    with transaction.atomic():  # one commit for the chunk's skips
        for row in rows:
            reason = _ineligible(row, suppressed)
            if not reason:
                ready.append(row)
            elif delivery_finish(row=row, status=S.SKIPPED, reason=reason):
                outcome.skipped.append(row.pk)
    return ready


class _Assembler:
    """Selection and assembly for one chunk's rows; what they share (topics,
    histories, edition pools) is read once for the chunk."""

    def __init__(self, rows: list[Row]):
        self.topics: dict[int, set[int]] = {}
        for subscriber_id, topic_id in Subscriber.topics.through.objects.filter(
            subscriber_id__any_of={r.subscriber_id for r in rows}
        ).values_list("subscriber_id", "topic_id"):
            self.topics.setdefault(subscriber_id, set()).add(topic_id)
        self.histories = readers_history(
            subscriber_ids={r.subscriber_id for r in rows if not r.paper_ids},
            before=max(r.edition_date for r in rows),
            exclude_delivery_ids=[r.pk for r in rows],
        )
        # What each reader's ratings taught (one query; most readers have none).
        self.tastes = tastes_for(subscriber_ids={r.subscriber_id for r in rows if not r.paper_ids})
        self.pools: dict[tuple, EditionPool] = {}
        self.nothing_new: list[int] = []

    def prepare(self, row: Row, outcome: ChunkOutcome) -> Prepared | None:
        """The row's digest, or None (nothing new: noted for skipping; a bug:
        the row ends failed with the error)."""
        weekly = row.frequency == Subscriber.Frequency.WEEKLY
        last = row.edition_date
        first = weekly_first_day(last=last) if weekly else last
        pool = self.pools.get((first, last))
        if pool is None:
            pool = self.pools[(first, last)] = pool_get(first=first, last=last)
        reader = Reader(
            pk=row.subscriber_id, email=row.email, keywords=keywords_parse(row.keywords), weekly=weekly,
            topic_ids=frozenset(self.topics.get(row.subscriber_id, ())),
            taste=self.tastes.get(row.subscriber_id), digest_format=row.digest_format,
        )
        try:
            if row.paper_ids:
                selection = selection_frozen(
                    pool=pool, reader=reader, paper_ids=row.paper_ids, for_you_count=row.for_you_count,
                )
            else:
                history = self.histories[row.subscriber_id]
                selection = digest_select(
                    pool=pool, reader=reader, received=history.received,
                    since=history.last_sent_on if weekly else None,
                )
            if selection.empty:
                self.nothing_new.append(row.pk)
                return None
            message = digest_assemble(
                pool=pool, parts=parts_get(pool=pool, digest_format=reader.digest_format), reader=reader,
                selection=selection, delivery_id=row.pk,
            )
        except Exception as exc:  # a bug must not leave the row pending forever
            log.exception("could not assemble delivery %s", row.pk)
            reason = f"could not assemble: {exc.__class__.__name__}"
            if delivery_finish(row=row, status=S.FAILED, reason=reason, error=str(exc)):
                outcome.failed.append(row.pk)
            return None
        picked = [pool.papers[p.index].arxiv_id for p in selection.picks]
        return Prepared(row, message, picked, len(selection.for_you))


def deliveries_send(*, delivery_ids: list[int]) -> ChunkOutcome:
    """Send the pending Deliveries among ``delivery_ids``.

    Safe to run twice, concurrently, or after a crash: only rows still
    pending are touched and each is claimed before it is handed to the
    provider, so no digest is sent twice. Deliveries whose retry time has not
    come are reported as deferred, untouched. Sends mail.
    """
    outcome = ChunkOutcome()
    now = timezone.now()
    # By key alone, the status checked here: the key is the one index that
    # always fits a chunk (see schedule.deliveries_statistics_refresh).
    rows = [
        row for row in (
            Row(*values) for values in Delivery.objects.filter(pk__any_of=list(delivery_ids))
            .order_by("pk").values_list(*ROW_FIELDS)
        )
        if row.status == S.PENDING
    ]
    outcome.busy += sorted(set(delivery_ids) - {r.pk for r in rows})
    due = []
    for row in rows:
        if row.next_attempt_at and row.next_attempt_at > now:
            outcome.deferred[row.pk] = row.next_attempt_at
        else:
            due.append(row)
    ready = _eligible(due, outcome) if due else []
    if not ready:
        return outcome
    assembler = _Assembler(ready)
    # Digests are assembled while the ones before them are being sent: see
    # sender_pool. Nothing is claimed before it is assembled, so a crash while
    # assembling leaves rows pending, as before.
    window = Window(outcome=outcome)
    left: list[int] = []
    for index, row in enumerate(ready):
        if window.stopped.is_set():
            left = [r.pk for r in ready[index:]]
            break
        item = assembler.prepare(row, outcome)
        if item is not None:
            window.offer(item)
    outcome.skipped += _skip_many(assembler.nothing_new, NOTHING_NEW)
    unclaimed = window.finish()
    if window.stopped.is_set():
        until = window.stop_until or timezone.now() + timedelta(seconds=1)
        hand_back(claimed=window.untried, rest=[*[p.row.pk for p in unclaimed], *left], until=until,
                  error=window.stop_error, outcome=outcome)
        if window.stop_error:
            log.warning("%s; %s digests wait until %s", window.stop_error, len(outcome.deferred), until)
    return outcome


@dataclass
class Settled:
    interrupted: int = 0
    requeued: list[int] = field(default_factory=list)  # for the caller to enqueue again
    reconciled: Reconciliation = field(default_factory=Reconciliation)


def pending_take(*, deliveries, now: datetime, limit: int = SWEEP_LIMIT) -> list[int]:
    """The pending rows among ``deliveries`` (a Delivery queryset), by id,
    touched so that the sweep leaves them alone for another
    DIGEST_PENDING_REQUEUE_SECONDS: the sweep's requeue and ``send_digests``
    take work the same way. Sending each one still needs its own claim
    (pending -> sending), so two takers never send a digest twice."""
    ids = list(deliveries.filter(status=S.PENDING).order_by("pk").values_list("pk", flat=True)[:limit])
    for start in range(0, len(ids), 1000):
        Delivery.objects.filter(pk__any_of=ids[start : start + 1000], status=S.PENDING).update(updated_at=now)
    return ids


def stale_deliveries_settle(*, now: datetime | None = None) -> Settled:
    """End stale ``sending`` rows as interrupted (their worker died between
    claim and answer: the message may have gone out, so it is never simply
    sent again; see ``reconcile.interrupted_record``), and return pending
    rows whose task was lost so the caller enqueues them again (the
    ``deliveries_sweep`` task does), with the unanswered sends a lookup
    found missing (``reconcile``). Idempotent; safe to run twice at once."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.DIGEST_SENDING_TIMEOUT_SECONDS)
    interrupted = interrupted_record(stale=stale, now=now)
    reconciled = deliveries_reconcile(now=now)
    lost = now - timedelta(seconds=settings.DIGEST_PENDING_REQUEUE_SECONDS)
    requeue = pending_take(
        deliveries=Delivery.objects.filter(updated_at__lt=lost)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
        now=now,
    )
    if interrupted or requeue:
        log.warning("sweep: %s interrupted, %s re-enqueued", interrupted, len(requeue))
    return Settled(interrupted=interrupted, requeued=[*requeue, *reconciled.resend], reconciled=reconciled)
