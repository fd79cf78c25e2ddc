"""Event processing for the provider-event tests."""

from __future__ import annotations

from subscribers.models import ProviderEvent, Subscriber
from subscribers.provider_events.processing import provider_event_process


def process_pending() -> list[str]:
    """Run the processing core for every stored, unprocessed event, as the
    Celery task would (the task is a one-line wrapper around it)."""
    pending = ProviderEvent.objects.filter(processed_at__isnull=True).order_by("pk")
    return [provider_event_process(event_id=pk) for pk in pending.values_list("pk", flat=True)]


def reader_status(reader: Subscriber) -> str:
    return Subscriber.objects.values_list("status", flat=True).get(pk=reader.pk)
