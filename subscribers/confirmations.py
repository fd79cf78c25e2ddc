"""Getting the confirmation, welcome and preferences-link emails out: never
lost, never twice.

The database says what is owed:
- a confirmation while ``confirmation_requested_at`` is set and
  ``confirmation_sent_at`` is empty (pending readers, and unsubscribed readers
  who signed up again);
- a welcome while a freshly confirmed, active reader has no ``welcome_sent_at``;
- a preferences link while an active reader's ``preferences_link_requested_at``
  is set and ``preferences_link_sent_at`` is empty (they asked for a new one).

The services record what is owed; the interface that called them (a view,
an admin action) enqueues a Celery task for the one reader after the
transaction commits (``subscribers.tasks.confirmation_enqueue``,
``welcome_enqueue``, ``preferences_link_enqueue``). If the broker is down the
enqueue fails quietly (the request still succeeds) and the beat sweep, every
few minutes, sends whatever is owed and older than a short grace period.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from subscribers.emails import (
    PREFERENCES_LINK_STATUSES,
    confirmation_send,
    preferences_link_send,
    welcome_send,
)
from subscribers.models import Subscriber
from subscribers.tokens import CONFIRM_MAX_AGE

logger = logging.getLogger(__name__)

# A welcome older than this is no longer worth sending late.
WELCOME_MAX_AGE = timedelta(days=2)
# Nor a preferences link the reader asked for a day ago: they will ask again.
PREFERENCES_LINK_MAX_AGE = timedelta(days=1)
OWED_CONFIRMATION_STATUSES = (Subscriber.Status.PENDING, Subscriber.Status.UNSUBSCRIBED)


@dataclass(frozen=True)
class _Kind:
    """One kind of owed email: what makes it owed, the column its claim
    stamps, how it is sent, and what a send that declined (the address was
    suppressed meanwhile) resets, if anything."""

    name: str
    owed: Q
    claim_column: str
    send: Callable[..., bool]
    declined_resets: dict = field(default_factory=dict)


CONFIRMATION = _Kind(
    "confirmation",
    Q(status__in=OWED_CONFIRMATION_STATUSES, confirmation_requested_at__isnull=False,
      confirmation_sent_at__isnull=True),
    "confirmation_sent_at",
    confirmation_send,
    # Suppressed meanwhile: the request is dropped, not retried.
    {"confirmation_requested_at": None, "confirmation_sent_at": None},
)
# Not sent means suppressed or no longer active: the claim stays, nothing is owed.
WELCOME = _Kind(
    "welcome",
    Q(status=Subscriber.Status.ACTIVE, confirmed_at__isnull=False, welcome_sent_at__isnull=True),
    "welcome_sent_at",
    welcome_send,
)
PREFERENCES_LINK = _Kind(
    "preferences link",
    Q(status__in=PREFERENCES_LINK_STATUSES, preferences_link_requested_at__isnull=False,
      preferences_link_sent_at__isnull=True),
    "preferences_link_sent_at",
    preferences_link_send,
)


def _deliver(kind: _Kind, subscriber_id: int) -> bool:
    now = timezone.now()
    claimed = Subscriber.objects.filter(kind.owed, pk=subscriber_id).update(**{kind.claim_column: now})
    if claimed != 1:
        return False
    subscriber = Subscriber.objects.get(pk=subscriber_id)
    try:
        sent = kind.send(subscriber=subscriber)
    except AnymailRecipientsRefused:
        # The provider will never take this address: retrying cannot help.
        logger.warning("%s for subscriber %s refused by the provider", kind.name, subscriber_id)
        return False
    except Exception:
        _release(subscriber_id, kind.claim_column, now)
        raise
    if not sent:
        if kind.declined_resets:
            Subscriber.objects.filter(pk=subscriber_id).update(**kind.declined_resets)
        return False
    logger.info("%s sent to subscriber %s", kind.name, subscriber_id)
    return True


def confirmation_deliver(*, subscriber_id: int) -> bool:
    """Send the owed confirmation email, at most once (see the module doc).

    Returns True if this call sent it. Safe to call any number of times and
    concurrently. Raises what sending raised, after releasing the claim.
    """
    return _deliver(CONFIRMATION, subscriber_id)


def welcome_deliver(*, subscriber_id: int) -> bool:
    """Send the owed welcome email, at most once. Returns True if this call
    sent it. Safe to call any number of times and concurrently."""
    return _deliver(WELCOME, subscriber_id)


def preferences_link_deliver(*, subscriber_id: int) -> bool:
    """Send the preferences link a reader asked for, at most once.
    Returns True if this call sent it. Safe to call any number of times and
    concurrently. Raises what sending raised, after releasing the claim."""
    return _deliver(PREFERENCES_LINK, subscriber_id)


def _release(subscriber_id: int, column: str, claimed_at: datetime) -> None:
    # Only our own claim is released, never a newer one.
    Subscriber.objects.filter(pk=subscriber_id, **{column: claimed_at}).update(**{column: None})


def subscribers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Send confirmation, welcome and preferences-link emails that are owed
    and older than the grace period (``SUBSCRIBERS_SWEEP_GRACE_SECONDS``), up
    to ``SUBSCRIBERS_SWEEP_BATCH`` of each, newest first. Run by beat;
    idempotent; one failing address does not stop the others. Returns how
    many of each were sent.

    A CSV import's pending readers are owed their confirmation here, with no
    task of their own: a run sends a batch, so 100,000 of them go out over
    hours (``SUBSCRIBERS_SWEEP_BATCH`` every ``SUBSCRIBERS_SWEEP_EVERY_SECONDS``)
    instead of filling the queue ahead of the morning's digests. Newest
    first, so a web signup whose task was lost is not stuck behind them."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS)
    # Older requests are stale: the reader has long given up on them.
    owed = {
        "confirmations": (CONFIRMATION, "confirmation_requested_at", CONFIRM_MAX_AGE),
        "welcomes": (WELCOME, "confirmed_at", WELCOME_MAX_AGE),
        "preferences_links": (PREFERENCES_LINK, "preferences_link_requested_at", PREFERENCES_LINK_MAX_AGE),
    }
    counts = dict.fromkeys(owed, 0)
    for key, (kind, since, max_age) in owed.items():
        ids = list(
            Subscriber.objects.filter(kind.owed, **{f"{since}__lte": cutoff, f"{since}__gte": now - max_age})
            .order_by(f"-{since}", "-pk")
            .values_list("pk", flat=True)[: settings.SUBSCRIBERS_SWEEP_BATCH]
        )
        for subscriber_id in ids:
            try:
                counts[key] += int(_deliver(kind, subscriber_id))
            except Exception:  # logged; the next sweep retries this one
                logger.exception("sweep: sending %s to subscriber %s failed", key, subscriber_id)
    if any(counts.values()):
        logger.info("sweep sent %(confirmations)s confirmations, %(welcomes)s welcomes and "
                    "%(preferences_links)s preferences links", counts)
    return counts
