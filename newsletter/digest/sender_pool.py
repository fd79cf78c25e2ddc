"""Handing a chunk's assembled digests to the provider, many at a time.

A provider answers each API call in tens to hundreds of milliseconds; one
message at a time, a worker process would send ~10 a second at 100 ms. Here
a chunk's messages go out through a small pool of threads (``concurrency``,
``DIGEST_SEND_CONCURRENCY``), each with its own reused backend connection
(anymail's HTTP session, or SMTP connection). The threads only wait on the
network and on the shared rate limit; every database write stays in the
calling thread, batched per group of messages:

* one ``UPDATE ... WHERE id IN (...) AND status='pending' RETURNING id``
  claims a group (pending -> sending, attempts + 1): a row another task holds
  is not returned, so it is not sent (at most once, as before);
* one UPDATE records every accepted message of the group as sent, with its
  provider message id; failures (rare) are recorded one by one exactly as a
  single send would be.

A group is as large as the pool: every claimed message is handed to a thread
at once, so a worker killed mid-chunk leaves ``sending`` (ended
``interrupted`` by the sweep) only what was really in flight. Larger groups
would save claim queries but turn claimed-yet-unsent readers into losses.

When the provider says slow down (429), the threads stop taking messages;
claimed messages that did not go out are handed back (pending, the attempt
not counted, not before the provider's time) with the rest of the chunk.
"""

from __future__ import annotations

import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db
from django.db.models import F
from django.utils import timezone

from newsletter.models import Delivery
from newsletter.ratelimit import send_limiter_get

S = Delivery.Status
GROUP_PER_THREAD = 1
MIN_GROUP = 1


@dataclass
class Attempt:
    item: object  # send._Prepared
    sent: int = 0
    exc: Exception | None = None
    verdict: object = None  # send.Verdict
    not_tried: bool = False  # the pool stopped before this one went out


def deliveries_claim(*, ids: list[int], now: datetime) -> set[int]:
    """Claim the pending rows among ``ids`` whose retry time has come, in one
    statement. Returns the ids claimed by this call (and by no one else)."""
    if not ids:
        return set()
    table = db.ops.quote_name(Delivery._meta.db_table)
    stamp = db.ops.adapt_datetimefield_value(now)
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1, updated_at = %s "  # noqa: S608
        f"WHERE id IN ({marks}) AND status = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
        "RETURNING id"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [S.SENDING, stamp, stamp, *ids, S.PENDING, stamp])
        return {row[0] for row in cursor.fetchall()}


def selections_freeze(*, selections: dict[int, tuple[list[str], int]], now: datetime) -> set[int]:
    """Store each pending row's chosen papers ({id: (arXiv ids, how many are
    "For you")}) in one statement, so a retry re-sends the same digest.
    Returns the ids stored (rows no longer pending are left alone)."""
    if not selections:
        return set()
    table = db.ops.quote_name(Delivery._meta.db_table)
    papers = "CAST(papers AS jsonb)" if db.vendor == "postgresql" else "papers"
    values = ", ".join(["(%s, %s, %s)"] * len(selections))
    sql = (
        f"WITH v(id, papers, n) AS (VALUES {values}) "  # noqa: S608
        f"UPDATE {table} SET paper_ids = (SELECT {papers} FROM v WHERE v.id = {table}.id), "
        f"for_you_count = (SELECT n FROM v WHERE v.id = {table}.id), updated_at = %s "
        "WHERE id IN (SELECT id FROM v) AND status = %s RETURNING id"
    )
    params = [x for pk, (ids, n) in selections.items() for x in (pk, json.dumps(ids), n)]
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, db.ops.adapt_datetimefield_value(now), S.PENDING])
        return {row[0] for row in cursor.fetchall()}


def _sent_record(attempts: list[Attempt]) -> None:
    """Every accepted message of a group -> sent, with its message id, in one UPDATE."""
    from newsletter.digest.send import INTERRUPTED, database_retrying

    if not attempts:
        return
    ids = {}
    for attempt in attempts:
        status = getattr(attempt.item.message, "anymail_status", None)
        ids[attempt.item.delivery.pk] = str(getattr(status, "message_id", "") or "")[:200]
    # A very slow answer may have let the sweep end the row as interrupted
    # meanwhile; the provider did accept it, so it is recorded as sent.
    # (Raw SQL: Django's CASE for a hundred ids costs more to build than to run.)
    table = db.ops.quote_name(Delivery._meta.db_table)
    stamp = db.ops.adapt_datetimefield_value(timezone.now())
    values = ", ".join(["(%s, %s)"] * len(ids))
    sql = (
        f"WITH v(id, mid) AS (VALUES {values}) "  # noqa: S608
        f"UPDATE {table} SET status = %s, provider_message_id = (SELECT mid FROM v WHERE v.id = {table}.id), "
        "sent_at = %s, reason = '', error = '', next_attempt_at = NULL, updated_at = %s "
        "WHERE id IN (SELECT id FROM v) AND (status = %s OR (status = %s AND reason = %s))"
    )
    params = [x for pair in ids.items() for x in pair]

    def write() -> None:
        with db.cursor() as cursor:
            cursor.execute(sql, [*params, S.SENT, stamp, stamp, S.SENDING, S.FAILED, INTERRUPTED])

    database_retrying(write, what=f"{len(ids)} accepted digests")


class _Connections:
    """One backend connection per thread: the caller's for the first thread,
    new ones (opened lazily, closed by ``close``) for the others."""

    def __init__(self, first):
        self._spare = [first]
        self._opened: list = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def get(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._spare.pop() if self._spare else None
            if conn is None:
                conn = get_connection(timeout=settings.EMAIL_TIMEOUT)
                conn.open()
                with self._lock:
                    self._opened.append(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        for conn in self._opened:
            # Closing a spent connection must not fail the chunk.
            with contextlib.suppress(Exception):
                conn.close()


def prepared_send(*, prepared: list, outcome, connection, concurrency: int | None = None) -> None:
    """Claim, send and record ``prepared`` (send._Prepared items) over
    ``connection`` (opened) and up to ``concurrency - 1`` more connections.
    Fills ``outcome``. Sends each claimed message at most once."""
    from newsletter.digest.send import _finish, _record_failure, failure_classify

    concurrency = max(1, concurrency or settings.DIGEST_SEND_CONCURRENCY)
    group = max(MIN_GROUP, concurrency * GROUP_PER_THREAD)
    limiter = send_limiter_get()
    stopped = threading.Event()
    connections = _Connections(connection)

    def deliver(item) -> Attempt:
        if stopped.is_set():
            return Attempt(item, not_tried=True)
        if limiter is not None:
            limiter.acquire()
            if stopped.is_set():
                return Attempt(item, not_tried=True)
        try:
            return Attempt(item, sent=connections.get().send_messages([item.message]))
        except Exception as exc:
            verdict = failure_classify(exc=exc, message=item.message, email=item.delivery.subscriber.email)
            if verdict.stop_chunk:
                stopped.set()
            return Attempt(item, exc=exc, verdict=verdict)

    stop_until: datetime | None = None
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="digest-send") as pool:
            for start in range(0, len(prepared), group):
                items = prepared[start : start + group]
                claimed = deliveries_claim(ids=[p.delivery.pk for p in items], now=timezone.now())
                outcome.busy += [p.delivery.pk for p in items if p.delivery.pk not in claimed]
                items = [p for p in items if p.delivery.pk in claimed]
                for p in items:
                    p.delivery.status = S.SENDING
                results = list(pool.map(deliver, items))
                _sent_record([a for a in results if a.sent])
                outcome.sent += [a.item.delivery.pk for a in results if a.sent]
                for attempt in results:
                    delivery = attempt.item.delivery
                    if attempt.exc is not None:
                        stop = _record_failure(
                            delivery, attempt.verdict, attempt.exc, delivery.attempts + 1, outcome
                        )
                        if stop is not None:
                            stop_until = max(stop_until or stop, stop)
                    elif (
                        not attempt.sent and not attempt.not_tried
                        and _finish(delivery, S.FAILED, reason="the email backend did not send it")
                    ):
                        outcome.failed.append(delivery.pk)
                if stopped.is_set():
                    stop_until = stop_until or timezone.now() + timedelta(seconds=1)
                    _hand_back(
                        claimed=[a.item.delivery.pk for a in results if a.not_tried],
                        rest=[p.delivery.pk for p in prepared[start + group :]],
                        until=stop_until, outcome=outcome,
                    )
                    break
    finally:
        connections.close()


def _hand_back(*, claimed: list[int], rest: list[int], until: datetime, outcome) -> None:
    """The provider asked us to slow down: messages not tried go back to
    pending until ``until``; an attempt claimed but not made is not counted."""
    now = timezone.now()
    if claimed:
        Delivery.objects.filter(pk__in=claimed, status=S.SENDING).update(
            status=S.PENDING, attempts=F("attempts") - 1, next_attempt_at=until, updated_at=now
        )
    if rest:
        Delivery.objects.filter(pk__in=rest, status=S.PENDING).update(next_attempt_at=until, updated_at=now)
    outcome.deferred.update(dict.fromkeys([*claimed, *rest], until))
