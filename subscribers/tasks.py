"""Celery tasks: take ids, call the core, own nothing else.

Retries are the sweep's job (``subscribers.confirmations``): a failed send
releases its claim and the next sweep picks it up, so these tasks never
retry themselves and are safe to run twice (acks_late).
"""

from __future__ import annotations

from celery import shared_task

from subscribers.confirmations import confirmation_deliver, subscribers_sweep, welcome_deliver


@shared_task(ignore_result=True)
def send_confirmation(subscriber_id: int) -> None:
    """Send the owed confirmation email, at most once."""
    confirmation_deliver(subscriber_id=subscriber_id)


@shared_task(ignore_result=True)
def send_welcome(subscriber_id: int) -> None:
    """Send the owed welcome email, at most once."""
    welcome_deliver(subscriber_id=subscriber_id)


@shared_task(ignore_result=True)
def sweep() -> None:
    """Run by beat: send confirmation and welcome emails whose task never ran."""
    subscribers_sweep()
