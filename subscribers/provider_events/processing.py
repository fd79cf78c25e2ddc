"""Provider events: bounces, complaints, unsubscribes and engagement reported
by the email provider's tracking webhook.

Two steps, so the webhook answers fast and nothing is lost:

1. ``provider_event_record`` (called from the anymail signal, inside the
   webhook request) stores the event once and does nothing else.
2. ``provider_event_process`` (a Celery task enqueued on commit, or the
   periodic sweep when the broker was down) maps it to its Delivery and
   reader and applies it: reader status, suppression list.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.security import redact
from newsletter.digest.reconcile import delivery_settle_by_event
from newsletter.models import Delivery
from subscribers.addresses import email_key
from subscribers.models import ProviderEvent, Subscriber, Suppression, email_hash
from subscribers.provider_events.kinds import event_kind
from subscribers.suppression import suppression_add

logger = logging.getLogger(__name__)

Kind = ProviderEvent.Kind
Status = Subscriber.Status

# Payloads nested deeper than this are cut when stored.
MAX_DEPTH = 20

# The sweep leaves an event alone after this many failed attempts; the admin
# lists it as stuck and can retry it.
MAX_ATTEMPTS = 5

# Which statuses each provider verdict may replace: a complaint outranks
# everything, and neither a bounce nor a provider-side unsubscribe overwrites
# a reader's own unsubscribe or an earlier complaint.
STATUS_REPLACES: dict[str, set[str]] = {
    Status.COMPLAINED: {Status.PENDING, Status.ACTIVE, Status.UNSUBSCRIBED, Status.BOUNCED},
    Status.BOUNCED: {Status.PENDING, Status.ACTIVE},
    Status.UNSUBSCRIBED: {Status.PENDING, Status.ACTIVE},
}


def provider_name(esp_name: str) -> str:
    """Anymail's display name ("Amazon SES") as our setting's spelling ("amazon_ses")."""
    return (esp_name or "unknown").strip().lower().replace(" ", "_")[:30]


def _clean(value: Any, depth: int = 0) -> Any:
    """A copy the database accepts as JSON: no NUL characters or lone
    surrogates, no NaN or infinities, nesting cut at MAX_DEPTH (no real
    event is that deep). Form posts (a QueryDict) become plain dicts."""
    if depth > MAX_DEPTH:
        return "(nested too deep)"
    if hasattr(value, "lists"):
        value = {k: v[0] if len(v) == 1 else v for k, v in value.lists()}
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, str):
        # JSON may carry lone surrogates ("\ud800"), which no database can encode.
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clean(str(value))


def _text(value: Any, limit: int) -> str:
    return _clean(str(value))[:limit] if value not in (None, "") else ""


def _event_key(*, provider: str, event_id: str, event_type: str, payload: Any, recipient: str) -> str:
    """Same report, same key. The provider's event id when it has one, else
    the payload itself; the recipient too, because one Amazon SES
    notification carries several recipients under one id."""
    basis = f"id\0{event_id}" if event_id else None
    data = payload.get("event-data") if isinstance(payload, dict) else None
    if provider == "mailgun" and isinstance(data, dict) and data.get("id"):
        # Anymail uses the signature token as the id, which a resent
        # webhook may not share; Mailgun's event id is unique within a day,
        # so with its timestamp it is unique.
        basis = f"mailgun\0{data.get('id')}\0{data.get('timestamp')}"
    if basis is None:
        basis = "payload\0" + json.dumps(payload, sort_keys=True, separators=(",", ":"))
    raw = f"{basis}\0{recipient.lower()}\0{event_type}"
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def provider_event_record(*, event: Any, esp_name: str) -> ProviderEvent | None:
    """Store one anymail tracking event, once.

    Returns the new row, or None when the event is a replay of one already
    stored, of a type we do not keep (``unknown``, ``inbound``), or has no
    usable recipient; each of those is logged and changes nothing. Never
    touches readers or the suppression list; one INSERT, so the webhook
    answers fast. Safe to call twice with the same event.
    """
    provider = provider_name(esp_name)
    event_type = _text(getattr(event, "event_type", ""), 20)
    reject_reason = _text(getattr(event, "reject_reason", None), 20)
    payload = _clean(getattr(event, "esp_event", None))
    kind = event_kind(
        provider=provider, event_type=event_type, reject_reason=reject_reason, esp_event=payload
    )
    if kind is None:
        logger.info("ignored a %s event of type %r", provider, event_type)
        return None
    recipient = getattr(event, "recipient", None)
    if not isinstance(recipient, str) or "@" not in recipient or len(recipient.strip()) > 254:
        logger.info("ignored a %s %s event without a usable recipient", provider, event_type)
        return None
    recipient = _clean(recipient.strip())
    metadata = _clean(event.metadata) if isinstance(getattr(event, "metadata", None), dict) else {}
    tags = getattr(event, "tags", None)
    tags = [_text(t, 100) for t in tags] if isinstance(tags, list | tuple) else []
    timestamp = getattr(event, "timestamp", None)
    event_id = _text(getattr(event, "event_id", None), 200)
    key = _event_key(
        provider=provider, event_id=event_id, event_type=event_type, payload=payload, recipient=recipient
    )
    record = ProviderEvent(
        provider=provider,
        event_key=key,
        event_id=event_id,
        event_type=event_type,
        reject_reason=reject_reason,
        kind=kind,
        recipient=recipient,
        recipient_hash=email_hash(recipient),
        message_id=_text(getattr(event, "message_id", None), 255),
        metadata=metadata,
        tags=tags,
        description=_text(getattr(event, "description", None), 500),
        mta_response=_text(getattr(event, "mta_response", None), 1000),
        click_url=_text(getattr(event, "click_url", None), 2000),
        payload=payload if isinstance(payload, dict | list) else {},
        occurred_at=timestamp if isinstance(timestamp, datetime) and timestamp.tzinfo else None,
    )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        logger.info("ignored a replayed %s %s event (key %s…)", provider, event_type, record.event_key[:12])
        return None
    return record


def provider_event_process(*, event_id: int) -> str | None:
    """Apply one stored event to its Delivery, reader and the suppression list.

    Idempotent: an event already processed is left alone, so the task, the
    sweep and a second worker may all call it for the same event. All of it
    happens in one transaction; on an error nothing is half-applied, the
    failure is counted on the event (the sweep retries it) and re-raised.
    Sends no email. Returns what was done, or None if there was nothing to do.
    """
    try:
        with transaction.atomic():
            event = (
                ProviderEvent.objects.select_for_update()
                .filter(pk=event_id, processed_at__isnull=True)
                .first()
            )
            if event is None:
                return None
            result = _apply(event)
            event.result = result[:200]
            event.processed_at = timezone.now()
            event.error = ""
            event.save(update_fields=["delivery", "subscriber", "result", "processed_at", "error"])
    except Exception as exc:
        try:
            ProviderEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
                attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        except Exception:  # the database itself may be what failed
            logger.warning("could not record the failure of provider event %s", event_id)
        raise
    logger.info(
        "provider event %s (%s %s) for reader %s: %s",
        event.pk, event.provider, event.kind, event.subscriber_id or "-", result,
    )
    return result


def provider_events_sweep(*, older_than: timedelta = timedelta(seconds=60), limit: int = 500) -> int:
    """Process events whose task never ran (broker down, worker killed).

    Only events received more than ``older_than`` ago, so the sweep does not
    race the normal task; each in its own transaction, and one failing event
    does not stop the others. Returns how many were processed now.
    """
    cutoff = timezone.now() - older_than
    pending = (
        ProviderEvent.objects.filter(
            processed_at__isnull=True, received_at__lte=cutoff, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in list(pending):
        try:
            if provider_event_process(event_id=pk) is not None:
                done += 1
        except Exception:
            logger.exception("provider event %s failed to process; will retry", pk)
    return done


def _delivery_for(event: ProviderEvent) -> Delivery | None:
    """The Delivery named by the digest's metadata, if it exists."""
    raw = event.metadata.get("delivery_id") if isinstance(event.metadata, dict) else None
    raw = str(raw).strip() if raw is not None else ""
    if not raw.isdigit() or len(raw) > 18:
        return None
    return Delivery.objects.select_related("subscriber").filter(pk=int(raw)).first()


def _reader_for(event: ProviderEvent, delivery: Delivery | None) -> Subscriber | None:
    """The Delivery's reader when the event is about their address, else
    whoever has the event's address now (a reader may have changed address
    since the message was sent)."""
    recipient = email_key(event.recipient)
    if delivery is not None and email_key(delivery.subscriber.email) == recipient:
        return delivery.subscriber
    return Subscriber.objects.alias(email_lower=Lower("email")).filter(email_lower=recipient).first()


def _reader_set(subscriber: Subscriber, status: str) -> bool:
    """Move the reader to ``status`` unless they are in a stronger state."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "updated_at": now}
    if status == Status.UNSUBSCRIBED:
        fields["unsubscribed_at"] = now
    return bool(
        Subscriber.objects.filter(pk=subscriber.pk, status__in=STATUS_REPLACES[status]).update(**fields)
    )


def _detail(event: ProviderEvent) -> str:
    why = event.description or event.mta_response or event.reject_reason
    return f"{event.provider} {event.event_type} event #{event.pk}" + (f": {why}" if why else "")


def _soft_bounces(event: ProviderEvent) -> int:
    """Soft bounces of this address on distinct messages within the window,
    counting only those after an editor last lifted its suppression."""
    since = timezone.now() - timedelta(days=settings.SOFT_BOUNCE_WINDOW_DAYS)
    bounces = ProviderEvent.objects.filter(
        recipient_hash=event.recipient_hash, kind=Kind.SOFT_BOUNCE, received_at__gte=since
    )
    lifted = Suppression.objects.filter(
        email_hash=event.recipient_hash, lifted_at__isnull=False
    ).aggregate(last=Max("lifted_at"))["last"]
    if lifted:
        bounces = bounces.filter(received_at__gt=lifted)
    counts = bounces.aggregate(
        messages=Count("message_id", distinct=True, filter=~Q(message_id="")),
        unnamed=Count("pk", filter=Q(message_id="")),
    )
    return counts["messages"] + counts["unnamed"]


def _settled(event: ProviderEvent) -> str:
    """Any event about a Delivery whose send got no answer shows the provider
    had it: the Delivery is sent (see newsletter.digest.reconcile)."""
    if event.delivery is None or not delivery_settle_by_event(
        delivery_id=event.delivery.pk, message_id=event.message_id, at=event.occurred_at,
        what=f"a {event.provider} {event.event_type} event",
    ):
        return ""
    return f"delivery #{event.delivery.pk} settled as sent (the provider had it); "


def _apply(event: ProviderEvent) -> str:
    event.delivery = _delivery_for(event)
    return _settled(event) + _verdict(event)


def _verdict(event: ProviderEvent) -> str:
    subscriber = event.subscriber = _reader_for(event, event.delivery)
    on = f" on delivery #{event.delivery.pk}" if event.delivery else ""
    if event.kind in {Kind.DELIVERED, Kind.OPENED, Kind.CLICKED, Kind.DEFERRED, Kind.OTHER}:
        return f"recorded{on}"
    if event.kind == Kind.FAILED:
        # Not the reader's fault (our content, DNS, account): nobody is
        # suppressed, but an operator should look.
        # The provider's reason often quotes the recipient: masked in the log
        # (the event row in the admin keeps the full text).
        logger.warning("the provider refused our message: %s", redact(_detail(event)))
        return f"recorded{on}: refused for a reason about our message, not the address"
    if subscriber is None:
        logger.info("provider event %s: no reader has this address; nothing changed", event.pk)
        return "no reader has this address: nothing changed"

    if event.kind == Kind.HARD_BOUNCE:
        invalid = event.reject_reason == "invalid"
        reason = Suppression.Reason.INVALID if invalid else Suppression.Reason.BOUNCED
        suppression_add(email=event.recipient, reason=reason, detail=_detail(event))
        changed = _reader_set(subscriber, Status.BOUNCED)
        return f"suppressed ({reason}); " + ("reader bounced" if changed else "reader status kept")
    if event.kind == Kind.COMPLAINT:
        suppression_add(email=event.recipient, reason=Suppression.Reason.COMPLAINED, detail=_detail(event))
        changed = _reader_set(subscriber, Status.COMPLAINED)
        return "suppressed (complained); " + ("reader complained" if changed else "reader status kept")
    if event.kind == Kind.UNSUBSCRIBE:
        # Not suppressed: the reader may subscribe again through our own
        # confirmed signup, as after unsubscribing from our link.
        changed = _reader_set(subscriber, Status.UNSUBSCRIBED)
        return "reader unsubscribed" if changed else "reader status kept"
    if event.kind == Kind.SOFT_BOUNCE:
        count, limit = _soft_bounces(event), settings.SOFT_BOUNCE_LIMIT
        window = settings.SOFT_BOUNCE_WINDOW_DAYS
        if count < limit:
            return f"soft bounce {count} of {limit} within {window} days{on}"
        suppression_add(
            email=event.recipient, reason=Suppression.Reason.SOFT_BOUNCES,
            detail=f"{count} soft bounces within {window} days; last: {_detail(event)}",
        )
        changed = _reader_set(subscriber, Status.BOUNCED)
        return f"suppressed after {count} soft bounces; " + (
            "reader bounced" if changed else "reader status kept"
        )
    return f"recorded{on}"
