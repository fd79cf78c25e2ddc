"""The anymail tracking-signal receiver: an interface, like a view. It stores
the event and enqueues its processing after commit; nothing else."""

from __future__ import annotations

from functools import partial

from anymail.signals import tracking
from django.db import DatabaseError, transaction
from django.dispatch import receiver

from subscribers.provider_events.processing import provider_event_record
from subscribers.tasks import provider_event_enqueue


class ProviderEventError(RuntimeError):
    """Storing an event failed for a reason other than the payload or the
    database: a bug. Kept distinct so the webhook answers 500 and the
    provider retries, instead of the 400 a malformed payload gets."""


@receiver(tracking, dispatch_uid="subscribers.provider_event_received")
def provider_event_received(sender, event, esp_name, **kwargs):
    try:
        stored = provider_event_record(event=event, esp_name=esp_name)
    except DatabaseError:
        raise  # 500: the provider retries later
    except Exception as exc:
        raise ProviderEventError(f"could not store a {esp_name} event") from exc
    if stored is not None:
        transaction.on_commit(partial(provider_event_enqueue, stored.pk))
