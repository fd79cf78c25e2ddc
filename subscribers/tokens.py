"""Stateless signed links: confirm, preferences, unsubscribe, digest copy,
feedback, and the reader's private feed.

A token carries the subscriber id and a short fingerprint of the address, no
readable email. Each purpose has its own salt, so a token made for one purpose
is refused for every other. The fingerprint makes a token die with the address:
after erasure or an address change old links stop working.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core import signing

from subscribers.models import Subscriber

PURPOSES = ("confirm", "preferences", "unsubscribe", "digest", "feedback", "feed")
CONFIRM_MAX_AGE = timedelta(days=7)


class TokenInvalid(Exception):
    """Tampered, truncated, for another purpose, or for an address that is gone."""


class TokenExpired(TokenInvalid):
    """Genuine but too old (confirmation links)."""


def _fingerprint(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"daily-papers.{purpose}"


def token_make(*, subscriber: Subscriber, purpose: str) -> str:
    payload = [subscriber.pk, _fingerprint(subscriber.email)]
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def token_read(*, token: str, purpose: str, max_age: timedelta | None = None) -> Subscriber:
    """The subscriber a token names, or TokenInvalid / TokenExpired."""
    if purpose == "confirm" and max_age is None:
        max_age = CONFIRM_MAX_AGE
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired("this link has expired") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise TokenInvalid("this link is not valid") from None
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise TokenInvalid("this link is not valid")
    subscriber = Subscriber.objects.filter(pk=payload[0]).first()
    if subscriber is None or _fingerprint(subscriber.email) != payload[1]:
        raise TokenInvalid("this link is no longer valid")
    return subscriber


def token_subscriber_id(*, token: str, purpose: str) -> int | None:
    """The id a token names without a database read (hot paths), or None."""
    try:
        payload = signing.loads(token, salt=_salt(purpose))
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    return payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], int) else None
