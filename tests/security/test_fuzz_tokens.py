"""Signed links under attack: random, truncated, tampered, signed with
another key, or made for another purpose. Every one is refused with the
friendly link-problem page (400, or 410 for an expired confirmation), never
a 500, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscribers.models import Subscriber
from subscribers.services import subscriber_erase
from subscribers.tokens import (
    PURPOSES,
    TokenExpired,
    TokenInvalid,
    email_fingerprint,
    token_make,
    token_read,
)
from tests.factories import reader_make
from tests.fuzz_strategies import hostile_text

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:."
# Where each purpose's token is read over HTTP, and how.
LINKS = {
    "confirm": [("get", "/confirm/{}/"), ("post", "/confirm/{}/")],
    "preferences": [("get", "/preferences/{}/"), ("post", "/preferences/{}/export/"),
                    ("post", "/preferences/{}/erase/")],
    "unsubscribe": [("get", "/unsubscribe/{}/"), ("post_one_click", "/unsubscribe/{}/")],
}


@pytest.fixture
def reader():
    return reader_make(email="ada@example.org")


def reader_state(reader) -> tuple:
    return tuple(Subscriber.objects.filter(pk=reader.pk).values_list(
        "email", "status", "unsubscribed_at", "updated_at"))


def visit(method: str, path: str):
    client = Client(raise_request_exception=False)
    if method == "post_one_click":
        return client.post(path, data={"List-Unsubscribe": "One-Click"})
    return getattr(client, method)(path)


def assert_link_refused(reader, purpose: str, token: str) -> None:
    """Every address that reads ``purpose`` tokens shows the friendly page
    and leaves the reader as they were."""
    before = reader_state(reader)
    for method, template in LINKS[purpose]:
        response = visit(method, template.format(token))
        assert response.status_code in (400, 404, 410), (method, template, response.status_code)
        if response.status_code != 404:  # 404: the garbage held a "/", so no link matched
            page = response.content.decode()
            assert "This link does not work" in page or "This link has expired" in page
            assert 'action="/confirm/resend/"' in page  # and a way forward
    assert reader_state(reader) == before


tokens_like = st.one_of(
    st.text(TOKEN_ALPHABET, max_size=120),
    hostile_text,
    st.builds(lambda a, b, c: f"{a}:{b}:{c}", st.text(TOKEN_ALPHABET, max_size=40),
              st.text(TOKEN_ALPHABET, max_size=8), st.text(TOKEN_ALPHABET, max_size=43)),
)


@FUZZ
@given(token=tokens_like, purpose=st.sampled_from(PURPOSES))
def test_random_strings_are_never_a_valid_link(reader, token, purpose):
    with pytest.raises(TokenInvalid):
        token_read(token=token, purpose=purpose)


@settings(FUZZ, max_examples=25)  # HTTP: each example visits every link
@given(token=st.text(TOKEN_ALPHABET, min_size=1, max_size=80), purpose=st.sampled_from(sorted(LINKS)))
def test_random_links_get_the_link_problem_page(reader, token, purpose):
    assert_link_refused(reader, purpose, token)


@FUZZ
@given(data=st.data(), purpose=st.sampled_from(PURPOSES))
def test_any_cut_or_changed_token_is_refused(reader, data, purpose):
    token = token_make(subscriber=reader, purpose=purpose)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    edit = data.draw(st.sampled_from(["cut", "flip", "drop", "insert"]))
    char = data.draw(st.sampled_from(TOKEN_ALPHABET))
    if edit == "cut":
        bad = token[:position]
    elif edit == "drop":
        bad = token[:position] + token[position + 1:]
    elif edit == "insert":
        bad = token[:position] + char + token[position:]
    else:
        bad = token[:position] + (char if char != token[position] else "~") + token[position + 1:]

    with pytest.raises(TokenInvalid):
        token_read(token=bad, purpose=purpose)


@FUZZ
@given(key=st.text(min_size=1, max_size=60), purpose=st.sampled_from(PURPOSES))
def test_tokens_signed_with_another_key_are_refused(reader, settings, key, purpose):
    if key == settings.SECRET_KEY:
        return
    payload = [reader.pk, email_fingerprint(reader.email)]
    forged = signing.dumps(payload, key=key, salt=f"daily-papers.{purpose}", compress=True)

    with pytest.raises(TokenInvalid):
        token_read(token=forged, purpose=purpose)


@pytest.mark.parametrize("made_for", PURPOSES)
@pytest.mark.parametrize("used_for", PURPOSES)
def test_a_token_only_works_for_its_own_purpose(reader, made_for, used_for):
    token = token_make(subscriber=reader, purpose=made_for)
    if made_for == used_for:
        assert token_read(token=token, purpose=used_for) == reader
    else:
        with pytest.raises(TokenInvalid):
            token_read(token=token, purpose=used_for)


@pytest.mark.parametrize("purpose", sorted(LINKS))
def test_links_for_another_purpose_or_another_key_get_the_link_problem_page(reader, purpose):
    other_purpose = next(p for p in PURPOSES if p != purpose)
    wrong_purpose = token_make(subscriber=reader, purpose=other_purpose)
    wrong_key = signing.dumps([reader.pk, email_fingerprint(reader.email)],
                              key="another-secret-key-" + "x" * 40,
                              salt=f"daily-papers.{purpose}", compress=True)
    genuine = token_make(subscriber=reader, purpose=purpose)

    for token in (wrong_purpose, wrong_key, genuine[:-1], genuine[: len(genuine) // 2], genuine + "x"):
        assert_link_refused(reader, purpose, token)


@pytest.mark.parametrize(
    "payload",
    [[10**30, "x"], [-1, "x"], [2**63, "x"], [1.5, "x"], [None, "x"], [1], [1, 2, 3], {"id": 1}, "1", None],
    ids=["huge-id", "negative-id", "bigint-overflow", "float-id", "null-id", "one-item", "three-items",
         "object", "string", "null"],
)
def test_genuinely_signed_but_malformed_payloads_are_refused(reader, payload):
    # Only a leaked key could make these; they still must not crash anything.
    token = signing.dumps(payload, salt="daily-papers.preferences", compress=True)

    with pytest.raises(TokenInvalid):
        token_read(token=token, purpose="preferences")
    assert_link_refused(reader, "preferences", token)


def test_links_of_an_erased_reader_are_refused(reader):
    tokens = {purpose: token_make(subscriber=reader, purpose=purpose) for purpose in LINKS}
    subscriber_erase(subscriber=reader)

    for purpose, token in tokens.items():
        for method, template in LINKS[purpose]:
            response = visit(method, template.format(token))
            assert response.status_code == 400
            assert "This link does not work" in response.content.decode()


def test_links_die_with_a_changed_address(reader):
    token = token_make(subscriber=reader, purpose="unsubscribe")
    Subscriber.objects.filter(pk=reader.pk).update(email="ada.new@example.org")

    with pytest.raises(TokenInvalid):
        token_read(token=token, purpose="unsubscribe")


def test_an_old_confirmation_link_is_expired_not_broken():
    pending = reader_make(email="bob@example.org", status=Subscriber.Status.PENDING)
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC), tick=False):
        token = token_make(subscriber=pending, purpose="confirm")

    with time_machine.travel(dt.datetime(2026, 11, 9, 9, tzinfo=dt.UTC), tick=False):
        with pytest.raises(TokenExpired):
            token_read(token=token, purpose="confirm")
        response = Client().post(f"/confirm/{token}/")

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert Subscriber.objects.get(pk=pending.pk).status == Subscriber.Status.PENDING
