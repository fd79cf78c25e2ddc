"""The whole pipeline in one process, for ``manage.py send_digests``: plan
the Deliveries, then send them chunk by chunk (the same ``deliveries_send``
the Celery tasks call), waiting out transient failures until every Delivery
is sent, failed or skipped.

The edition's Deliveries still pending from before (a run that was killed,
a task that was lost) are sent too: running the command again after a
crash finishes the job. They are taken as the sweep's requeue takes them
(``pending_take``), and each is claimed before it is sent, so the command,
the workers and the sweep at once still send each digest once. Rows in
flight (``sending``) or finished are never touched."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from newsletter.digest.schedule import addresses_q, chunks, deliveries_plan
from newsletter.digest.send import ChunkOutcome, deliveries_send, pending_take
from newsletter.models import Delivery, Edition
from subscribers.models import Subscriber
from subscribers.suppression import is_suppressed


@dataclass
class RunReport:
    edition: Edition | None
    planned: int = 0
    resumed: int = 0  # pending from before this run
    outcome: ChunkOutcome = field(default_factory=ChunkOutcome)
    reason: str = ""  # why nothing was planned
    failures: Counter = field(default_factory=Counter)  # reason -> count
    skips: Counter = field(default_factory=Counter)
    left_pending: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if self.edition is None:
            return f"nothing to send: {self.reason}"
        o = self.outcome
        line = (
            f"edition {self.edition.date:%Y-%m-%d}: sent {len(o.sent)}, skipped {len(o.skipped)}, "
            f"failed {len(o.failed)}"
        )
        if self.resumed:
            line = f"resumed {self.resumed} pending from before; " + line
        if o.uncertain:
            line += f", uncertain {len(o.uncertain)} (no answer: the sweep asks the provider)"
        if o.busy:
            line += f", left to other workers {len(o.busy)}"
        if self.left_pending:
            line += f", still pending {len(self.left_pending)} (no progress; workers will retry)"
        return line


def why_not_due(*, email: str, edition: Edition) -> str:
    """Plain words on why a reader got no Delivery (for --email)."""
    subscriber = Subscriber.objects.filter(email__iexact=email.strip()).first()
    if subscriber is None:
        return f"no subscriber has the address {email}"
    if subscriber.status != Subscriber.Status.ACTIVE:
        return f"{email} is {subscriber.get_status_display().lower()}"
    if subscriber.paused:
        return f"{email} has paused their digests"
    if is_suppressed(subscriber.email):
        return f"{email} is on the suppression list"
    existing = Delivery.objects.filter(subscriber=subscriber, edition=edition).first()
    if existing is not None:
        detail = f" ({existing.reason})" if existing.reason else ""
        return f"{email} already has a digest for {edition.date:%Y-%m-%d}: {existing.status}{detail}"
    return f"{email} is not due yet (their hour or day has not come; use --now)"


def _resume(*, edition: Edition, emails: list[str] | None, planned: list[int]) -> list[int]:
    """The edition's pending Deliveries this run did not plan (of these
    readers only, with ``emails``)."""
    rows = Delivery.objects.filter(edition=edition)
    if emails:
        rows = rows.filter(addresses_q(emails, path="subscriber__email"))
    mine = set(planned)
    return [pk for pk in pending_take(deliveries=rows, now=timezone.now()) if pk not in mine]


def digests_run(
    *,
    edition_date: date | None = None,
    emails: list[str] | None = None,
    now: bool = False,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Plan and send at once. Sends mail. Safe next to running workers: every
    row is claimed before it is sent, so nothing goes out twice."""
    plan = deliveries_plan(edition_date=edition_date, emails=emails, ignore_schedule=now)
    report = RunReport(edition=plan.edition, planned=len(plan.delivery_ids), reason=plan.reason)
    if plan.edition is None:
        return report
    resumed = _resume(edition=plan.edition, emails=emails, planned=plan.delivery_ids)
    report.resumed = len(resumed)
    if not plan.delivery_ids and not resumed and emails:
        report.reason = "; ".join(why_not_due(email=e, edition=plan.edition) for e in emails)
    pending = sorted([*plan.delivery_ids, *resumed])
    total = len(pending)
    finished = 0
    idle_rounds = 0
    while pending:
        deferred: dict[int, datetime] = {}
        before = finished
        for chunk in chunks(pending):
            outcome = deliveries_send(delivery_ids=chunk)
            report.outcome.sent += outcome.sent
            report.outcome.skipped += outcome.skipped
            report.outcome.failed += outcome.failed
            report.outcome.uncertain += outcome.uncertain
            report.outcome.busy += outcome.busy
            deferred.update(outcome.deferred)
            finished += (len(outcome.sent) + len(outcome.skipped) + len(outcome.failed)
                         + len(outcome.uncertain) + len(outcome.busy))
            if progress:
                progress(finished, total)
        pending = sorted(deferred)
        idle_rounds = idle_rounds + 1 if finished == before else 0
        if pending and idle_rounds >= settings.DIGEST_MAX_ATTEMPTS:
            # No progress for a while (the mail server is down?): stop here.
            # The rows stay pending; the workers' sweep takes them up later.
            report.left_pending = pending
            break
        if pending:
            wait = (min(deferred.values()) - timezone.now()).total_seconds()
            sleep(max(0.0, wait))
    ids = report.outcome.failed + report.outcome.skipped
    for status, reason in Delivery.objects.filter(pk__in=ids).values_list("status", "reason"):
        (report.failures if status == Delivery.Status.FAILED else report.skips)[reason] += 1
    return report
