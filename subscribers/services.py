"""The subscription lifecycle: signup, confirmation, preferences,
unsubscribe, and the reader's privacy requests (export, erase).

Views, tasks and the admin call these functions; nothing else changes a
reader's status. Sending the confirmation and welcome emails lives in
``subscribers/confirmations.py``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from newsletter.feedback.learning import feedback_export
from newsletter.models import Topic
from subscribers import confirmations
from subscribers.consent import CONSENT_VERSION, consent_wording
from subscribers.forms import timezone_names
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
    RESENT = "resent"  # still pending: choices replaced, a fresh confirmation owed
    RESUBSCRIBE_REQUESTED = "resubscribe_requested"  # unsubscribed: confirmation owed
    ALREADY_ACTIVE = "already_active"  # nothing changes, nothing is sent
    SUPPRESSED = "suppressed"  # bounced, complained, or suppressed by an editor


@dataclass(frozen=True)
class Choices:
    """A reader's delivery choices, as stored in ``pending_choices``.
    ``build`` re-checks what the forms check, for callers without a form
    (imports, the shell): a ValueError, never a half-written reader."""

    topics: list[str]  # topic slugs
    keywords: str
    frequency: str
    weekday: int
    timezone: str
    send_hour: int

    @classmethod
    def build(cls, *, topics: Iterable[Topic | str], keywords: str, frequency: str, weekday: int,
              timezone: str, send_hour: int) -> Choices:
        slugs = [t.slug if isinstance(t, Topic) else str(t) for t in topics]
        if frequency not in Subscriber.Frequency.values:
            raise ValueError(f"unknown frequency {frequency!r}")
        if not (0 <= int(send_hour) <= 23 and 0 <= int(weekday) <= 6):
            raise ValueError("send_hour must be 0-23 and weekday 0-6")
        if timezone not in timezone_names():
            raise ValueError(f"unknown time zone {timezone!r}")
        return cls(slugs, keywords.strip(), frequency, int(weekday), timezone, int(send_hour))

    def apply(self, subscriber: Subscriber) -> None:
        """Write the scalar choices onto ``subscriber`` (saved by the caller)."""
        subscriber.keywords = self.keywords
        subscriber.frequency = self.frequency
        subscriber.weekday = self.weekday
        subscriber.timezone = self.timezone
        subscriber.send_hour = self.send_hour

    def apply_topics(
        self, subscriber: Subscriber, *, rows: list[Topic] | None = None, new: bool = False
    ) -> None:
        """Set the topics of a saved reader; topics retired since are dropped.
        ``rows``: the Topic rows of these choices when the caller has them
        (the signup form just read them); ``new``: the reader has no topics
        yet, so they are inserted without first reading what is there."""
        if rows is None:
            rows = list(Topic.objects.filter(slug__in=self.topics, active=True))
        rows = [topic for topic in rows if topic.active]
        if new:
            through = Subscriber.topics.through
            through.objects.bulk_create([through(subscriber_id=subscriber.pk, topic_id=t.pk) for t in rows])
        else:
            subscriber.topics.set(rows)


def address_checked(email: str) -> str:
    """The address, stripped, if it is one; else ValueError. ``SubscribeForm``
    already checks this; callers without a form (imports, the shell) get the
    same check, so no address with a line break (a header injection) or
    other junk is ever stored."""
    email = (email or "").strip()
    if "\r" in email or "\n" in email or len(email) > 254:
        raise ValueError("an email address must be one line of at most 254 characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("not an email address") from None
    return email


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


def subscriber_signup(*, email: str, topics: Iterable[Topic | str], keywords: str = "",
                      frequency: str = Subscriber.Frequency.DAILY, weekday: int = 0,
                      timezone: str = "UTC", send_hour: int = 7, ip: str | None = None,
                      user_agent: str = "", source: str = ConsentRecord.Source.WEB) -> SignupOutcome:
    """Record a signup and owe the address a confirmation email.

    The address must already be validated (``SubscribeForm``); the choices
    are checked again (ValueError). Guarantees:
    - a signup consent record for every signup that may lead to mail;
    - an active reader is left exactly as it is, and nothing is sent;
    - an unsubscribed reader keeps status and choices until the new
      confirmation arrives (the new choices wait in ``pending_choices``);
    - a suppressed address (bounce, complaint, editor) changes nothing;
    - the confirmation is enqueued only after the transaction commits, and if
      the broker is down the sweep sends it later (``confirmations``).
    Safe to call twice: the second call asks for one more confirmation.
    """
    email = address_checked(email)
    topics = list(topics)
    choices = Choices.build(topics=topics, keywords=keywords, frequency=frequency, weekday=weekday,
                            timezone=timezone, send_hour=send_hour)
    # The form hands over the Topic rows it just read: no need to read them again.
    rows = topics if all(isinstance(t, Topic) for t in topics) else None
    if is_blocked_for_signup(email):
        logger.info("signup ignored: address is suppressed")
        return SignupOutcome.SUPPRESSED

    now = timezone_now()
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
                choices.apply_topics(subscriber, rows=rows, new=True)
                _consent_record(subscriber=subscriber, kind=ConsentRecord.Kind.SIGNUP, ip=ip,
                                user_agent=user_agent, source=source)
                confirmations.confirmation_enqueue(subscriber_id=subscriber.pk)
                logger.info("signup: subscriber %s created", subscriber.pk)
                return SignupOutcome.CREATED

        if subscriber.status == Subscriber.Status.PENDING:
            # Never confirmed: the newest form wins, and a new email goes out.
            choices.apply(subscriber)
            subscriber.confirmation_requested_at = now
            subscriber.confirmation_sent_at = None
            subscriber.save()
            choices.apply_topics(subscriber, rows=rows)
            outcome = SignupOutcome.RESENT
        elif subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            subscriber.pending_choices = asdict(choices)
            subscriber.confirmation_requested_at = now
            subscriber.confirmation_sent_at = None
            subscriber.save(update_fields=["pending_choices", "confirmation_requested_at",
                                           "confirmation_sent_at", "updated_at"])
            outcome = SignupOutcome.RESUBSCRIBE_REQUESTED
        elif subscriber.status == Subscriber.Status.ACTIVE:
            logger.info("signup ignored: subscriber %s is already active", subscriber.pk)
            return SignupOutcome.ALREADY_ACTIVE
        else:
            logger.info("signup ignored: subscriber %s is %s", subscriber.pk, subscriber.status)
            return SignupOutcome.SUPPRESSED

        _consent_record(subscriber=subscriber, kind=ConsentRecord.Kind.SIGNUP, ip=ip,
                        user_agent=user_agent, source=source)
        confirmations.confirmation_enqueue(subscriber_id=subscriber.pk)
    logger.info("signup: subscriber %s %s", subscriber.pk, outcome)
    return outcome


def subscriber_confirmation_resend(*, email: str) -> bool:
    """Owe a fresh confirmation email to an address whose confirmation is
    still outstanding. Anything else changes nothing. Returns whether an
    email was requested (never shown to the visitor)."""
    email = email.strip()
    if is_blocked_for_signup(email):
        return False
    with transaction.atomic():
        subscriber = _subscriber_locked(email)
        if subscriber is None or not confirmation_outstanding(subscriber):
            return False
        subscriber.confirmation_requested_at = timezone_now()
        subscriber.confirmation_sent_at = None
        subscriber.save(update_fields=["confirmation_requested_at", "confirmation_sent_at", "updated_at"])
        confirmations.confirmation_enqueue(subscriber_id=subscriber.pk)
    return True


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

    Returns True if this call activated the reader; False (and changes
    nothing) if there was nothing to confirm, e.g. confirming twice. Records a
    confirmation consent record, applies the choices of a re-subscription,
    lifts the address's erased/unsubscribed suppression (the row keeps who and
    why) and owes the reader a welcome email, enqueued after commit.
    Suppressions for bounces, complaints or editors stay in force.
    """
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()
        if locked is None or not confirmation_outstanding(locked):
            return False
        now = timezone_now()
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
        confirmations.welcome_enqueue(subscriber_id=locked.pk)
    logger.info("subscriber %s confirmed", locked.pk)
    subscriber.refresh_from_db()
    return True


def subscriber_unsubscribe(*, subscriber: Subscriber, via: str) -> bool:
    """Stop all list mail to this reader, at once.

    Idempotent: returns True only for the call that changed the status. A
    pending re-subscription is cancelled (the latest wish wins), and the
    address is suppressed so no send path can mail it even if the status is
    later changed by mistake. Bounced or complained readers keep that status.
    """
    now = timezone_now()
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


def subscriber_update_preferences(*, subscriber: Subscriber, topics: Iterable[Topic | str], keywords: str,
                                  frequency: str, weekday: int, timezone: str, send_hour: int,
                                  paused: bool) -> None:
    """Save a reader's choices (validated by ``PreferencesForm``). Does not
    change the status: an unsubscribed reader stays unsubscribed."""
    choices = Choices.build(topics=topics, keywords=keywords, frequency=frequency, weekday=weekday,
                            timezone=timezone, send_hour=send_hour)
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
        "exported_at": _iso(timezone_now()),
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status,
            "topics": [{"slug": t.slug, "name": t.name} for t in subscriber.topics.all()],
            "keywords": subscriber.keyword_list(),
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "timezone": subscriber.timezone,
            "send_hour": subscriber.send_hour,
            "paused": subscriber.paused,
            "created_at": _iso(subscriber.created_at),
            "updated_at": _iso(subscriber.updated_at),
            "confirmation_requested_at": _iso(subscriber.confirmation_requested_at),
            "confirmation_sent_at": _iso(subscriber.confirmation_sent_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "welcome_sent_at": _iso(subscriber.welcome_sent_at),
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


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete the reader and everything attached to it (choices, consent
    records, deliveries, provider events, which hold the address and the
    provider's raw payload), keeping only a hashed ``erased`` suppression so the
    address is never mailed again unless it signs up anew and confirms.
    Idempotent; an existing stronger suppression (e.g. a bounce) is kept."""
    with transaction.atomic():
        suppression_add(email=subscriber.email, reason=Suppression.Reason.ERASED,
                        detail="data erased at the reader's request")
        ProviderEvent.objects.filter(recipient_hash=email_hash(subscriber.email)).delete()
        Subscriber.objects.filter(pk=subscriber.pk).delete()
    logger.info("subscriber %s erased", subscriber.pk)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _subscriber_locked(email: str) -> Subscriber | None:
    return (
        Subscriber.objects.select_for_update()
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .first()
    )


def timezone_now():
    # A name that does not shadow the ``timezone`` keyword arguments above.
    return timezone.now()
