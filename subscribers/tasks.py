"""Celery tasks: take ids, call the core, own nothing else; and the helpers
the interfaces (views, admin actions) call to enqueue them after commit.

Retries are the sweeps' job (``subscribers.confirmations`` and
``subscribers.provider_events.processing``): a failed run leaves its work claimable and the next
sweep picks it up, so these tasks never retry themselves and are safe to run
twice (acks_late).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from subscribers.confirmations import (
    confirmation_deliver,
    preferences_link_deliver,
    subscribers_sweep,
    welcome_deliver,
)
from subscribers.importing import imports_stalled, subscriber_import_run
from subscribers.provider_events.processing import provider_event_process, provider_events_sweep
from subscribers.services import Owed

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_confirmation(subscriber_id: int) -> None:
    """Send the owed confirmation email, at most once."""
    confirmation_deliver(subscriber_id=subscriber_id)


@shared_task(ignore_result=True)
def send_welcome(subscriber_id: int) -> None:
    """Send the owed welcome email, at most once."""
    welcome_deliver(subscriber_id=subscriber_id)


@shared_task(ignore_result=True)
def send_preferences_link(subscriber_id: int) -> None:
    """Send the preferences link an active reader asked for, at most once."""
    preferences_link_deliver(subscriber_id=subscriber_id)


@shared_task(ignore_result=True)
def sweep() -> None:
    """Run by beat: send confirmation, welcome and preferences-link emails
    whose task never ran, and hand imports whose run was lost to a worker
    again."""
    subscribers_sweep()
    for import_id in imports_stalled():
        import_enqueue(import_id=import_id)


@shared_task(ignore_result=True)
def run_import(import_id: int) -> None:
    """Run a stored CSV import to its end. Safe to run twice, even at once
    (acks_late); a run whose worker died is resumed by the sweep."""
    subscriber_import_run(import_id=import_id)


def _enqueue(task, object_id: int) -> None:
    try:
        task.delay(object_id)
    except Exception:  # broker unreachable: what is owed stays in the database
        logger.warning(
            "could not enqueue %s for %s (broker unavailable?); the sweep will do it",
            task.name, object_id, exc_info=True,
        )


def confirmation_enqueue(*, subscriber_id: int) -> None:
    """Enqueue the owed confirmation email once the current transaction
    commits. Never raises for a dead broker: the sweep sends it instead."""
    transaction.on_commit(lambda: _enqueue(send_confirmation, subscriber_id))


def welcome_enqueue(*, subscriber_id: int) -> None:
    """Enqueue the owed welcome email once the current transaction commits.
    Never raises for a dead broker: the sweep sends it instead."""
    transaction.on_commit(lambda: _enqueue(send_welcome, subscriber_id))


def preferences_link_enqueue(*, subscriber_id: int) -> None:
    """Enqueue the preferences link an active reader asked for, once the
    current transaction commits. Never raises for a dead broker: the sweep
    sends it instead."""
    transaction.on_commit(lambda: _enqueue(send_preferences_link, subscriber_id))


def owed_enqueue(*, owed: Owed | None, subscriber_id: int | None) -> None:
    """Enqueue the email a reader's request left owed (a signup, "send me a
    new link"), if any."""
    if owed is Owed.CONFIRMATION:
        confirmation_enqueue(subscriber_id=subscriber_id)
    elif owed is Owed.PREFERENCES_LINK:
        preferences_link_enqueue(subscriber_id=subscriber_id)


def import_enqueue(*, import_id: int) -> None:
    """Enqueue a stored import once the current transaction commits. Never
    raises for a dead broker: the sweep hands it to a worker instead."""
    transaction.on_commit(lambda: _enqueue(run_import, import_id))


@shared_task(ignore_result=True)
def process_provider_event(event_id: int) -> None:
    """Apply one stored provider event. Idempotent (processing twice is a
    no-op); on failure the sweep retries it, so no Celery retries here."""
    provider_event_process(event_id=event_id)


@shared_task(ignore_result=True)
def sweep_provider_events() -> None:
    """Run by beat: processes events whose task was lost. Idempotent."""
    provider_events_sweep()


def provider_event_enqueue(event_id: int) -> None:
    """Hand an event to a worker without ever failing the webhook: if the
    broker is unreachable the event is already stored and the sweep will
    process it. ``retry=False`` so a dead broker costs one attempt, not a
    webhook timeout."""
    try:
        process_provider_event.apply_async((event_id,), retry=False)
    except Exception as exc:
        logger.warning(
            "could not enqueue provider event %s (%s); the sweep will process it",
            event_id, type(exc).__name__,
        )
