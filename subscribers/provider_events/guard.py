"""Guards in front of anymail's webhook views (``/anymail/...``)."""

from __future__ import annotations

import logging

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpResponse

from config.security import redact

logger = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/anymail/"

# What anymail raises on a payload it cannot parse (bad JSON, JSON nested
# beyond Python's recursion limit, a list where an object belongs, missing
# fields), on a webhook URL whose provider is not
# configured, or on an inbound message posted to a tracking URL. Database
# errors and our own bugs are none of these: they stay 500s, so the provider
# retries and nothing is lost.
BAD_PAYLOAD = (
    ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, AnymailError,
    ImproperlyConfigured,
)


# anymail answers some refusals with an empty body (Amazon SES: 401 asking for
# basic auth); every refusal should say why in words.
_REFUSALS = {
    400: "Bad webhook request.",
    401: "Webhook credentials required (basic auth).",
    403: "Webhook credentials refused.",
}


def _explained(response: HttpResponse) -> HttpResponse:
    # 405 is explained by config.errors (it names the allowed methods).
    if 400 <= response.status_code < 500 and response.status_code != 405 \
            and not getattr(response, "streaming", False) \
            and not response.content.strip():
        response.content = (_REFUSALS.get(response.status_code, "Webhook request refused.") + "\n").encode()
        response["Content-Type"] = "text/plain; charset=utf-8"
    return response


class WebhookGuardMiddleware:
    """For ``/anymail/`` only: refuses bodies over ``WEBHOOK_MAX_BODY_BYTES``
    with 413 before anything reads them; stores a post's events in one
    transaction, rolled back if the answer is a server error; answers a
    payload anymail cannot parse with 400 and one log line instead of a 500
    and a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(WEBHOOK_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                logger.warning("webhook %s refused: bad Content-Length", request.path)
                return HttpResponse("Bad Content-Length.\n", status=400, content_type="text/plain")
            if length > settings.WEBHOOK_MAX_BODY_BYTES:
                logger.warning("webhook %s refused: %d bytes is over the limit", request.path, length)
                return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
            # One commit for the whole post (a SendGrid batch holds hundreds
            # of events); a server error stores none of it, and the
            # provider's retry brings it all again.
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
            return _explained(response)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(WEBHOOK_PREFIX) or not isinstance(exception, BAD_PAYLOAD):
            return None
        # The exception may quote the payload, addresses included.
        logger.warning(
            "webhook %s refused: %s: %s", request.path, type(exception).__name__, redact(str(exception)[:200])
        )
        return HttpResponse("Malformed webhook payload.\n", status=400, content_type="text/plain")
