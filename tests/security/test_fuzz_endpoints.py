"""Bad input to every public address: random paths, query strings, methods,
content types and bodies, invalid UTF-8 anywhere, huge bodies. The answer is
a 4xx in words (or the form again, with its errors), never a 500, and
nothing is stored or sent."""

from __future__ import annotations

import base64
import contextlib
import json
from urllib.parse import quote, quote_from_bytes

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.models import Delivery, Edition, Paper
from subscribers.choices import timezone_names
from subscribers.models import ConsentRecord, ProviderEvent, Subscriber, Suppression
from subscribers.tokens import token_make
from tests import provider_payloads as p
from tests.factories import reader_make
from tests.fuzz_strategies import hostile_text, json_values

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=no-such-charset", "multipart/form-data; boundary=BoUnDaRy",
    "multipart/form-data", "multipart/form-data; boundary=", "application/json", "text/plain", "text/xml",
    "", "*/*", "application/x-www-form-urlencoded; charset=\"utf-8",
]
FORM = "application/x-www-form-urlencoded"
PROVIDERS = ["postmark", "mailgun", "sendgrid", "brevo", "amazon_ses", "no-such-provider"]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Hundreds of requests from one address: the limits are tested elsewhere.
    settings.SUBSCRIBE_RATE_PER_IP = 10**9
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 10**9


@pytest.fixture
def readers():
    active = reader_make(email="ada@example.org", keywords="Mamba")
    pending = reader_make(email="bob@example.org", status=Subscriber.Status.PENDING)
    return {
        "active": active,
        "confirm": token_make(subscriber=pending, purpose="confirm"),
        "preferences": token_make(subscriber=active, purpose="preferences"),
        "unsubscribe": token_make(subscriber=active, purpose="unsubscribe"),
        # For /digests/<date>/<token>/ (the digest's web copy), once it is routed.
        "digest": token_make(subscriber=active, purpose="digest"),
    }


def state() -> tuple:
    """Everything a request could store or change."""
    return (
        tuple(Subscriber.objects.order_by("pk").values_list(
            "pk", "email", "status", "keywords", "frequency", "weekday", "timezone", "send_hour", "paused",
            "confirmation_requested_at", "confirmation_sent_at", "pending_choices", "updated_at",
        )),
        tuple(Subscriber.topics.through.objects.order_by("pk").values_list("subscriber_id", "topic_id")),
        ConsentRecord.objects.count(), Suppression.objects.count(), ProviderEvent.objects.count(),
        Paper.objects.count(), Edition.objects.count(), Delivery.objects.count(), len(mail.outbox),
    )


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def browser(**defaults) -> Client:
    """What the internet sees: CSRF enforced, 500s returned rather than raised."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False, **defaults)


def assert_clear_refusal(response, method: str) -> None:
    assert response.status_code < 500, response.content[:500]
    assert "Content-Security-Policy" in response
    if response.status_code >= 400 and method != "HEAD":
        assert response.content.strip(), f"{response.status_code} without a message"


# --- strategies ------------------------------------------------------------------

def _encoded(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


garbage_segments = st.one_of(
    hostile_text.map(_encoded),
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b, safe="")),
    st.sampled_from(["a" * 5000, "%", "%zz", "..", "%2F", "%00", "%FF%FE", "eyJ0eXAiOiJKV1Qi.abc:def"]),
)
query_strings = st.one_of(
    st.just(""),
    garbage_segments.map(lambda q: "?" + q),
    st.binary(max_size=40).map(lambda b: "?q=" + quote_from_bytes(b) + "&email=%FF%FE&next=//evil.example"),
)


@st.composite
def paths(draw, tokens: dict[str, str]) -> str:
    """Every public address, with the reader's real tokens, tokens for
    another purpose, or garbage where a token goes (only garbage if
    ``tokens`` is empty)."""

    def token(purpose: str) -> str:
        if not tokens:
            return draw(garbage_segments)
        real = st.one_of(st.just(tokens[purpose]), st.sampled_from(list(tokens.values())))
        return draw(st.one_of(real, garbage_segments))

    template = draw(st.sampled_from([
        "/", "/healthz/", "/subscribe/", "/subscribe/check-your-inbox/", "/confirm/resend/", "confirm",
        "preferences", "preferences-export", "preferences-erase", "unsubscribe", "webhook",
        "/digests/2025-08-05/", "digest", "garbage", "preferences-form", "new-link",
    ]))
    path = {
        "confirm": lambda: f"/confirm/{token('confirm')}/",
        "preferences": lambda: f"/preferences/{token('preferences')}/",
        "preferences-export": lambda: f"/preferences/{token('preferences')}/export/",
        "preferences-erase": lambda: f"/preferences/{token('preferences')}/erase/",
        "unsubscribe": lambda: f"/unsubscribe/{token('unsubscribe')}/",
        "webhook": lambda: f"/anymail/{draw(st.sampled_from(PROVIDERS))}/tracking/",
        "digest": lambda: f"/digests/2025-08-05/{token('digest')}/",
        "garbage": lambda: "/" + draw(garbage_segments) + "/",
        "new-link": lambda: (f"/preferences/new-link/{draw(st.sampled_from(['preferences', 'digest', 'x']))}/"
                             f"{token('preferences')}/"),
        "preferences-form": lambda: f"/preferences/{tokens['preferences']}/" if tokens else "/",
    }.get(template, lambda: template)()
    return path + draw(query_strings)


@st.composite
def form_bodies(draw) -> bytes:
    pairs = draw(st.lists(st.tuples(hostile_text, hostile_text), max_size=4))
    return "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in pairs).encode()


@st.composite
def multipart_bodies(draw) -> bytes:
    parts = []
    for name, value in draw(st.lists(st.tuples(hostile_text, st.binary(max_size=20)), max_size=3)):
        header = f'Content-Disposition: form-data; name="{name}"'.encode("utf-8", "surrogatepass")
        parts.append(b"--BoUnDaRy\r\n" + header + b"\r\n\r\n" + value + b"\r\n")
    ending = draw(st.sampled_from([b"--BoUnDaRy--\r\n", b"", b"--BoUnDaRy"]))
    return b"".join(parts) + ending


bodies = st.one_of(
    st.binary(max_size=300), form_bodies(), multipart_bodies(),
    json_values.map(lambda v: json.dumps(v).encode()),
)


# --- properties ------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_any_request_to_any_public_address_is_answered_without_error_and_changes_nothing(readers, data):
    client = browser()
    path = data.draw(paths({k: v for k, v in readers.items() if k != "active"}))
    method = data.draw(st.sampled_from(METHODS))
    content_type = data.draw(st.sampled_from(CONTENT_TYPES))
    body = data.draw(bodies)
    auth = data.draw(st.sampled_from([{}, p.WRONG_AUTH, {"HTTP_AUTHORIZATION": "Basic %%%"}]))
    before = state()

    with rolled_back():
        response = client.generic(method, path, data=body, content_type=content_type, **auth)
        assert_clear_refusal(response, method)
        assert state() == before, f"{method} {path[:120]} changed something"


@FUZZ
@given(data=st.data())
def test_any_request_past_the_csrf_check_is_answered_without_error_and_changes_nothing(readers, data):
    # As if the attacker had a CSRF token: the views themselves meet the
    # garbage. Real tokens only for the preferences form (any other real
    # token with a valid POST is an unsubscribe or an erasure, by design).
    client = Client(raise_request_exception=False)
    path = data.draw(st.one_of(paths({}), st.just(f"/preferences/{readers['preferences']}/")))
    method = data.draw(st.sampled_from(METHODS))
    content_type = data.draw(st.sampled_from(CONTENT_TYPES))
    body = data.draw(bodies)
    before = state()

    with rolled_back():
        response = client.generic(method, path, data=body, content_type=content_type)
        assert_clear_refusal(response, method)
        assert state() == before, f"{method} {path[:120]} changed something"


def _field(value_strategy, good):
    return st.one_of(st.just(good), st.just(good), value_strategy)


form_fields = st.fixed_dictionaries({
    "email": _field(hostile_text, "new.reader@example.org"),
    "topics": st.lists(_field(hostile_text, "reasoning"), max_size=3),
    "keywords": _field(hostile_text, "Mamba, KV cache"),
    "frequency": _field(hostile_text, "weekly"),
    "weekday": _field(hostile_text, "2"),
    "timezone": _field(hostile_text, "Europe/Paris"),
    "send_hour": _field(hostile_text, "6"),
    "paused": _field(hostile_text, "on"),
    "leave_empty": _field(hostile_text, ""),
})


# Header values as a WSGI server hands them over: raw bytes read as Latin-1.
header_values = hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass").decode("latin-1"))
request_headers = st.fixed_dictionaries({}, optional={
    "HTTP_USER_AGENT": header_values,
    "HTTP_X_FORWARDED_FOR": st.one_of(header_values, st.just("10.0.0.1, 203.0.113.9")),
    "HTTP_COOKIE": header_values,
    "HTTP_ACCEPT_LANGUAGE": header_values,
    "REMOTE_ADDR": st.one_of(st.just("::1"), header_values),
})


def _urlencoded(fields: dict) -> bytes:
    pairs = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{key}={_encoded(item)}")
    return "&".join(pairs).encode()


def assert_stored_values_are_clean() -> None:
    for reader in Subscriber.objects.all():
        assert reader.email == reader.email.strip() and "\n" not in reader.email and "\r" not in reader.email
        assert not any(ord(c) < 32 or c == "\ufffd" for c in reader.email + reader.keywords)
        assert reader.timezone in timezone_names()
        assert 0 <= reader.send_hour <= 23 and 0 <= reader.weekday <= 6


@settings(FUZZ, max_examples=50)  # each answer renders the whole form: ~0.1 s
@given(
    fields=form_fields, where=st.sampled_from(["/subscribe/", "/confirm/resend/", "preferences"]),
    headers=request_headers,
)
def test_any_form_post_is_saved_clean_or_answered_with_the_form_and_its_errors(
    readers, settings, fields, where, headers
):
    settings.TRUSTED_PROXY_COUNT = 1
    # The forms themselves, past the CSRF check (a browser sends the token).
    client = Client(raise_request_exception=False)
    path = f"/preferences/{readers['preferences']}/" if where == "preferences" else where
    before = state()

    with rolled_back():
        response = client.post(path, data=_urlencoded(fields), content_type=FORM, **headers)
        assert response.status_code in (303, 400), response.content[:500]
        if response.status_code == 400:
            assert 'class="errorlist' in response.content.decode()
            assert state() == before
        else:
            assert_stored_values_are_clean()
            for consent in ConsentRecord.objects.all():
                assert consent.user_agent.isprintable() and len(consent.user_agent) <= 500


@FUZZ
@given(
    provider=st.sampled_from(PROVIDERS),
    body=st.one_of(bodies, json_values.map(lambda v: json.dumps({"RecordType": "Bounce", "x": v}).encode())),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_any_webhook_post_with_credentials_never_errors_and_never_touches_readers(readers, provider, body,
                                                                                   content_type):
    client = Client(raise_request_exception=False)
    readers_before = state()[:2], Suppression.objects.count()

    with rolled_back():
        response = client.post(f"/anymail/{provider}/tracking/", data=body, content_type=content_type,
                               **p.basic_auth())
        assert_clear_refusal(response, "POST")
        # The webhook only stores events; readers change when a worker applies them.
        assert (state()[:2], Suppression.objects.count()) == readers_before
        if response.status_code >= 400:
            assert not ProviderEvent.objects.exists()


def _real_events(email: str) -> list[tuple[str, bytes, dict]]:
    """Events a provider would send that suppress or unsubscribe ``email``:
    provider, body, and the extra headers it comes with."""
    sns = p.sns_notification(p.ses_complaint(email))
    sns_headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": sns["Type"], "HTTP_X_AMZ_SNS_MESSAGE_ID": sns["MessageId"],
                   "HTTP_X_AMZ_SNS_TOPIC_ARN": sns.get("TopicArn", "")}
    return [
        ("postmark", json.dumps(p.postmark_bounce(email)).encode(), {}),
        ("postmark", json.dumps(p.postmark_spam_complaint(email)).encode(), {}),
        ("sendgrid", json.dumps(p.sendgrid_batch(email)).encode(), {}),
        ("brevo", json.dumps(p.brevo_event(email, "hard_bounce")).encode(), {}),
        ("amazon_ses", json.dumps(sns).encode(), sns_headers),
    ]


def _near_misses() -> list[str]:
    user, password = settings_secret().split(":", 1)
    return [
        f"{user}:{password[:-1]}", f"{user}:{password}x", f"{user.upper()}:{password}", f"x{user}:{password}",
        f"{user}:", f":{password}", f"{user}:{password}:{password}", password, "",
    ]


def settings_secret() -> str:
    from django.conf import settings as django_settings

    return django_settings.ANYMAIL["WEBHOOK_SECRET"][0]


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_webhooks_without_valid_credentials_change_nothing(readers, data):
    provider, body, extra = data.draw(st.sampled_from(_real_events("ada@example.org")))
    credentials = data.draw(st.one_of(st.sampled_from(_near_misses()), hostile_text))
    scheme = data.draw(st.sampled_from(["Basic ", "basic ", "Bearer ", ""]))
    encoded = base64.b64encode(credentials.encode("utf-8", "surrogatepass")).decode()
    header = data.draw(st.sampled_from([scheme + encoded, scheme + credentials.encode("latin-1", "replace")
                                        .decode("latin-1")]))
    before = state()

    with rolled_back():
        response = Client(raise_request_exception=False).post(
            f"/anymail/{provider}/tracking/", data=body, content_type="application/json",
            HTTP_AUTHORIZATION=header, **extra,
        )
        # 401 asks SNS for its credentials (it sends them only when challenged).
        assert response.status_code in (400, 401), (provider, header, response.status_code)
        assert state() == before


# --- hand-picked cases -----------------------------------------------------------

def test_the_same_events_with_the_right_credentials_are_stored(readers):
    # The property above is not vacuous: these bodies are events a provider sends.
    for provider, body, extra in _real_events("ada@example.org"):
        response = Client().post(f"/anymail/{provider}/tracking/", data=body, content_type="application/json",
                                 **extra, **p.basic_auth())
        assert response.status_code == 200, provider
    assert set(ProviderEvent.objects.values_list("provider", flat=True)) == {
        "postmark", "sendgrid", "brevo", "amazon_ses"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/healthz/", "GET, HEAD"),
        ("PUT", "/subscribe/", "GET, HEAD, POST"),
        ("POST", "/subscribe/check-your-inbox/", "GET, HEAD"),
        ("PATCH", "/confirm/resend/", "GET, HEAD, POST"),
        ("PUT", "/confirm/{confirm}/", "GET, HEAD, POST"),
        ("DELETE", "/preferences/{preferences}/", "GET, HEAD, POST"),
        ("GET", "/preferences/{preferences}/export/", "POST"),
        ("PUT", "/preferences/{preferences}/erase/", "GET, HEAD, POST"),
        ("PATCH", "/unsubscribe/{unsubscribe}/", "GET, HEAD, POST"),
        ("GET", "/anymail/postmark/tracking/", "POST, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_gets_405_naming_the_allowed_ones(readers, method, path, allowed):
    before = state()

    # Past the CSRF check, which answers unsafe methods first (403) in production.
    response = Client(raise_request_exception=False).generic(method, path.format(**readers))

    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == sorted(allowed.split(", "))
    assert f"does not accept {method} requests" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize(
    "path", ["/subscribe/", "/confirm/resend/", "/preferences/{preferences}/", "/unsubscribe/{unsubscribe}/"]
)
def test_huge_form_body_is_a_bad_request_in_words(readers, path):
    client = Client(raise_request_exception=False)
    before = state()
    body = b"email=a%40example.org&keywords=" + b"x" * (3 * 1024 * 1024) + b"&List-Unsubscribe=One-Click"

    response = client.post(path.format(**readers), data=body, content_type=FORM)

    assert response.status_code == 400
    assert "We could not read that request" in response.content.decode()
    assert state() == before


def test_too_many_fields_is_a_bad_request(readers):
    before = state()
    body = "&".join(f"f{i}=x" for i in range(1500)).encode()

    response = Client(raise_request_exception=False).post(
        "/subscribe/", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert state() == before


def test_post_without_csrf_token_is_refused_in_words(readers):
    before = state()

    response = browser().post(f"/preferences/{readers['preferences']}/erase/")

    assert response.status_code == 403
    assert "This form could not be accepted" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("token", ["%FF%FE", "%00", "%C0%AF", "abc%0D%0ASet-Cookie:x=1"])
def test_invalid_bytes_in_a_link_show_the_link_problem_page(token):
    for path in (f"/confirm/{token}/", f"/preferences/{token}/", f"/unsubscribe/{token}/"):
        response = browser().get(path)
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
        assert "x" not in response.cookies  # a line break in a path never becomes a header


def test_invalid_utf8_in_a_query_string_is_ignored():
    response = browser().get("/subscribe/?email=%FF%FE&topics=%C0%AF")

    assert response.status_code == 200


def test_unknown_host_is_refused_with_security_headers():
    response = browser().get("/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Security-Policy"] and response["X-Frame-Options"] == "DENY"


def test_one_click_with_a_bad_token_changes_nothing(readers):
    before = state()

    response = browser().post("/unsubscribe/not-a-token/", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 400
    assert state() == before
