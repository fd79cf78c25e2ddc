"""Getting the confirmation and welcome emails out: never lost, never twice.

The database says what is owed:
- a confirmation while ``confirmation_requested_at`` is set and
  ``confirmation_sent_at`` is empty (pending readers, and unsubscribed readers
  who signed up again);
- a welcome while a freshly confirmed, active reader has no ``welcome_sent_at``.

The services record what is owed; the interface that called them (a view,
an admin action) enqueues a Celery task for the one reader after the
transaction commits (``subscribers.tasks.confirmation_enqueue`` and
``welcome_enqueue``). If the broker is down the enqueue fails quietly (the
request still succeeds) and the beat sweep, every few minutes, sends whatever
is owed and older than a short grace period.

Both the task and the sweep *claim* an email with a conditional UPDATE that
stamps the ``*_sent_at`` column; only the one caller whose UPDATE changed the
row sends. So a redelivered task (acks_late), a task racing the sweep, or two
sweeps never send twice.

Trade-off, chosen on purpose: at most once. The claim is committed before
the provider is called. If sending raises (provider refused the request or
could not be reached) the claim is released and the sweep tries again. If the
process dies between claim and hand-over (killed worker, power loss) the
email is not retried: we prefer that rare loss over a duplicate, because the
reader can always ask again — submitting the form again, or "send me a new
link" on the confirmation page, owes a fresh email.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.utils import timezone

from subscribers.emails import confirmation_send, welcome_send
from subscribers.models import Subscriber
from subscribers.tokens import CONFIRM_MAX_AGE

logger = logging.getLogger(__name__)

# A welcome older than this is no longer worth sending late.
WELCOME_MAX_AGE = timedelta(days=2)
OWED_CONFIRMATION_STATUSES = (Subscriber.Status.PENDING, Subscriber.Status.UNSUBSCRIBED)


def confirmation_deliver(*, subscriber_id: int) -> bool:
    """Send the owed confirmation email, at most once (see the module doc).

    Returns True if this call sent it. Safe to call any number of times and
    concurrently. Raises what sending raised, after releasing the claim.
    """
    now = timezone.now()
    claimed = Subscriber.objects.filter(
        pk=subscriber_id,
        status__in=OWED_CONFIRMATION_STATUSES,
        confirmation_requested_at__isnull=False,
        confirmation_sent_at__isnull=True,
    ).update(confirmation_sent_at=now)
    if claimed != 1:
        return False
    subscriber = Subscriber.objects.get(pk=subscriber_id)
    try:
        sent = confirmation_send(subscriber=subscriber)
    except AnymailRecipientsRefused:
        # The provider will never take this address: retrying cannot help.
        logger.warning("confirmation for subscriber %s refused by the provider", subscriber_id)
        return False
    except Exception:
        _release(subscriber_id, "confirmation_sent_at", now)
        raise
    if not sent:
        # Suppressed meanwhile: the request is dropped, not retried.
        Subscriber.objects.filter(pk=subscriber_id).update(
            confirmation_requested_at=None, confirmation_sent_at=None
        )
        return False
    logger.info("confirmation sent to subscriber %s", subscriber_id)
    return True


def welcome_deliver(*, subscriber_id: int) -> bool:
    """Send the owed welcome email, at most once. Returns True if this call
    sent it. Safe to call any number of times and concurrently."""
    now = timezone.now()
    claimed = Subscriber.objects.filter(
        pk=subscriber_id,
        status=Subscriber.Status.ACTIVE,
        confirmed_at__isnull=False,
        welcome_sent_at__isnull=True,
    ).update(welcome_sent_at=now)
    if claimed != 1:
        return False
    subscriber = Subscriber.objects.get(pk=subscriber_id)
    try:
        sent = welcome_send(subscriber=subscriber)
    except AnymailRecipientsRefused:
        logger.warning("welcome for subscriber %s refused by the provider", subscriber_id)
        return False
    except Exception:
        _release(subscriber_id, "welcome_sent_at", now)
        raise
    if sent:
        logger.info("welcome sent to subscriber %s", subscriber_id)
    # Not sent means suppressed: the claim stays, a welcome is no longer owed.
    return sent


def _release(subscriber_id: int, column: str, claimed_at: datetime) -> None:
    # Only our own claim is released, never a newer one.
    Subscriber.objects.filter(pk=subscriber_id, **{column: claimed_at}).update(**{column: None})


def subscribers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Send confirmation and welcome emails that are owed and older than the
    grace period (``SUBSCRIBERS_SWEEP_GRACE_SECONDS``), up to
    ``SUBSCRIBERS_SWEEP_BATCH`` of each, newest first. Run by beat;
    idempotent; one failing address does not stop the others. Returns how
    many of each were sent.

    A CSV import's pending readers are owed their confirmation here, with no
    task of their own: a run sends a batch, so 100,000 of them go out over
    hours (``SUBSCRIBERS_SWEEP_BATCH`` every ``SUBSCRIBERS_SWEEP_EVERY_SECONDS``)
    instead of filling the queue ahead of the morning's digests. Newest
    first, so a web signup whose task was lost is not stuck behind them."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS)
    batch = settings.SUBSCRIBERS_SWEEP_BATCH
    confirm_ids = Subscriber.objects.filter(
        status__in=OWED_CONFIRMATION_STATUSES,
        confirmation_sent_at__isnull=True,
        confirmation_requested_at__lte=cutoff,
        # Older requests are stale: the reader has long given up on them.
        confirmation_requested_at__gte=now - CONFIRM_MAX_AGE,
    ).order_by("-confirmation_requested_at", "-pk").values_list("pk", flat=True)[:batch]
    welcome_ids = Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        welcome_sent_at__isnull=True,
        confirmed_at__lte=cutoff,
        confirmed_at__gte=now - WELCOME_MAX_AGE,
    ).order_by("-confirmed_at", "-pk").values_list("pk", flat=True)[:batch]
    counts = {"confirmations": 0, "welcomes": 0}
    for key, deliver, ids in (
        ("confirmations", confirmation_deliver, list(confirm_ids)),
        ("welcomes", welcome_deliver, list(welcome_ids)),
    ):
        for subscriber_id in ids:
            try:
                counts[key] += int(deliver(subscriber_id=subscriber_id))
            except Exception:  # logged; the next sweep retries this one
                logger.exception("sweep: sending %s to subscriber %s failed", key, subscriber_id)
    if any(counts.values()):
        logger.info("sweep sent %(confirmations)s confirmations and %(welcomes)s welcomes", counts)
    return counts
