"""Operational helpers behind the admin's worker check."""

from __future__ import annotations

from django.db import transaction

from newsletter.models import WorkerPing


def worker_ping_request() -> WorkerPing:
    """Create a ping and enqueue it once the row is committed, so the worker
    never looks for a row that is not there yet."""
    from newsletter.tasks import ping

    row = WorkerPing.objects.create()
    transaction.on_commit(lambda: ping.delay(row.pk))
    return row


def worker_last_seen() -> WorkerPing | None:
    return WorkerPing.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()
