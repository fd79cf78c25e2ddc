"""Celery tasks: thin wrappers that take ids, re-fetch state and call the core."""

from __future__ import annotations

import socket

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from newsletter.models import WorkerPing


@shared_task(ignore_result=True)
def ping(ping_id: int) -> None:
    """Answer a WorkerPing. Idempotent: answering twice only moves the stamp."""
    WorkerPing.objects.filter(pk=ping_id).update(
        answered_at=timezone.now(), hostname=socket.gethostname()[:200]
    )


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Run by beat: records that a worker is alive, for the admin index."""
    now = timezone.now()
    WorkerPing.objects.create(requested_at=now, answered_at=now, hostname=socket.gethostname()[:200])
    # Keep the table small: one day of heartbeats is plenty.
    WorkerPing.objects.filter(requested_at__lt=now - timezone.timedelta(days=1)).delete()


@shared_task(ignore_result=True)
def digests_schedule() -> None:
    """Run by beat: create Deliveries for readers whose hour has come and
    enqueue them in chunks once committed. Safe to run twice at once."""
    from newsletter.digest.schedule import deliveries_plan

    plan = deliveries_plan()
    deliveries_enqueue(plan.delivery_ids)


@shared_task(ignore_result=True)
def deliveries_sweep() -> None:
    """Run by beat: end interrupted sends, re-enqueue digests whose task was lost."""
    from newsletter.digest.send import deliveries_sweep as sweep

    deliveries_enqueue(sweep().requeued)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def digests_send_chunk(self, delivery_ids: list[int]) -> None:
    """Send a chunk of digests. Idempotent (rows are claimed before sending),
    so a redelivered or duplicated task sends nothing twice. Digests that hit
    a transient failure come back in a retry of this task with only their
    ids; how often is bounded per digest in the database (DIGEST_MAX_ATTEMPTS)."""
    from newsletter.digest.send import deliveries_send

    outcome = deliveries_send(delivery_ids=delivery_ids)
    if outcome.deferred:
        wait = (min(outcome.deferred.values()) - timezone.now()).total_seconds()
        raise self.retry(args=[sorted(outcome.deferred)], countdown=max(0.0, wait))


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Enqueue chunk tasks once the current transaction commits."""
    from newsletter.digest.schedule import chunks

    for chunk in chunks(list(delivery_ids)):
        transaction.on_commit(lambda chunk=chunk: digests_send_chunk.delay(chunk))
