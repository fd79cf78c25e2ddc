"""Security headers, admin login throttling and log redaction."""

from __future__ import annotations

import ipaddress
import logging
import re

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils.crypto import salted_hmac

from config.lib.ratelimit import rate_limit_count, rate_limit_release

# Scripts only from our own origin (no inline script anywhere); inline
# styles are allowed because premailer-inlined email previews need them.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' https: data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'self'",
    ]
)


class SecurityHeadersMiddleware:
    """Adds CSP and a Permissions-Policy, and makes sure the headers Django's
    middleware sets are on every response. It is the outermost middleware, so
    this covers responses other middleware answer by itself: the https
    redirect, 400s for a bad Host, 413s for oversized webhooks, 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        return response


def client_ip(request) -> str | None:
    """The client's address: the socket's, or, behind ``TRUSTED_PROXY_COUNT``
    reverse proxies that append to X-Forwarded-For, the one the outermost
    trusted proxy saw. Counted from the right, so a client cannot choose its
    own address by sending the header itself. None if it is not an address."""
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.TRUSTED_PROXY_COUNT:
        hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            candidate = hops[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


# Set on a request whose password check failed (Django's user_login_failed).
_SIGN_IN_FAILED = "_sign_in_failed"


@receiver(user_login_failed)
def _note_failed_sign_in(sender, credentials, request=None, **kwargs):
    if request is not None:
        setattr(request, _SIGN_IN_FAILED, True)


def _too_many_sign_ins(whose: str) -> HttpResponse:
    return HttpResponse(
        f"Too many failed sign-in attempts {whose}. Try again later.",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": str(settings.ADMIN_LOGIN_WINDOW_SECONDS)},
    )


def throttled_login(login_view):
    """Wrap the admin login: at most ADMIN_LOGIN_MAX_FAILURES failed password
    checks per client address, whatever usernames it tries, and as many per
    username, from whatever addresses, in each ADMIN_LOGIN_WINDOW_SECONDS
    window. Further attempts are refused, even with the right password, until
    the window ends. Every method but GET and HEAD is an attempt, so no other
    verb slips past the check.

    Each attempt takes its slot (an atomic increment) before the password is
    checked, so concurrent attempts cannot all pass the check together; the
    slot is given back when no password check failed (the right password, an
    incomplete form, a method that cannot sign in)."""

    def view(request, *args, **kwargs):
        if request.method in ("GET", "HEAD"):
            return login_view(request, *args, **kwargs)
        username = request.POST.get("username", "").strip()
        limit, window = settings.ADMIN_LOGIN_MAX_FAILURES, settings.ADMIN_LOGIN_WINDOW_SECONDS
        by_address = rate_limit_count(scope="admin-login-ip", key=client_ip(request) or "unknown",
                                      limit=limit, window=window)
        attempts = [by_address]
        if username:
            attempts.append(rate_limit_count(scope="admin-login-username", key=username, limit=limit,
                                             window=window))
        if not by_address.allowed:
            response = _too_many_sign_ins("from your address")
        elif not all(attempt.allowed for attempt in attempts):
            response = _too_many_sign_ins("for this username")
        else:
            response = login_view(request, *args, **kwargs)
            if getattr(request, _SIGN_IN_FAILED, False):
                return response  # the slots stay taken: this was a failed guess
        for attempt in attempts:
            rate_limit_release(attempt=attempt)
        return response

    return view


# Any character an address may hold before the @ (apostrophes, plus tags),
# and internationalised domains: \w is Unicode-aware.
_EMAIL_RE = re.compile(r"([\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]*@([\w-]+(?:\.[\w-]+)*\.\w{2,})")
# Signed tokens in our URLs: /confirm/<t>/, /preferences/<t>/, /unsubscribe/<t>/,
# /digests/<date>/<t>/, /feedback/<date>/<t>/ and /feedback/<t>/.
_TOKEN_RE = re.compile(
    r"(/(?:confirm|preferences|unsubscribe|feedback/[\d-]+|feedback|digests/[\d-]+)/)[^/\s\"?]+"
)


def redact(text: str) -> str:
    """Mask addresses (a***@example.org) and signed tokens in a log line."""
    text = _EMAIL_RE.sub(r"\1***@\2", text)
    return _TOKEN_RE.sub(r"\1[token]", text)


class RedactingFilter(logging.Filter):
    """Applied to every handler: no full address or token reaches a log,
    neither in the message nor in a traceback (an email provider's error
    often quotes the recipient)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text instead of formatting the exception again.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def address_log_key(email: str) -> str:
    """A stand-in for an address in logs, "addr:1a2b3c4d5e6f": the same
    address always gives the same key (follow one address's requests, or
    compute the key of an address you are asked about), but it is keyed with
    SECRET_KEY, so a log reader cannot test guessed addresses against it."""
    return "addr:" + salted_hmac("daily-papers.log-address", email.strip().lower()).hexdigest()[:12]
