"""Readers, deliveries and event processing for the provider-event tests."""

from __future__ import annotations

import datetime as dt

from newsletter.models import Delivery, Edition
from subscribers.models import ProviderEvent, Subscriber
from subscribers.provider_events.processing import provider_event_process


def make_reader(email: str, *, status: str = Subscriber.Status.ACTIVE) -> Subscriber:
    return Subscriber.objects.create(email=email, status=status)


def make_delivery(reader: Subscriber, *, day: int = 20) -> Delivery:
    edition, _ = Edition.objects.get_or_create(date=dt.date(2026, 11, day))
    return Delivery.objects.create(
        subscriber=reader, edition=edition, status=Delivery.Status.SENT,
        provider_message_id="883953f4-6105-42a2-a16a-77a8eac79483",
    )


def process_pending() -> list[str]:
    """Run the processing core for every stored, unprocessed event, as the
    Celery task would (the task is a one-line wrapper around it)."""
    pending = ProviderEvent.objects.filter(processed_at__isnull=True).order_by("pk")
    return [provider_event_process(event_id=pk) for pk in pending.values_list("pk", flat=True)]


def reader_status(reader: Subscriber) -> str:
    return Subscriber.objects.values_list("status", flat=True).get(pk=reader.pk)
