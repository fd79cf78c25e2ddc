"""The suppression list: the one place every send path asks "may we mail this
address?". Entries are hashes, so they outlive an erased reader."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from subscribers.models import Suppression, email_hash


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email), lifted_at__isnull=True).exists()


# Suppressions a reader's own fresh, confirmed signup may lift: they record
# the reader's choice, not a problem with the address.
LIFTABLE_REASONS = (Suppression.Reason.ERASED, Suppression.Reason.UNSUBSCRIBED)


def is_blocked_for_signup(email: str) -> bool:
    """True if the address is suppressed for a reason a new signup may not
    override (bounces, complaints, editors). Erased and unsubscribed entries
    do not block: the reader may come back through a fresh confirmation."""
    return (
        Suppression.objects.filter(email_hash=email_hash(email), lifted_at__isnull=True)
        .exclude(reason__in=LIFTABLE_REASONS)
        .exists()
    )


def suppressed_among(emails: Iterable[str]) -> set[str]:
    """The addresses of ``emails`` that are suppressed, in one query."""
    by_hash = {email_hash(e): e for e in emails}
    hashes = Suppression.objects.filter(email_hash__any_of=list(by_hash), lifted_at__isnull=True).values_list(
        "email_hash", flat=True
    )
    return {by_hash[h] for h in hashes}


def suppression_add(*, email: str, reason: str, detail: str = "") -> Suppression:
    """Suppress an address. Idempotent: an active entry is returned as it is."""
    digest = email_hash(email)
    existing = Suppression.objects.filter(email_hash=digest, lifted_at__isnull=True).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(email_hash=digest, reason=reason, detail=detail[:500])
    except IntegrityError:
        # Another process suppressed it at the same moment.
        return Suppression.objects.get(email_hash=digest, lifted_at__isnull=True)


def suppression_lift(*, suppression: Suppression, reason: str, by: str) -> None:
    """Lift a suppression, keeping the row as the record of who and why."""
    if not reason.strip():
        raise ValueError("a reason is required to lift a suppression")
    Suppression.objects.filter(pk=suppression.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_reason=reason.strip()[:500], lifted_by=by[:150]
    )
