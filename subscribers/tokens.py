"""Stateless signed links: confirm, preferences, unsubscribe, digest copy,
feedback on a digest, and the reader's private feed.

A token carries the subscriber id and a short fingerprint of the address, no
readable email. Each purpose has its own salt, so a token made for one purpose
is refused for every other. The fingerprint makes a token die with the address:
after erasure or an address change old links stop working. A ``scope`` (the
edition date of a feedback link) joins the salt, so a token made for one
edition is refused for another.
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


def email_fingerprint(email: str) -> str:
    """What a token carries of the address: enough to die with it, not to read it."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def purpose_salt(purpose: str, scope: str = "") -> str:
    """The signing salt of a purpose (and scope): a token for one is refused for every other."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"daily-papers.{purpose}" + (f".{scope}" if scope else "")


def token_make(*, subscriber: Subscriber, purpose: str, scope: str = "") -> str:
    payload = [subscriber.pk, email_fingerprint(subscriber.email)]
    return signing.dumps(payload, salt=purpose_salt(purpose, scope), compress=True)


def token_read(*, token: str, purpose: str, scope: str = "", max_age: timedelta | None = None) -> Subscriber:
    """The subscriber a token names, or TokenInvalid / TokenExpired."""
    if purpose == "confirm" and max_age is None:
        max_age = CONFIRM_MAX_AGE
    try:
        payload = signing.loads(token, salt=purpose_salt(purpose, scope), max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired("this link has expired") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise TokenInvalid("this link is not valid") from None
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise TokenInvalid("this link is not valid")
    subscriber = Subscriber.objects.filter(pk=payload[0]).first()
    if subscriber is None or email_fingerprint(subscriber.email) != payload[1]:
        raise TokenInvalid("this link is no longer valid")
    return subscriber

