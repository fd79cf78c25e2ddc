"""Handing a chunk's assembled digests to the provider, many at a time.

A provider answers each API call in tens to hundreds of milliseconds; one
message at a time, a worker process would send ~10 a second at 100 ms. Here
messages go out through sending threads (``DIGEST_SEND_CONCURRENCY``) that
live as long as the process, each with its own backend connection reused
from one chunk to the next (anymail's HTTP session with its kept-alive
connection, or an SMTP connection): no new TCP/TLS handshake per chunk. The
threads only wait on the network and on the shared rate limit; every
database write stays in the chunk's own thread.

A chunk flows through a *window* of at most ``concurrency`` digests: the
chunk's thread assembles digests and offers them to the window while the
threads send the ones before; as answers come back, a batch is recorded and
as many new digests are claimed as the batch freed, so the threads never
wait for the slowest message of a group. Per batch (half the
window) one statement on PostgreSQL (two elsewhere):

* an UPDATE records every accepted message of the batch as sent, with its
  provider message id (on PostgreSQL as the statement's WITH clause);
  failures (rare) are recorded one by one exactly as a single send would be;
* an ``UPDATE ... AND status = 'pending' RETURNING id`` claims the next
  digests (pending -> sending, attempts + 1) and freezes each one's chosen
  papers on its row (a retry re-sends the same digest): a row another task
  holds is not returned, so it is not sent (at most once).

Claimed rows (``sending``) never outnumber the window: a worker killed
mid-chunk leaves ``sending`` (ended ``interrupted`` by the sweep) only what
was really in flight.

When the provider says slow down (429), or the mail server cannot be
reached, the threads stop taking messages; claimed messages that did not go
out are handed back (pending, the attempt not counted, not before the
provider's time) with the rest of the chunk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.signals import setting_changed
from django.db import connection as db
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from config.lib.lookups import pg_array
from newsletter.digest.failures import (
    INTERRUPTED,
    Verdict,
    database_retrying,
    delivery_finish,
    failure_classify,
    failure_record,
    retry_delay,
)
from newsletter.digest.ratelimit import send_limiter_get
from newsletter.digest.reconcile import unanswered_record
from newsletter.models import Delivery

log = logging.getLogger(__name__)
S = Delivery.Status
# A kept-alive connection unused this long is replaced before the next send:
# providers close idle connections, and a send racing that close would fail
# after the request may have been written (ambiguous: never retried).
CONNECTION_IDLE_SECONDS = 20.0


@dataclass
class Attempt:
    item: object  # send.Prepared
    sent: int = 0
    exc: Exception | None = None
    verdict: Verdict | None = None
    not_tried: bool = False  # the window stopped before this one went out


# --- the process's sending threads ------------------------------------------------------


class _ThreadState(threading.local):
    conn = None
    generation = -1
    used = 0.0


class SendThreads:
    """Threads that take send jobs from one queue, each with its own backend
    connection. Started on first use in each process (a forked Celery child
    gets its own), grown when a caller wants more, never shut down (daemons)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = -1
        self._threads: list[threading.Thread] = []
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._state = _ThreadState()
        # Bumped when the email settings change (tests, mostly): every thread
        # then opens a new connection before its next send.
        self.generation = 0

    def ensure(self, size: int) -> None:
        with self._lock:
            if self._pid != os.getpid():  # threads do not survive a fork
                self._pid, self._threads, self._jobs = os.getpid(), [], queue.SimpleQueue()
            while len(self._threads) < size:
                name = f"digest-send-{len(self._threads)}"
                thread = threading.Thread(target=self._run, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, job) -> None:
        """``job(connection_get)`` runs on a sending thread."""
        self._jobs.put(job)

    def _connection(self):
        state, now = self._state, time.monotonic()
        if state.conn is not None and (state.generation != self.generation
                                       or now - state.used > CONNECTION_IDLE_SECONDS):
            with contextlib.suppress(Exception):  # a spent connection must not fail a send
                state.conn.close()
            state.conn = None
        if state.conn is None:
            conn = get_connection(timeout=settings.EMAIL_TIMEOUT)
            conn.open()
            state.conn, state.generation = conn, self.generation
        state.used = now
        return state.conn

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job(self._connection)
            except BaseException:  # a job reports its own errors; this keeps the thread alive
                log.exception("a send job failed")


_threads = SendThreads()


@receiver(setting_changed)
def _email_settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith(("EMAIL", "ANYMAIL", "POSTMARK", "MAILGUN", "SENDGRID", "BREVO", "AMAZON")):
        _threads.generation += 1


# --- the database side: claims and results, a batch per statement ---------------------------

# A status test the planner cannot answer from an index: the claims and
# records find their rows by primary key only. Otherwise PostgreSQL may take
# the (status, claimed_at) index for "status = 'sending'" (there are never
# many): but every digest passes through that status, and until vacuum each
# leaves a dead index entry that a bitmap scan reads again every time, so a
# batch's cost grew with the number of digests sent before it.
BY_KEY_ONLY = "(CASE WHEN {} THEN 1 ELSE 0 END) = 1"


def record_and_claim(*, accepted: dict[int, str], selections: dict[int, tuple[list[str], int]],
                     now: datetime) -> set[int]:
    """Record ``accepted`` ({id: provider message id}) as sent, then claim
    the pending rows among ``selections`` ({id: (arXiv ids, how many are
    "For you")}) whose retry time has come, freezing each one's papers on
    the row. Returns the ids claimed by this call (and by no one else).

    On PostgreSQL both go in one statement (the record as a WITH clause):
    half the statements, commits and round trips of a window. Writing the
    record survives a database restart of a few seconds (``database_retrying``);
    a claim in the same statement is then simply made again: a claim that did
    not commit changed nothing."""
    claimed: set[int] = set()
    what = f"{len(accepted)} accepted digests"

    def claim(sql: str, params: list) -> None:
        claimed.update(row[0] for row in _execute(sql, params, fetch=True))

    if accepted and selections and db.vendor == "postgresql":
        (sent_sql, sent_params), (claim_sql, claim_params) = (
            _sent_statement(accepted), _claim_statement(selections, now)
        )
        sql, params = f"WITH sent AS ({sent_sql}) {claim_sql}", [*sent_params, *claim_params]
        database_retrying(lambda: claim(sql, params), what=what)
        return claimed
    if accepted:
        database_retrying(lambda: _execute(*_sent_statement(accepted)), what=what)
    if selections:
        claim(*_claim_statement(selections, now))
    return claimed


def _execute(sql: str, params: list, *, fetch: bool = False) -> list:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else []


def _claim_statement(selections: dict[int, tuple[list[str], int]], now: datetime) -> tuple[str, list]:
    table = db.ops.quote_name(Delivery._meta.db_table)
    stamp = db.ops.adapt_datetimefield_value(now)
    rows = [(pk, ids, n) for pk, (ids, n) in selections.items()]
    with_v, source, params = _values_source(rows, columns={"id": "bigint", "papers": "jsonb", "n": "int"})
    sql = (
        f"{with_v}UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1, "  # noqa: S608
        f"updated_at = %s, paper_ids = v.papers, for_you_count = v.n "
        f"FROM {source} WHERE {table}.id = v.id AND {BY_KEY_ONLY.format(f'{table}.status = %s')} "
        f"AND ({table}.next_attempt_at IS NULL OR {table}.next_attempt_at <= %s) "
        f"RETURNING {table}.id"
    )
    head, tail = (params, []) if with_v else ([], params)
    return sql, [*head, S.SENDING, stamp, stamp, *tail, S.PENDING, stamp]


def _sent_statement(accepted: dict[int, str]) -> tuple[str, list]:
    """Every accepted message of a batch -> sent, with its message id. A very
    slow answer may have let the sweep end the row as interrupted (or
    uncertain) meanwhile; the provider did accept it, so it is recorded as sent."""
    table = db.ops.quote_name(Delivery._meta.db_table)
    stamp = db.ops.adapt_datetimefield_value(timezone.now())
    with_v, source, params = _values_source(list(accepted.items()), columns={"id": "bigint", "mid": "text"})
    in_state = f"{table}.status IN (%s, %s) OR ({table}.status = %s AND {table}.reason = %s)"
    sql = (
        f"{with_v}UPDATE {table} SET status = %s, provider_message_id = v.mid, "  # noqa: S608
        "sent_at = %s, reason = '', error = '', next_attempt_at = NULL, updated_at = %s "
        f"FROM {source} WHERE {table}.id = v.id AND {BY_KEY_ONLY.format(in_state)}"
    )
    head, tail = (params, []) if with_v else ([], params)
    return sql, [*head, S.SENT, stamp, stamp, *tail, S.SENDING, S.UNCERTAIN, S.FAILED, INTERRUPTED]


def _message_ids(attempts: list[Attempt]) -> dict[int, str]:
    ids = {}
    for attempt in attempts:
        status = getattr(attempt.item.message, "anymail_status", None)
        ids[attempt.item.row.pk] = str(getattr(status, "message_id", "") or "")[:200]
    return ids


def _values_source(rows: list[tuple], *, columns: dict[str, str]) -> tuple[str, str, list]:
    """Rows as a table ``v`` with ``columns`` ({name: PostgreSQL type}) to
    join in an UPDATE: (a WITH clause or "", what goes after FROM, the
    parameters in order). Lists in a row go as JSON text.

    On PostgreSQL, one array parameter per column through ``unnest``: the
    statement's text is the same for any number of rows, so psycopg parses
    it once per process, and the planner knows how many rows there are (it
    does not for a function such as ``jsonb_to_recordset``). Elsewhere a
    VALUES list."""
    cols = [
        [json.dumps(v) for v in col] if isinstance(col[0], list) else col for col in zip(*rows, strict=True)
    ]
    if db.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in columns.values())
        source = f"unnest({arrays}) AS v({', '.join(columns)})"
        return "", source, [pg_array(col) for col in cols]
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    params = [v for row in zip(*cols, strict=True) for v in row]
    return f"WITH v({', '.join(columns)}) AS (VALUES {values}) ", "v", params


def hand_back(*, claimed: list[int], rest: list[int], until: datetime, error: str, outcome) -> None:
    """Digests not tried go back to pending until ``until``; an attempt
    claimed but not made is not counted."""
    now = timezone.now()
    fields = {"next_attempt_at": until, "updated_at": now}
    if error:
        fields["error"] = error[:4000]
    if claimed:
        Delivery.objects.filter(pk__in=claimed, status=S.SENDING).update(
            status=S.PENDING, attempts=F("attempts") - 1, **fields
        )
    if rest:
        Delivery.objects.filter(pk__in=rest, status=S.PENDING).update(**fields)
    outcome.deferred.update(dict.fromkeys([*claimed, *rest], until))


# --- the window ---------------------------------------------------------------------------------


class Window:
    """At most ``size`` of a chunk's digests claimed at once; see the module
    docstring. Use: ``offer`` each prepared digest, then ``finish``."""

    def __init__(self, *, outcome, size: int | None = None):
        self.outcome = outcome
        self.size = max(1, size or settings.DIGEST_SEND_CONCURRENCY)
        self.batch = max(1, self.size // 2)
        self.ready: deque = deque()  # prepared, not claimed yet
        self.held = 0  # claimed, answer not recorded yet
        self.answered: list[Attempt] = []
        self.untried: list[int] = []  # claimed, then not sent because the window stopped
        self.stopped = threading.Event()
        self.stop_until: datetime | None = None
        self.stop_error = ""
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        # The chunk's thread sleeps until this many answers are waiting: a
        # batch's worth, not one wake-up (and GIL hand-off) per answer.
        self._wanted = 1
        self._enough = threading.Event()
        self._limiter = send_limiter_get()
        _threads.ensure(self.size)

    def offer(self, item) -> None:
        self.ready.append(item)
        if len(self.ready) >= self.batch:
            self._pump(block=False)

    def finish(self) -> list:
        """Send everything offered (unless stopped); returns the offered
        digests that were never claimed (the window stopped first)."""
        while (self.ready and not self.stopped.is_set()) or self.held:
            self._pump(block=True)
        left, self.ready = list(self.ready), deque()
        return left

    # A job for a sending thread.
    def _deliver(self, item, connection_get) -> None:
        try:
            attempt = self._attempt(item, connection_get)
        except Exception as exc:  # the chunk's thread waits for an answer to every claimed digest
            log.exception("delivery %s: unexpected error around the send", item.row.pk)
            reason = f"could not send: {exc.__class__.__name__}: {exc}"
            attempt = Attempt(item, exc=exc, verdict=Verdict("failed", reason))
        self._answers.put(attempt)
        if self._answers.qsize() >= self._wanted:
            self._enough.set()

    def _attempt(self, item, connection_get) -> Attempt:
        if self.stopped.is_set():
            return Attempt(item, not_tried=True)
        if self._limiter is not None:
            self._limiter.acquire()
            if self.stopped.is_set():
                return Attempt(item, not_tried=True)
        try:
            connection = connection_get()
        except Exception as exc:  # e.g. the SMTP server is down: nothing was sent, try later
            self.stop_error = f"could not connect: {exc}"
            self.stop_until = timezone.now() + timedelta(seconds=retry_delay(attempts=1))
            self.stopped.set()
            return Attempt(item, not_tried=True)
        try:
            return Attempt(item, sent=connection.send_messages([item.message]))
        except Exception as exc:
            verdict = failure_classify(exc=exc, message=item.message, email=item.row.email)
            if verdict.stop_chunk:
                self.stopped.set()
            return Attempt(item, exc=exc, verdict=verdict)

    def _pump(self, *, block: bool) -> None:
        """Collect answers, record a batch of them, claim and hand out as many
        digests as the window has room for (one statement for both on
        PostgreSQL). ``block``: wait for an answer when nothing else can be done."""
        progressed = self._collect()
        in_flight = self.held - len(self.answered)
        answered: list[Attempt] = []
        if self.answered and (len(self.answered) >= self.batch or in_flight == 0 or self.stopped.is_set()):
            answered, self.answered = self.answered, []
            self.held -= len(answered)
        room = self.size - self.held
        items = []
        if self.ready and not self.stopped.is_set() and room >= min(self.batch, len(self.ready)) and room > 0:
            items = [self.ready.popleft() for _ in range(min(room, len(self.ready)))]
        if answered or items:
            accepted = [a for a in answered if a.sent]
            claimed = record_and_claim(
                accepted=_message_ids(accepted),
                selections={p.row.pk: (p.paper_ids, p.for_you_count) for p in items}, now=timezone.now(),
            )
            self._recorded(answered, accepted)
            self._hand_out(items, claimed)
            progressed = True
        in_flight = self.held - len(self.answered)
        if block and not progressed and in_flight:
            # Nothing can be recorded or claimed before a batch is answered
            # (or everything in flight is): wait for that many answers. Every
            # claimed digest is answered, so the wait always ends.
            self._wanted = min(in_flight, max(1, self.batch - len(self.answered)))
            self._enough.clear()
            if self._answers.qsize() < self._wanted:
                self._enough.wait()
            self._collect()

    def _collect(self) -> bool:
        got = False
        while True:
            try:
                self.answered.append(self._answers.get_nowait())
            except queue.Empty:
                return got
            got = True

    def _hand_out(self, items: list, claimed: set[int]) -> None:
        for item in items:
            if item.row.pk not in claimed:
                self.outcome.busy.append(item.row.pk)  # another task has it
                continue
            item.row.status = S.SENDING
            self.held += 1
            _threads.submit(lambda get, item=item: self._deliver(item, get))

    def _recorded(self, answered: list[Attempt], accepted: list[Attempt]) -> None:
        """The answers of a batch whose accepted messages were just recorded
        as sent: failures are recorded one by one, as a single send would be."""
        self.outcome.sent += [a.item.row.pk for a in accepted]
        for attempt in answered:
            row = attempt.item.row
            if attempt.not_tried:
                self.untried.append(row.pk)
            elif attempt.verdict is not None and attempt.verdict.unanswered:
                status = unanswered_record(row=row, reason=attempt.verdict.reason,
                                           error=f"{attempt.verdict.reason}\n{attempt.exc}")
                if status:
                    (self.outcome.uncertain if status == S.UNCERTAIN else self.outcome.failed).append(row.pk)
            elif attempt.exc is not None:
                stop = failure_record(row=row, verdict=attempt.verdict, exc=attempt.exc,
                                      attempts=row.attempts + 1, outcome=self.outcome)
                if stop is not None:
                    self.stop_until = max(self.stop_until or stop, stop)
            elif not attempt.sent and delivery_finish(
                row=row, status=S.FAILED, reason="the email backend did not send it"
            ):
                self.outcome.failed.append(row.pk)
