"""Security headers, admin login throttling and log redaction."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpResponse

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
    """Adds the headers Django's SecurityMiddleware does not: CSP and a
    Permissions-Policy. Set on every response, error pages included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def client_ip(request) -> str:
    """The client's address. Behind a proxy, gunicorn's forwarded_allow_ips
    and SECURE_PROXY_SSL_HEADER decide what to trust; here we only read
    REMOTE_ADDR, which the proxy setup rewrites when trusted."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _login_key(ip: str) -> str:
    return f"admin-login-failures:{ip}"


@receiver(user_login_failed)
def _count_login_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    key = _login_key(client_ip(request))
    window = settings.ADMIN_LOGIN_WINDOW_SECONDS
    if cache.add(key, 1, timeout=window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)


def throttled_login(login_view):
    """Wrap the admin login: after ADMIN_LOGIN_MAX_FAILURES failed attempts
    from one address, refuse further attempts for the window."""

    def view(request, *args, **kwargs):
        if request.method == "POST":
            failures = cache.get(_login_key(client_ip(request)), 0)
            if failures >= settings.ADMIN_LOGIN_MAX_FAILURES:
                return HttpResponse(
                    "Too many failed sign-in attempts from your address. Try again later.",
                    status=429,
                    content_type="text/plain",
                    headers={"Retry-After": str(settings.ADMIN_LOGIN_WINDOW_SECONDS)},
                )
        return login_view(request, *args, **kwargs)

    return view


_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Signed tokens in our URLs: /confirm/<t>/, /preferences/<t>/, /unsubscribe/<t>/,
# /digests/<date>/<t>/ and /feedback/<t>/.
_TOKEN_RE = re.compile(r"(/(?:confirm|preferences|unsubscribe|feedback|digests/[\d-]+)/)[^/\s\"?]+")


def redact(text: str) -> str:
    """Mask addresses (a***@example.org) and signed tokens in a log line."""
    text = _EMAIL_RE.sub(r"\1***@\2", text)
    return _TOKEN_RE.sub(r"\1[token]", text)


class RedactingFilter(logging.Filter):
    """Applied to every handler: no full address or token reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
