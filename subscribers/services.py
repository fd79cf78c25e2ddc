"""The subscription lifecycle: signup, confirmation, preferences,
unsubscribe, and the reader's privacy requests (export, erase).

The interfaces (views, admin actions) call these functions. They write the
database and say what the caller must enqueue (a confirmation or welcome
email is owed); the callers enqueue it with ``subscribers.tasks``, and the
sweep in ``subscribers/confirmations.py`` sends whatever was owed but never
enqueued. Which modules may change a reader's status is listed on
``Subscriber.Status``.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.lib.audit import editorial_log_erase
from newsletter.feedback.learning import feedback_export
from newsletter.models import Topic
from subscribers.addresses import address_spellings, email_key, email_normalised
from subscribers.choices import Choices
from subscribers.consent import CONSENT_VERSION, consent_wording
from subscribers.emails import PREFERENCES_LINK_STATUSES
from subscribers.models import ConsentRecord, ProviderEvent, Subscriber, Suppression, email_hash
from subscribers.suppression import (
    LIFTABLE_REASONS,
    is_blocked_for_signup,
    suppression_add,
    suppression_lift,
)

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 500


class SignupOutcome(enum.StrEnum):
    """What a signup did. Never shown to the visitor (the answer page is the
    same for all of them), only logged and tested."""

    CREATED = "created"  # new pending reader, confirmation owed
    RESENT = "resent"  # still pending: choices replaced, a fresh confirmation owed (see Signup.owed)
    RESUBSCRIBE_REQUESTED = "resubscribe_requested"  # unsubscribed: confirmation owed (see Signup.owed)
    ALREADY_ACTIVE = "already_active"  # nothing changes; a fresh preferences link owed (see Signup.owed)
    SUPPRESSED = "suppressed"  # bounced, complained, or suppressed by an editor


class Owed(enum.StrEnum):
    """The email a reader's request leaves owed (the caller enqueues it)."""

    CONFIRMATION = "confirmation"
    PREFERENCES_LINK = "preferences_link"


@dataclass(frozen=True)
class Signup:
    """What ``subscriber_signup`` did, to which reader (None when the address
    is suppressed and no reader was looked up), and which email it owes."""

    outcome: SignupOutcome
    subscriber_id: int | None
    owed: Owed | None = None


def asked_recently(at: datetime | None, *, now: datetime) -> bool:
    """Whether the same email was owed to the reader less than
    ``SUBSCRIBE_EMAIL_COOLDOWN_SECONDS`` ago: asking again that soon (back,
    and submit again) owes no second copy; the first is on its way."""
    cooldown = timedelta(seconds=settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS)
    return at is not None and now - at < cooldown


# The columns that say an email is owed: requested, and claimed when sent
# (see subscribers/confirmations.py).
_OWED_COLUMNS = {
    Owed.CONFIRMATION: ("confirmation_requested_at", "confirmation_sent_at"),
    Owed.PREFERENCES_LINK: ("preferences_link_requested_at", "preferences_link_sent_at"),
}


def _owe(subscriber: Subscriber, email: Owed, *, now: datetime) -> Owed | None:
    """Record ``email`` as owed to ``subscriber`` (saved by the caller),
    unless the same was owed within the cooldown; returns what is owed."""
    requested, sent = _OWED_COLUMNS[email]
    if asked_recently(getattr(subscriber, requested), now=now):
        logger.info("subscriber %s asked for a %s again within the cooldown; none owed", subscriber.pk, email)
        return None
    setattr(subscriber, requested, now)
    setattr(subscriber, sent, None)
    return email


def _preferences_link_owe(subscriber: Subscriber, *, now: datetime) -> Owed | None:
    """A fresh preferences link owed to an active reader; only its two
    columns change."""
    owed = _owe(subscriber, Owed.PREFERENCES_LINK, now=now)
    if owed is not None:
        subscriber.save(update_fields=[*_OWED_COLUMNS[owed], "updated_at"])
    return owed


def address_checked(email: str) -> str:
    """The address in its normalised spelling (``email_normalised``) if it is
    one; else ValueError. ``SubscribeForm`` already checks this; callers
    without a form (imports, the shell) get the same check, so no address
    with a line break (a header injection) or other junk is ever stored."""
    email = (email or "").strip()
    if "\r" in email or "\n" in email or len(email) > 254:
        raise ValueError("an email address must be one line of at most 254 characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("not an email address") from None
    return email_normalised(email)


def _consent_record(*, subscriber: Subscriber, kind: str, ip: str | None, user_agent: str,
                    source: str) -> ConsentRecord:
    return ConsentRecord.objects.create(
        subscriber=subscriber,
        kind=kind,
        source=source,
        wording=consent_wording(),
        wording_version=CONSENT_VERSION,
        ip=ip or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
    )


def subscriber_signup(*, email: str, choices: Choices, topic_rows: Iterable[Topic] | None = None,
                      ip: str | None = None, user_agent: str = "",
                      source: str = ConsentRecord.Source.WEB) -> Signup:
    """Record a signup and owe the address a confirmation email.

    The address must already be validated (``SubscribeForm``); it is checked
    again (ValueError). ``topic_rows``: the Topic rows of ``choices.topics``
    when the caller has just read them (the form), so they are not read again.
    Guarantees:
    - a signup consent record for every signup that may lead to mail;
    - an active reader's status and choices are left exactly as they are;
      a fresh preferences link is owed instead (they may have lost theirs);
    - an unsubscribed reader keeps status and choices until the new
      confirmation arrives (the new choices wait in ``pending_choices``);
    - a suppressed address (bounce, complaint, editor) changes nothing;
    - when the result says an email is ``owed``, the database says so too,
      so the sweep sends it if the caller's enqueue never runs.
    Sends nothing itself. Safe to call twice: the second call owes one more
    confirmation, unless the first was owed within the cooldown
    (``asked_recently``).
    """
    email = address_checked(email)
    if is_blocked_for_signup(email):
        logger.info("signup ignored: address is suppressed")
        return Signup(SignupOutcome.SUPPRESSED, None)

    now = timezone.now()
    with transaction.atomic():
        subscriber = _subscriber_locked(email)
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber(email=email, confirmation_requested_at=now)
                    choices.apply(subscriber)
                    subscriber.save()
            except IntegrityError:
                # The same address signed up at the same moment in another
                # request: carry on with that row.
                subscriber = _subscriber_locked(email)
                if subscriber is None:
                    raise
            else:
                choices.apply_topics(subscriber, rows=topic_rows, new=True)
                _consent_record(subscriber=subscriber, kind=ConsentRecord.Kind.SIGNUP, ip=ip,
                                user_agent=user_agent, source=source)
                logger.info("signup: subscriber %s created", subscriber.pk)
                return Signup(SignupOutcome.CREATED, subscriber.pk, Owed.CONFIRMATION)

        if subscriber.status == Subscriber.Status.PENDING:
            # Never confirmed: the newest form wins, and a new email goes out
            # (the link in the last one confirms the newest choices too).
            choices.apply(subscriber)
            owed = _owe(subscriber, Owed.CONFIRMATION, now=now)
            subscriber.save()
            choices.apply_topics(subscriber, rows=topic_rows)
            outcome = SignupOutcome.RESENT
        elif subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            subscriber.pending_choices = asdict(choices)
            owed = _owe(subscriber, Owed.CONFIRMATION, now=now)
            subscriber.save(update_fields=["pending_choices", "confirmation_requested_at",
                                           "confirmation_sent_at", "updated_at"])
            outcome = SignupOutcome.RESUBSCRIBE_REQUESTED
        elif subscriber.status == Subscriber.Status.ACTIVE:
            logger.info("signup: subscriber %s is already active; choices left as they are", subscriber.pk)
            owed = _preferences_link_owe(subscriber, now=now)
            return Signup(SignupOutcome.ALREADY_ACTIVE, subscriber.pk, owed)
        else:
            logger.info("signup ignored: subscriber %s is %s", subscriber.pk, subscriber.status)
            return Signup(SignupOutcome.SUPPRESSED, subscriber.pk)

        _consent_record(subscriber=subscriber, kind=ConsentRecord.Kind.SIGNUP, ip=ip,
                        user_agent=user_agent, source=source)
    logger.info("signup: subscriber %s %s", subscriber.pk, outcome)
    return Signup(outcome, subscriber.pk, owed)


def subscriber_confirmation_resend(*, email: str) -> int | None:
    """Owe a fresh confirmation email to an address whose confirmation is
    still outstanding. Anything else changes nothing. Returns the id of the
    reader now owed the email (the caller enqueues it; never shown to the
    visitor), or None. Sends nothing itself."""
    email = email_key(email)
    if is_blocked_for_signup(email):
        return None
    with transaction.atomic():
        subscriber = _subscriber_locked(email)
        if subscriber is None or not confirmation_outstanding(subscriber):
            return None
        subscriber.confirmation_requested_at = timezone.now()
        subscriber.confirmation_sent_at = None
        subscriber.save(update_fields=["confirmation_requested_at", "confirmation_sent_at", "updated_at"])
    return subscriber.pk


@dataclass(frozen=True)
class LinkRequest:
    """What a reader's "send me a new link" owes, and to which reader; never
    shown to the visitor (the answer page is the same for every address)."""

    owed: Owed | None
    subscriber_id: int | None = None


def subscriber_link_request(*, email: str) -> LinkRequest:
    """A reader asks for a new link (the resend form): a fresh confirmation
    is owed to an address whose confirmation is outstanding, a fresh
    preferences link to an active reader, each unless the same was owed
    within the cooldown. Anything else (unknown, suppressed, left) changes
    nothing. The caller enqueues what is owed. Sends nothing itself."""
    email = email.strip()
    if is_blocked_for_signup(email):
        return LinkRequest(None)
    now = timezone.now()
    with transaction.atomic():
        subscriber = _subscriber_locked(email)
        if subscriber is None:
            return LinkRequest(None)
        if subscriber.status == Subscriber.Status.ACTIVE:
            return LinkRequest(_preferences_link_owe(subscriber, now=now), subscriber.pk)
        if not confirmation_outstanding(subscriber):
            return LinkRequest(None, subscriber.pk)
        owed = _owe(subscriber, Owed.CONFIRMATION, now=now)
        subscriber.save(update_fields=["confirmation_requested_at", "confirmation_sent_at", "updated_at"])
    return LinkRequest(owed, subscriber.pk)


def subscriber_preferences_link_request(*, subscriber: Subscriber) -> Owed | None:
    """The reader asks, through one of their own links (an expired
    preferences link, the unsubscribe page, the web copy), for a fresh
    preferences link by email: owed to an active or unsubscribed reader
    whose address is not blocked, unless one was owed within the cooldown.
    Returns what is owed; the caller enqueues it. Sends nothing itself."""
    if is_blocked_for_signup(subscriber.email):
        return None
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().filter(
            pk=subscriber.pk, status__in=PREFERENCES_LINK_STATUSES
        ).first()
        if locked is None:
            return None
        return _preferences_link_owe(locked, now=timezone.now())


def confirmation_outstanding(subscriber: Subscriber) -> bool:
    """Whether a confirmation link for this reader may still act."""
    if subscriber.status == Subscriber.Status.PENDING:
        return True
    return (
        subscriber.status == Subscriber.Status.UNSUBSCRIBED
        and subscriber.confirmation_requested_at is not None
    )


def subscriber_confirm(*, subscriber: Subscriber, ip: str | None, user_agent: str,
                       source: str = ConsentRecord.Source.WEB) -> bool:
    """Activate a reader whose confirmation is outstanding.

    Returns True if this call activated the reader, who is then owed a
    welcome email (the caller enqueues it); False (and changes nothing) if
    there was nothing to confirm, e.g. confirming twice. Records a
    confirmation consent record, applies the choices of a re-subscription and
    lifts the address's erased/unsubscribed suppression (the row keeps who and
    why). Suppressions for bounces, complaints or editors stay in force.
    Sends nothing itself.
    """
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()
        if locked is None or not confirmation_outstanding(locked):
            return False
        now = timezone.now()
        pending = locked.pending_choices
        if pending:
            choices = Choices(**pending)
            choices.apply(locked)
            choices.apply_topics(locked)
        locked.status = Subscriber.Status.ACTIVE
        locked.confirmed_at = now
        locked.unsubscribed_at = None
        locked.pending_choices = None
        locked.confirmation_requested_at = None
        locked.welcome_sent_at = None
        locked.save()
        _consent_record(subscriber=locked, kind=ConsentRecord.Kind.CONFIRMATION, ip=ip,
                        user_agent=user_agent, source=source)
        for suppression in Suppression.objects.filter(
            email_hash=email_hash(locked.email), lifted_at__isnull=True, reason__in=LIFTABLE_REASONS
        ):
            suppression_lift(suppression=suppression, reason="the reader signed up again and confirmed",
                             by="reader confirmation")
    logger.info("subscriber %s confirmed", locked.pk)
    subscriber.refresh_from_db()
    return True


def subscriber_unsubscribe_and_suppress(*, subscriber: Subscriber, via: str) -> bool:
    """The reader's own unsubscribe: stop all list mail to this reader, at
    once, and put the address on the suppression list.

    Idempotent: returns True only for the call that changed the status. A
    pending re-subscription is cancelled (the latest wish wins), and the
    address is suppressed (reason "unsubscribed") so no send path can mail it
    even if the status is later changed by mistake; the reader's own confirmed
    signup lifts it again. Bounced or complained readers keep that status.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Subscriber.objects.filter(
            pk=subscriber.pk, status__in=[Subscriber.Status.ACTIVE, Subscriber.Status.PENDING]
        ).update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=now, updated_at=now)
        Subscriber.objects.filter(pk=subscriber.pk, status=Subscriber.Status.UNSUBSCRIBED).update(
            confirmation_requested_at=None, pending_choices=None
        )
        suppression_add(email=subscriber.email, reason=Suppression.Reason.UNSUBSCRIBED,
                        detail=f"reader unsubscribed ({via})")
    if changed:
        logger.info("subscriber %s unsubscribed via %s", subscriber.pk, via)
    subscriber.refresh_from_db()
    return bool(changed)


def subscriber_update_preferences(*, subscriber: Subscriber, choices: Choices, paused: bool) -> None:
    """Save a reader's choices (validated by ``PreferencesForm``). Does not
    change the status: an unsubscribed reader stays unsubscribed."""
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        choices.apply(locked)
        locked.paused = bool(paused)
        locked.save()
        choices.apply_topics(locked)
    subscriber.refresh_from_db()


def subscriber_export(*, subscriber: Subscriber) -> dict:
    """Everything we hold about the reader's address, as JSON-ready data:
    the subscription and its choices, every consent record, every delivery,
    and the suppression entries for the address's hash. Reads only."""
    subscriber = (
        Subscriber.objects.prefetch_related("topics", "consents").get(pk=subscriber.pk)
    )
    deliveries = subscriber.deliveries.select_related("edition").order_by("created_at")
    suppressions = Suppression.objects.filter(email_hash=email_hash(subscriber.email)).order_by("created_at")
    return {
        "format": "daily-papers-export/1",
        "exported_at": _iso(timezone.now()),
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status,
            "topics": [{"slug": t.slug, "name": t.name} for t in subscriber.topics.all()],
            "keywords": subscriber.keyword_list(),
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "timezone": subscriber.timezone,
            "send_hour": subscriber.send_hour,
            "digest_format": subscriber.digest_format,
            "paused": subscriber.paused,
            "created_at": _iso(subscriber.created_at),
            "updated_at": _iso(subscriber.updated_at),
            "confirmation_requested_at": _iso(subscriber.confirmation_requested_at),
            "confirmation_sent_at": _iso(subscriber.confirmation_sent_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "welcome_sent_at": _iso(subscriber.welcome_sent_at),
            "preferences_link_requested_at": _iso(subscriber.preferences_link_requested_at),
            "preferences_link_sent_at": _iso(subscriber.preferences_link_sent_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            "pending_choices": subscriber.pending_choices,
        },
        "consent_records": [
            {
                "kind": c.kind,
                "source": c.source,
                "at": _iso(c.created_at),
                "ip": c.ip,
                "user_agent": c.user_agent,
                "wording_version": c.wording_version,
                "wording": c.wording,
            }
            for c in subscriber.consents.all()
        ],
        "deliveries": [
            {
                "edition": d.edition.date.isoformat(),
                "status": d.status,
                "reason": d.reason,
                "papers": d.paper_ids,
                "due_at": _iso(d.due_at),
                "sent_at": _iso(d.sent_at),
            }
            for d in deliveries
        ],
        "suppressions": [
            {
                "reason": s.reason,
                "detail": s.detail,
                "created_at": _iso(s.created_at),
                "lifted_at": _iso(s.lifted_at),
                "lifted_reason": s.lifted_reason,
            }
            for s in suppressions
        ],
        # What the email provider reported about mail to this address.
        "provider_events": [
            {
                "kind": e.kind,
                "provider": e.provider,
                "event_type": e.event_type,
                "occurred_at": _iso(e.occurred_at),
                "received_at": _iso(e.received_at),
                "description": e.description,
            }
            for e in ProviderEvent.objects.filter(
                recipient_hash=email_hash(subscriber.email)
            ).order_by("received_at")
        ],
        # Ratings of papers and what the digest learned from them and from clicks.
        "feedback": feedback_export(subscriber=subscriber),
    }


ERASED_TEXT = "[address erased]"


def _erased_from(text: str, spellings: Iterable[str]) -> str:
    for spelling in spellings:
        text = re.sub(re.escape(spelling), ERASED_TEXT, text, flags=re.IGNORECASE)
    return text


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete the reader and everything attached to it (choices, consent
    records, deliveries, votes), and every trace of the address elsewhere:
    the provider's events about it or about the reader's messages (they hold
    the address and the provider's raw payload) are deleted; the suppression
    rows of the address keep their hash, reason and dates, and lose their
    free text (a provider's bounce text quotes the address); admin log
    entries keep who did what to "reader #id", without the address. What
    stays is a hashed ``erased`` suppression, so the address is never mailed
    again unless it signs up anew and confirms. Idempotent; an existing
    stronger suppression (e.g. a bounce) is kept."""
    digest = email_hash(subscriber.email)
    spellings = address_spellings(subscriber.email)
    with transaction.atomic():
        suppression_add(email=subscriber.email, reason=Suppression.Reason.ERASED,
                        detail="data erased at the reader's request")
        reader = subscriber.pk
        ProviderEvent.objects.filter(
            Q(recipient_hash=digest) | Q(subscriber_id=reader) | Q(delivery__subscriber_id=reader)
        ).delete()
        Suppression.objects.filter(email_hash=digest).exclude(reason=Suppression.Reason.ERASED).update(
            detail="details erased with the reader's data"
        )
        for suppression in Suppression.objects.filter(email_hash=digest).exclude(lifted_reason=""):
            lifted = _erased_from(suppression.lifted_reason, spellings)
            if lifted != suppression.lifted_reason:
                Suppression.objects.filter(pk=suppression.pk).update(lifted_reason=lifted)
        editorial_log_erase(model=Subscriber, object_id=subscriber.pk, label=f"reader #{subscriber.pk}",
                            scrub=lambda text: _erased_from(text, spellings), mentions=spellings)
        Subscriber.objects.filter(pk=subscriber.pk).delete()
    logger.info("subscriber %s erased", subscriber.pk)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _subscriber_locked(email: str) -> Subscriber | None:
    return (
        Subscriber.objects.select_for_update()
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email_key(email))
        .first()
    )

