"""The tracking webhooks we route: anymail's views, reading a post's events
one at a time, and only for the providers in ``WEBHOOK_PROVIDERS``.

Anymail converts a whole post in one go, so one event it cannot read (an
out-of-range timestamp makes ``datetime.fromtimestamp`` raise, which anymail
does not catch) loses the good events of a SendGrid batch beside it and
answers 500. Here each event is converted on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.urls import URLPattern, path

from config.security import redact
from subscribers.provider_events.guard import BAD_PAYLOAD
from subscribers.provider_events.processing import provider_name

logger = logging.getLogger(__name__)

# What converting one event may raise on bad input: anymail's own refusals,
# and fromtimestamp's OverflowError (1e21) or OSError (1e18, "Value too large").
UNREADABLE_EVENT = (*BAD_PAYLOAD, OverflowError, OSError)


class UnreadableEvents(ValueError):
    """No event of a post could be read; the guard answers 400 with one line."""


def _label(esp_event: Any) -> str:
    """The event's type and the provider's id for it; never its address."""
    if not isinstance(esp_event, Mapping):
        return type(esp_event).__name__
    data = esp_event.get("event-data")  # Mailgun
    if isinstance(data, Mapping):
        parts = (data.get("event"), data.get("id"))
    else:
        parts = (esp_event.get("event") or esp_event.get("RecordType"),
                 esp_event.get("sg_event_id") or esp_event.get("ID"))
    return ", ".join(redact(str(part))[:80] for part in parts if part not in (None, "")) or "?"


class EventByEvent:
    """Put before an anymail tracking view: an event that cannot be read is
    skipped and named in a warning, the rest of the post is stored. A post
    none of whose events can be read is refused (400) as a malformed one is.
    """

    def parse_events(self, request):
        self._unreadable: list[tuple[int, str, Exception]] = []
        self._seen = 0
        events = [event for event in super().parse_events(request) if event is not None]
        if not self._unreadable:
            return events
        provider = provider_name(self.esp_name)
        named = [
            f"{provider} event {n} of {self._seen} ({label}): {type(exc).__name__}: {redact(str(exc))[:200]}"
            for n, label, exc in self._unreadable
        ]
        if not events:
            raise UnreadableEvents("; ".join(named)) from self._unreadable[0][2]
        for line in named:
            logger.warning("skipped %s", line)
        return events

    def _read_one(self, convert: Callable, esp_event: Any):
        self._seen += 1
        try:
            return convert(esp_event)
        except UNREADABLE_EVENT as exc:
            self._unreadable.append((self._seen, _label(esp_event), exc))
            return None

    def esp_to_anymail_event(self, esp_event):
        return self._read_one(super().esp_to_anymail_event, esp_event)


class PostmarkTracking(EventByEvent, PostmarkTrackingWebhookView):
    pass


class MailgunTracking(EventByEvent, MailgunTrackingWebhookView):
    def mailgun_legacy_to_anymail_event(self, esp_event):
        return self._read_one(super().mailgun_legacy_to_anymail_event, esp_event)


class BrevoTracking(EventByEvent, BrevoTrackingWebhookView):
    pass


class SendGridTracking(EventByEvent, SendGridTrackingWebhookView):
    pass


# Amazon SES posts one SNS notification at a time and its timestamps are
# ISO strings (a bad one is a ValueError, refused with 400): anymail's view.
TRACKING_VIEWS = {
    "postmark": PostmarkTracking,
    "mailgun": MailgunTracking,
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTracking,
    "sendgrid": SendGridTracking,
}


def tracking_urlpatterns(*, providers: list[str]) -> list[URLPattern]:
    """``<provider>/tracking/`` for each of these providers and no other."""
    return [
        path(f"{name}/tracking/", TRACKING_VIEWS[name].as_view(), name=f"{name}_tracking_webhook")
        for name in providers
    ]
