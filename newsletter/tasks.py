"""Celery tasks: thin wrappers that take ids, re-fetch state and call the core."""

from __future__ import annotations

import socket

from celery import shared_task
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
