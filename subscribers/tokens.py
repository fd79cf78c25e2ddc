"""Stateless signed links: confirm, preferences, unsubscribe, digest copy,
feedback on a digest, and the reader's private feed.

A token carries the subscriber id and a fingerprint of the address, no
readable email. Each purpose has its own salt, so a token made for one purpose
is refused for every other. The fingerprint makes a token die with the address:
after erasure or an address change old links stop working. It is an HMAC
keyed with a key derived from SECRET_KEY, so someone holding a link cannot
test a guessed address against it. A ``scope`` (the edition date of a
feedback link) joins the salt, so a token made for one edition is refused for
another.

Lifetimes: a confirmation link works for ``CONFIRM_MAX_AGE``, a preferences
link for ``PREFERENCES_LINK_MAX_AGE_DAYS`` (a setting; a fresh one comes
with every digest, and an expired one offers to email a new one); the others
do not expire (an unsubscribe link must work from any old email, RFC 8058).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

from subscribers.addresses import address_spellings, email_key
from subscribers.models import Subscriber

PURPOSES = ("confirm", "preferences", "unsubscribe", "digest", "feedback", "feed")
CONFIRM_MAX_AGE = timedelta(days=7)
FINGERPRINT_SALT = "daily-papers.address-fingerprint"
# Links made before fingerprints were keyed carry sha256(address)[:12]; they
# are read until they are this old, then refused like any broken link.
UNKEYED_FINGERPRINT_MAX_AGE = timedelta(days=365)


class TokenInvalid(Exception):
    """Tampered, truncated, for another purpose, or for an address that is gone."""


class TokenExpired(TokenInvalid):
    """Genuine but too old (confirmation and preferences links). ``subscriber``
    is the reader it names, so the page can offer to send a fresh link."""

    def __init__(self, message: str, *, subscriber: Subscriber | None = None):
        super().__init__(message)
        self.subscriber = subscriber


def preferences_max_age() -> timedelta:
    return timedelta(days=settings.PREFERENCES_LINK_MAX_AGE_DAYS)


def purpose_max_age(purpose: str) -> timedelta | None:
    """How long a link made for ``purpose`` works; None: for ever."""
    if purpose == "confirm":
        return CONFIRM_MAX_AGE
    if purpose == "preferences":
        return preferences_max_age()
    return None


@lru_cache(maxsize=8)
def _fingerprinter(secret: str):
    # Django's salted_hmac with the key derived once: copied for each address.
    return salted_hmac(FINGERPRINT_SALT, b"", secret, algorithm="sha256")


def email_fingerprint(email: str, *, secret: str | None = None) -> str:
    """What a token carries of the address: enough to die with it, not to
    read it or to test a guess without the key. Equal to
    ``salted_hmac(FINGERPRINT_SALT, email_key(email), secret, algorithm="sha256")``,
    cut to 12 hex digits."""
    mac = _fingerprinter(secret if secret is not None else settings.SECRET_KEY).copy()
    mac.update(email_key(email).encode())
    return mac.hexdigest()[:12]


def _unkeyed_fingerprints(email: str) -> set[str]:
    """The fingerprints links made before keying carry: of the address as
    stored then (a domain may have been stored in Unicode since written in
    IDNA form, see ``subscribers.addresses``)."""
    return {hashlib.sha256(s.lower().encode()).hexdigest()[:12] for s in address_spellings(email)}


def purpose_salt(purpose: str, scope: str = "") -> str:
    """The signing salt of a purpose (and scope): a token for one is refused for every other."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"daily-papers.{purpose}" + (f".{scope}" if scope else "")


def token_make(*, subscriber: Subscriber, purpose: str, scope: str = "") -> str:
    payload = [subscriber.pk, email_fingerprint(subscriber.email)]
    return signing.dumps(payload, salt=purpose_salt(purpose, scope), compress=True)


def _payload(token: str, *, salt: str, max_age: timedelta | None):
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise TokenInvalid("this link is not valid") from None


def _fingerprint_matches(subscriber: Subscriber, fingerprint: str, *, token: str, salt: str) -> bool:
    # A token signed under a key in SECRET_KEY_FALLBACKS has its fingerprint keyed by it too.
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if hmac.compare_digest(email_fingerprint(subscriber.email, secret=secret), fingerprint):
            return True
    if fingerprint in _unkeyed_fingerprints(subscriber.email):
        try:
            _payload(token, salt=salt, max_age=UNKEYED_FINGERPRINT_MAX_AGE)
        except signing.SignatureExpired:
            return False
        return True
    return False


def token_read(*, token: str, purpose: str, scope: str = "", any_age: bool = False) -> Subscriber:
    """The subscriber a token names, or TokenInvalid / TokenExpired (past the
    purpose's lifetime, ``purpose_max_age``; ``any_age`` reads it anyway, to
    send the reader a fresh link)."""
    salt = purpose_salt(purpose, scope)
    max_age = None if any_age else purpose_max_age(purpose)
    expired = False
    try:
        payload = _payload(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        expired = True
        payload = _payload(token, salt=salt, max_age=None)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)
            and isinstance(payload[1], str)):
        raise TokenInvalid("this link is not valid")
    subscriber = Subscriber.objects.filter(pk=payload[0]).first()
    if subscriber is None or not _fingerprint_matches(subscriber, payload[1], token=token, salt=salt):
        raise TokenInvalid("this link is no longer valid")
    if expired:
        raise TokenExpired("this link has expired", subscriber=subscriber)
    return subscriber
