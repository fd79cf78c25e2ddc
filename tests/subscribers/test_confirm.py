"""/confirm/<token>/: double opt-in, expired and tampered links, resending."""

import zlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.utils import timezone

from subscribers.models import ConsentRecord, Subscriber, Suppression
from subscribers.suppression import suppression_add
from subscribers.tokens import token_make
from tests.factories import reader_make
from tests.subscriber_helpers import fresh_client, link_path, sent_to, signup_data, unique_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return fresh_client(HTTP_USER_AGENT="ConfirmingBrowser/2.0")


def signed_up(run, email=None, **choices) -> tuple[Subscriber, str]:
    """A pending reader who signed up through the form, and the confirm link
    from their email."""
    email = email or unique_email()
    signup = fresh_client(HTTP_USER_AGENT="SigningUpBrowser/1.0")
    run(signup.post, "/subscribe/", signup_data(email, topics=choices.pop("topics", ["reasoning"]),
                                                **choices))
    [message] = sent_to(email)[-1:]
    return Subscriber.objects.get(email=email), link_path(message, "confirm")


def test_get_shows_a_button_and_changes_nothing(client, run):
    subscriber, path = signed_up(run)
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Confirm my subscription</button>" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert subscriber.email not in html  # shown masked only
    assert f"{subscriber.email[0]}•••@example.org" in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.consents.filter(kind="confirmation").count() == 0


def test_post_activates_records_consent_and_sends_a_welcome(client, run):
    subscriber, path = signed_up(run)
    response = run(client.post, path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You're subscribed" in html
    assert "/preferences/" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    consent = subscriber.consents.get(kind=ConsentRecord.Kind.CONFIRMATION)
    assert (consent.ip, consent.user_agent, consent.source) == (
        client.defaults["REMOTE_ADDR"], "ConfirmingBrowser/2.0", "web"
    )
    assert consent.wording.startswith("I agree to receive")
    welcome = sent_to(subscriber.email)[-1]
    assert welcome.subject == "Welcome to Daily Papers"
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirming_twice_is_harmless(client, run):
    subscriber, path = signed_up(run)
    first = run(client.post, path)
    second = run(client.post, path)
    assert first.status_code == second.status_code == 200
    assert "You're subscribed" in second.content.decode()
    assert subscriber.consents.filter(kind="confirmation").count() == 1
    assert [m.subject for m in sent_to(subscriber.email)] == [
        "Confirm your subscription to Daily Papers", "Welcome to Daily Papers",
    ]
    # And a GET afterwards says so instead of offering the button again.
    assert "You're subscribed" in client.get(path).content.decode()


def test_expired_link_gets_a_friendly_page_offering_a_new_one(client, run):
    subscriber, path = signed_up(run)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
        get = client.get(path)
        post = client.post(path)
    for response in (get, post):
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired" in html
        assert "Send me a new link</button>" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


def test_link_still_works_just_before_it_expires(client, run):
    subscriber, path = signed_up(run)
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23), tick=False):
        assert run(client.post, path).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token[: len(token) // 2],
        lambda token: "not-a-token",
        lambda token: "%FF%FE",
        lambda token: "x" * 3000,
    ],
    ids=["tampered signature", "truncated", "garbage", "invalid utf-8", "very long"],
)
def test_tampered_link_gets_a_friendly_page_not_an_error(client, run, mangle):
    subscriber, path = signed_up(run)
    token = path.split("/")[2]
    response = client.post(f"/confirm/{mangle(token)}/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This link does not work" in html
    assert "Send me a new link</button>" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


@pytest.mark.parametrize("purpose", ["preferences", "unsubscribe", "digest", "feedback"])
def test_a_token_for_another_purpose_cannot_confirm(client, run, purpose):
    subscriber, _ = signed_up(run)
    response = client.post(f"/confirm/{token_make(subscriber=subscriber, purpose=purpose)}/")
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


def test_confirm_token_carries_no_readable_address(run):
    email = unique_email("visible")
    _, path = signed_up(run, email=email)
    token = path.split("/")[2]
    payload = token.split(":")[0]
    raw = signing.b64_decode(payload.lstrip(".").encode())
    if payload.startswith("."):
        raw = zlib.decompress(raw)
    assert raw.startswith(b"[")  # decoded: the JSON payload
    assert b"visible" not in raw and b"example.org" not in raw


def test_resend_form_sends_a_fresh_link_for_a_pending_reader(client, run):
    subscriber, _ = signed_up(run)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = run(client.post, "/confirm/resend/", {"email": subscriber.email.upper()})
    assert response.status_code == 303
    assert response["Location"] == "/subscribe/check-your-inbox/"
    assert len(sent_to(subscriber.email)) == 2


def test_asking_again_within_minutes_sends_no_second_copy(client, run):
    subscriber, _ = signed_up(run)
    response = run(client.post, "/confirm/resend/", {"email": subscriber.email})
    assert response["Location"] == "/subscribe/check-your-inbox/"
    assert len(sent_to(subscriber.email)) == 1  # the first is on its way


def test_resend_answers_the_same_for_every_address_and_sends_nothing_to_an_unknown_one(client, run):
    active, gone = reader_make(), reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    for email in (unique_email(), active.email, gone.email):
        response = run(client.post, "/confirm/resend/", {"email": email})
        assert response.status_code == 303
        assert response["Location"] == "/subscribe/check-your-inbox/"
    assert [m.to for m in mail.outbox] == [[active.email]]


def test_an_active_reader_who_lost_their_link_gets_a_fresh_preferences_link(client, run):
    reader = reader_make(topics=("surveys",), send_hour=9)
    run(client.post, "/confirm/resend/", {"email": reader.email.upper()})
    [message] = sent_to(reader.email)
    assert message.subject == "Your Daily Papers preferences link"
    page = fresh_client().get(link_path(message, "preferences"))
    assert page.status_code == 200
    assert "Your preferences" in page.content.decode()
    reader.refresh_from_db()
    assert (reader.status, reader.send_hour) == (Subscriber.Status.ACTIVE, 9)
    assert list(reader.topics.values_list("slug", flat=True)) == ["surveys"]

    run(client.post, "/confirm/resend/", {"email": reader.email})  # again, a minute later
    assert len(sent_to(reader.email)) == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        run(client.post, "/confirm/resend/", {"email": reader.email})
    assert len(sent_to(reader.email)) == 2


def test_a_suppressed_active_reader_gets_no_preferences_link(client, run):
    reader = reader_make()
    suppression_add(email=reader.email, reason=Suppression.Reason.BOUNCED)
    response = run(client.post, "/confirm/resend/", {"email": reader.email})
    assert response["Location"] == "/subscribe/check-your-inbox/"
    assert mail.outbox == []


@pytest.mark.usefixtures("one_rate_window")
def test_resend_is_rate_limited_and_has_a_honeypot(client, run, settings):
    settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS = 0  # the limits, not the cooldown, are tested here
    subscriber, _ = signed_up(run)
    run(client.post, "/confirm/resend/", {"email": subscriber.email, "leave_empty": "bot"})
    assert len(sent_to(subscriber.email)) == 1
    settings.SUBSCRIBE_RATE_PER_IP = 2
    run(client.post, "/confirm/resend/", {"email": subscriber.email})
    assert run(client.post, "/confirm/resend/", {"email": subscriber.email}).status_code == 429
    assert len(sent_to(subscriber.email)) == 2


def test_resend_rejects_a_bad_address_in_words(client):
    response = client.post("/confirm/resend/", {"email": "x@y\r\nBcc: z@example.org"})
    assert response.status_code == 400
    assert "must be on one line" in response.content.decode()


def test_resubscribe_applies_the_new_choices_and_lifts_the_suppression(client, run):
    subscriber = reader_make(topics=("surveys",), send_hour=9)
    run(client.post, f"/unsubscribe/{token_make(subscriber=subscriber, purpose='unsubscribe')}/")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    suppression = Suppression.objects.get(lifted_at__isnull=True)

    run(fresh_client().post, "/subscribe/", signup_data(subscriber.email, topics=("code",), send_hour="5"))
    path = link_path(sent_to(subscriber.email)[-1], "confirm")
    run(client.post, path)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.unsubscribed_at is None
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["code"]
    assert subscriber.send_hour == 5
    assert subscriber.pending_choices is None
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None
    assert suppression.lifted_by == "reader confirmation"
    assert suppression.lifted_reason == "the reader signed up again and confirmed"
    assert sent_to(subscriber.email)[-1].subject == "Welcome to Daily Papers"


def test_an_old_confirm_link_cannot_undo_an_unsubscribe(client, run):
    subscriber, path = signed_up(run)
    run(client.post, path)
    run(client.post, f"/unsubscribe/{token_make(subscriber=subscriber, purpose='unsubscribe')}/")
    response = run(client.post, path)
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_bounce_suppression_survives_a_confirmation(client, run):
    subscriber, path = signed_up(run)
    suppression_add(email=subscriber.email, reason=Suppression.Reason.BOUNCED)
    run(client.post, path)
    assert Suppression.objects.get().lifted_at is None
    # No welcome to an address that bounces.
    assert [m.subject for m in sent_to(subscriber.email)] == ["Confirm your subscription to Daily Papers"]


def test_confirm_requires_csrf_on_the_button():
    client = fresh_client(enforce_csrf_checks=True)
    subscriber = reader_make(status=Subscriber.Status.PENDING)
    response = client.post(f"/confirm/{token_make(subscriber=subscriber, purpose='confirm')}/")
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
