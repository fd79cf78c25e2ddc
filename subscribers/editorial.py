"""What an editor may do to readers from the admin: resend a confirmation,
mark them unsubscribed, put their address on the suppression list. Every
change is logged under the editor."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from config.lib.audit import editorial_log
from subscribers.models import Subscriber, Suppression
from subscribers.services import subscriber_confirmation_resend
from subscribers.suppression import suppressed_among, suppression_add

# Readers who still get (or are about to get) mail; the others have left already.
_MAILABLE = (Subscriber.Status.PENDING, Subscriber.Status.ACTIVE)


def subscribers_mark_unsubscribed(*, subscribers: QuerySet[Subscriber], by) -> int:
    """Set readers who are pending or active to unsubscribed; readers who
    already left (unsubscribed, bounced, complained) keep their status. Only
    the status changes: the addresses are not suppressed (``subscribers_suppress``
    does that) and a reader may come back through a confirmed signup.
    Idempotent; returns how many changed, each logged under ``by``. Sends no
    email."""
    targets = list(subscribers.filter(status__in=_MAILABLE).only("pk", "email"))
    if not targets:
        return 0
    now = timezone.now()
    Subscriber.objects.filter(pk__in=[s.pk for s in targets], status__in=_MAILABLE).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=now, updated_at=now
    )
    editorial_log(by=by, objects=targets, message="Unsubscribed by an editor")
    return len(targets)


def subscribers_suppress(*, subscribers: QuerySet[Subscriber], by) -> int:
    """Put the readers' addresses on the suppression list (reason "manual"):
    no send path mails them again until an editor lifts it. The readers' status
    is left as it is. Idempotent; returns how many addresses were newly
    suppressed, each logged under ``by``."""
    readers = list(subscribers.only("pk", "email"))
    already = suppressed_among(r.email for r in readers)
    fresh = [r for r in readers if r.email not in already]
    who = by.get_username() if by is not None else "an editor"
    for reader in fresh:
        suppression_add(email=reader.email, reason=Suppression.Reason.MANUAL, detail=f"suppressed by {who}")
    editorial_log(by=by, objects=fresh, message="Suppressed the address (manual)")
    return len(fresh)


def subscribers_confirmation_resend(*, subscribers: QuerySet[Subscriber], by) -> list[int]:
    """Owe a fresh confirmation email to each reader whose confirmation is
    still outstanding (pending, or re-subscribing); others are left alone, as
    are suppressed addresses. Returns the ids of the readers now owed one,
    each logged under ``by``; the caller enqueues the emails, which go out
    from the worker at most once per request. Sends nothing itself."""
    requested = [
        reader for reader in subscribers.only("pk", "email")
        if subscriber_confirmation_resend(email=reader.email) is not None
    ]
    if requested:
        editorial_log(by=by, objects=requested, message="Confirmation email resent by an editor")
    return [reader.pk for reader in requested]
