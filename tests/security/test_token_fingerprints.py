"""What a signed link tells its holder about the address: nothing they can
test a guess against without the server's key. Links made before the
fingerprint was keyed keep working until they are a year old."""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils.crypto import salted_hmac

from newsletter.digest.build import reader_of
from newsletter.digest.links import token_minter
from subscribers.tokens import (
    FINGERPRINT_SALT,
    PURPOSES,
    TokenExpired,
    TokenInvalid,
    email_fingerprint,
    token_make,
    token_read,
)
from tests.factories import reader_make

pytestmark = pytest.mark.django_db

THEN = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def _fingerprint_in(token: str) -> str:
    """What anyone holding the link can read: the payload is only base64."""
    encoded = token.split(":")[0]
    raw = signing.b64_decode(encoded.lstrip(".").encode())
    if encoded.startswith("."):
        raw = zlib.decompress(raw)
    return signing.JSONSerializer().loads(raw)[1]


def _unkeyed(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def _legacy_token(*, pk: int, email: str, purpose: str) -> str:
    """A link as made before fingerprints were keyed."""
    return signing.dumps([pk, _unkeyed(email)], salt=f"daily-papers.{purpose}", compress=True)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_link_does_not_let_its_holder_test_a_guessed_address(settings, purpose):
    reader = reader_make("ada@example.org")
    seen = _fingerprint_in(token_make(subscriber=reader, purpose=purpose))
    # The guess is right, yet the holder's hash of it does not match...
    assert seen != _unkeyed("ada@example.org")
    # ...because only the server's key makes the fingerprint.
    mac = salted_hmac(FINGERPRINT_SALT, "ada@example.org", settings.SECRET_KEY, algorithm="sha256")
    assert seen == mac.hexdigest()[:12]
    assert seen != email_fingerprint("ada@example.org", secret="another-key-" + "x" * 40)


def test_the_digest_links_minted_in_bulk_carry_the_keyed_fingerprint():
    reader = reader_make("ada@example.org")
    for token in token_minter("unsubscribe", "preferences", "digest").mint(reader_of(reader)):
        assert _fingerprint_in(token) == email_fingerprint("ada@example.org") != _unkeyed("ada@example.org")


@pytest.mark.parametrize("purpose", ["unsubscribe", "digest", "feed", "feedback"])
def test_links_made_before_keying_work_until_a_year_old(purpose):
    reader = reader_make("Ada@Example.org")
    scope = "2026-03-01" if purpose == "feedback" else ""
    with time_machine.travel(THEN, tick=False):
        token = signing.dumps([reader.pk, _unkeyed("Ada@Example.org")],
                              salt=f"daily-papers.{purpose}" + (f".{scope}" if scope else ""), compress=True)
    with time_machine.travel(THEN + dt.timedelta(days=364), tick=False):
        assert token_read(token=token, purpose=purpose, scope=scope) == reader
    with time_machine.travel(THEN + dt.timedelta(days=366), tick=False), pytest.raises(TokenInvalid):
        token_read(token=token, purpose=purpose, scope=scope)


def test_an_old_unsubscribe_link_still_unsubscribes_in_one_click():
    reader = reader_make("ada@example.org")
    with time_machine.travel(THEN, tick=False):
        token = _legacy_token(pk=reader.pk, email=reader.email, purpose="unsubscribe")
    with time_machine.travel(THEN + dt.timedelta(days=200), tick=False):
        response = Client().post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == "unsubscribed"


def test_an_old_link_of_a_reader_whose_domain_was_stored_in_unicode_still_works():
    # Stored as x@bücher.example when the link was made, in IDNA form since.
    reader = reader_make("x@xn--bcher-kva.example")
    with time_machine.travel(THEN, tick=False):
        token = _legacy_token(pk=reader.pk, email="x@bücher.example", purpose="unsubscribe")
    with time_machine.travel(THEN + dt.timedelta(days=30), tick=False):
        assert token_read(token=token, purpose="unsubscribe") == reader


def test_an_old_link_names_only_its_own_address_and_dies_with_it():
    reader = reader_make("ada@example.org")
    other = reader_make("grace@example.org")
    with pytest.raises(TokenInvalid):
        token_read(token=_legacy_token(pk=other.pk, email="ada@example.org", purpose="unsubscribe"),
                   purpose="unsubscribe")
    legacy = _legacy_token(pk=reader.pk, email="ada@example.org", purpose="unsubscribe")
    assert token_read(token=legacy, purpose="unsubscribe") == reader
    reader.email = "ada.new@example.org"
    reader.save()
    with pytest.raises(TokenInvalid):
        token_read(token=legacy, purpose="unsubscribe")


def test_links_signed_under_a_rotated_out_key_still_work(settings):
    reader = reader_make("ada@example.org")
    settings.SECRET_KEY = "old-" + "k" * 50
    tokens = {p: token_make(subscriber=reader, purpose=p) for p in ("unsubscribe", "digest")}
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-" + "k" * 50, ["old-" + "k" * 50]
    for purpose, token in tokens.items():
        assert token_read(token=token, purpose=purpose) == reader
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(TokenInvalid):
        token_read(token=tokens["unsubscribe"], purpose="unsubscribe")


def test_an_expired_preferences_link_names_its_reader_for_a_fresh_one(settings):
    settings.PREFERENCES_LINK_MAX_AGE_DAYS = 30
    reader = reader_make("ada@example.org")
    with time_machine.travel(THEN, tick=False):
        token = token_make(subscriber=reader, purpose="preferences")
    with time_machine.travel(THEN + dt.timedelta(days=29), tick=False):
        assert token_read(token=token, purpose="preferences") == reader
    with time_machine.travel(THEN + dt.timedelta(days=31), tick=False):
        with pytest.raises(TokenExpired) as expired:
            token_read(token=token, purpose="preferences")
        assert expired.value.subscriber == reader
        assert token_read(token=token, purpose="preferences", any_age=True) == reader
