"""What a provider event means for the reader: hard or soft bounce, complaint,
unsubscribe, engagement, or a failure of our own message.

Anymail normalizes every provider's webhook into an ``event_type`` and a
``reject_reason``, but it folds temporary and permanent bounces together for
some providers (Postmark ``SoftBounce``, Amazon SES ``Transient``, SendGrid
``blocked`` and Brevo ``soft_bounce`` all arrive as ``bounced``), so the
provider's own payload (``esp_event``) settles those cases. docs/providers.md
has the same table in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subscribers.models import ProviderEvent

Kind = ProviderEvent.Kind

# Anymail event types we store, with the kind they have unless the
# provider's payload says otherwise (see _provider_kind).
BASE_KINDS: dict[str, str] = {
    "bounced": Kind.HARD_BOUNCE,
    "rejected": Kind.HARD_BOUNCE,
    "deferred": Kind.DEFERRED,
    "complained": Kind.COMPLAINT,
    "unsubscribed": Kind.UNSUBSCRIBE,
    "delivered": Kind.DELIVERED,
    "opened": Kind.OPENED,
    "clicked": Kind.CLICKED,
    "failed": Kind.FAILED,
    "queued": Kind.OTHER,
    "sent": Kind.OTHER,
    "autoresponded": Kind.OTHER,
    "subscribed": Kind.OTHER,
}

# Postmark bounce ``Type`` values that anymail reports as a hard bounce or a
# rejection but that say nothing final about the address.
POSTMARK_SOFT = {"SoftBounce", "Blocked"}  # "Blocked": the receiving ISP refused this message
POSTMARK_OURS = {"VirusNotification", "DMARCPolicy", "Unconfirmed", "TemplateRenderingFailed"}

# Mailgun ``failed``/``permanent`` reasons about the message rather than the
# address: "old" (gave up retrying) and "espblock" (the receiver blocked it).
MAILGUN_SOFT_REASONS = {"old", "espblock"}

# SendGrid ``dropped`` reasons (lowercased).
SENDGRID_DROPPED = {
    "bounced address": Kind.HARD_BOUNCE,
    "invalid": Kind.HARD_BOUNCE,
    "bounce": Kind.HARD_BOUNCE,
    "blocked": Kind.HARD_BOUNCE,
    "spam reporting address": Kind.COMPLAINT,
    "unsubscribed address": Kind.UNSUBSCRIBE,
    "expired": Kind.SOFT_BOUNCE,
}


def event_kind(
    *, provider: str, event_type: str, reject_reason: str | None, esp_event: Any
) -> str | None:
    """The kind of one anymail tracking event, or None for types we do not
    store (``unknown``, ``inbound``…). Pure: reads only its arguments."""
    kind = BASE_KINDS.get(event_type)
    if kind is None:
        return None
    if event_type == "rejected":
        # The provider refused to send: say why when it knows.
        if reject_reason == "spam":
            kind = Kind.COMPLAINT
        elif reject_reason == "unsubscribed":
            kind = Kind.UNSUBSCRIBE
        elif reject_reason == "timed_out":
            kind = Kind.SOFT_BOUNCE
    esp = esp_event if isinstance(esp_event, Mapping) else {}
    return _provider_kind(provider, event_type, kind, esp)


def _provider_kind(provider: str, event_type: str, kind: str, esp: Mapping) -> str:
    if provider == "postmark":
        bounce_type = esp.get("Type") if esp.get("RecordType") == "Bounce" else None
        if bounce_type in POSTMARK_SOFT:
            return Kind.SOFT_BOUNCE
        if bounce_type in POSTMARK_OURS:
            return Kind.FAILED
    elif provider == "mailgun":
        data = esp.get("event-data")
        data = data if isinstance(data, Mapping) else {}
        if data.get("event") == "rejected":
            # Mailgun refused our send request (sandbox or free account,
            # unknown or disabled domain): our account, never the address,
            # whose refusals come as "failed" with a "suppress-*" reason.
            return Kind.FAILED
        if data.get("event") == "failed":
            # Anymail already turns severity "temporary" into "deferred";
            # Mailgun calls those soft bounces, and so do we.
            if data.get("severity") == "temporary":
                return Kind.SOFT_BOUNCE
            reason = data.get("reason")
            if reason in MAILGUN_SOFT_REASONS:
                return Kind.SOFT_BOUNCE
            if reason == "suppress-complaint":
                return Kind.COMPLAINT
            if reason == "suppress-unsubscribe":
                return Kind.UNSUBSCRIBE
    elif provider == "amazon_ses":
        ses_type = esp.get("eventType") or esp.get("notificationType")
        if ses_type == "Bounce":
            bounce = esp.get("bounce")
            bounce_type = bounce.get("bounceType") if isinstance(bounce, Mapping) else None
            # "Transient" and "Undetermined" bounces may succeed later.
            return Kind.HARD_BOUNCE if bounce_type == "Permanent" else Kind.SOFT_BOUNCE
        if ses_type == "Reject":
            return Kind.FAILED  # SES found a virus in our message
    elif provider == "sendgrid":
        if esp.get("event") == "bounce" and esp.get("type") == "blocked":
            return Kind.SOFT_BOUNCE  # "blocked": the receiver refused this message, not the address
        if esp.get("event") == "dropped":
            # SendGrid refused to send; its reason says whether the address
            # is to blame. Other reasons (e.g. "Spam Content") are about
            # our message.
            reason = str(esp.get("type") or esp.get("reason") or "").lower()
            return SENDGRID_DROPPED.get(reason, Kind.FAILED)
    elif provider in {"brevo", "sendinblue"} and esp.get("event") == "soft_bounce":
        return Kind.SOFT_BOUNCE
    return kind
