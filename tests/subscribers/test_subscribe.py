"""/subscribe/: the signup form, double opt-in request, abuse protection."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from newsletter.models import Topic
from subscribers.choices import Choices
from subscribers.consent import CONSENT_VERSION
from subscribers.models import ConsentRecord, Subscriber, Suppression
from subscribers.services import subscriber_signup
from subscribers.suppression import suppression_add
from tests.factories import reader_make
from tests.subscriber_helpers import (
    eager_tasks,
    fresh_client,
    link_path,
    random_ip,
    sent_to,
    signup_data,
    unique_email,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return fresh_client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0")


@pytest.fixture
def post_signup(client, django_capture_on_commit_callbacks):
    """POST the form and run what is enqueued after commit, in-process."""

    def post(data, **extra):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return client.post("/subscribe/", data, **extra)

    return post


def test_signup_stores_a_pending_reader_and_emails_a_confirmation_link(post_signup):
    email = unique_email()
    response = post_signup(signup_data(email, keywords="Mamba, KV cache", send_hour="6"))
    assert response.status_code == 303
    assert response["Location"] == "/subscribe/check-your-inbox/"

    subscriber = Subscriber.objects.get(email=email)
    assert subscriber.status == Subscriber.Status.PENDING
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["agents-tools", "reasoning"]
    assert subscriber.keywords == "Mamba, KV cache"
    assert (subscriber.frequency, subscriber.timezone, subscriber.send_hour) == ("daily", "Europe/Paris", 6)
    assert subscriber.confirmation_sent_at is not None
    consent = subscriber.consents.get()
    assert consent.kind == ConsentRecord.Kind.SIGNUP
    assert consent.source == ConsentRecord.Source.WEB
    assert consent.wording_version == CONSENT_VERSION
    assert consent.wording.startswith("I agree to receive the Daily Papers digest")
    assert consent.user_agent == "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"
    assert consent.ip.startswith("10.")

    [message] = sent_to(email)
    assert message.subject == "Confirm your subscription to Daily Papers"
    assert link_path(message, "confirm").startswith("/confirm/")


def test_answer_page_is_the_same_for_new_and_known_addresses(post_signup, client):
    known = reader_make()
    new = post_signup(signup_data(unique_email()))
    again = post_signup(signup_data(known.email))
    assert new.status_code == again.status_code == 303
    assert new["Location"] == again["Location"]
    page = client.get(new["Location"])
    assert page.status_code == 200
    assert "Check your inbox" in page.content.decode()


def test_weekly_reader_keeps_the_chosen_weekday(post_signup):
    email = unique_email()
    post_signup(signup_data(email, frequency="weekly", weekday="4"))
    subscriber = Subscriber.objects.get(email=email)
    assert (subscriber.frequency, subscriber.weekday) == ("weekly", 4)


def test_keywords_alone_are_enough(post_signup):
    email = unique_email()
    post_signup(signup_data(email, topics=(), keywords="speculative decoding"))
    assert Subscriber.objects.get(email=email).keyword_list() == ["speculative decoding"]


LONG = "x" * 300
INVALID_INPUTS = {
    "bad address": ({"email": "not-an-address"}, "Please enter a valid email address"),
    "missing address": ({"email": ""}, "This field is required."),
    "header injection": ({"email": "a@example.org\r\nBcc: victim@example.org"}, "must be on one line"),
    "trailing newline": ({"email": "a@example.org\n"}, "must be on one line"),
    "over-long address": ({"email": f"{LONG}@example.org"}, "at most 254 characters"),
    "unknown topic": ({"topics": ["reasoning", "astrology"]}, "not one we offer"),
    "topic id as number": ({"topics": ["1"]}, "not one we offer"),
    "no topic nor keyword": ({"topics": []}, "Pick at least one topic, or enter a keyword."),
    "nonsense time zone": ({"timezone": "Mars/Olympus_Mons"}, "not a time zone we know"),
    "over-long time zone": ({"timezone": "Europe/" + LONG}, "not a time zone we know"),
    "hour 24": ({"send_hour": "24"}, "Pick an hour between 00:00 and 23:00."),
    "hour not a number": ({"send_hour": "seven"}, "Pick an hour between 00:00 and 23:00."),
    "weekday 7": ({"weekday": "7"}, "Pick a day of the week"),
    "odd frequency": ({"frequency": "hourly"}, "Choose daily or weekly."),
    "over-long keywords": ({"keywords": "a, " * 300}, "at most 500 characters"),
    "too many keywords": ({"keywords": ", ".join(f"k{i}" for i in range(21))}, "at most 20 keywords"),
    "over-long keyword": ({"keywords": "y" * 61}, "at most 60 characters"),
    "control character": ({"keywords": "ok\x00bad"}, "Null characters are not allowed."),
    "line break in keywords": ({"keywords": "a\r\nb"}, "plain text on one line"),
}


@pytest.mark.parametrize("overrides, message", INVALID_INPUTS.values(), ids=INVALID_INPUTS.keys())
def test_invalid_input_is_explained_and_nothing_is_stored(post_signup, overrides, message):
    email = unique_email()
    response = post_signup({**signup_data(email), **overrides})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please check the form." in html
    assert message in html.replace("&#x27;", "'")
    assert not Subscriber.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        b"email=%FFreader%40example.org&topics=reasoning&frequency=daily&weekday=0&timezone=UTC&send_hour=7",
        b"email=reader%40example.org&topics=reasoning&keywords=caf\xe9&frequency=daily&weekday=0"
        b"&timezone=UTC&send_hour=7",
        b"email=reader%40example.org&topics=reasoning&keywords=caf%E9&frequency=daily&weekday=0"
        b"&timezone=UTC&send_hour=7",
    ],
    ids=["percent-encoded address", "raw byte", "percent-encoded keyword"],
)
def test_invalid_utf8_is_a_form_error(post_signup, body):
    response = post_signup(body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    html = response.content.decode()
    assert "not valid UTF-8" in html or "Please enter a valid email address" in html
    assert not Subscriber.objects.exists()


def test_broken_multipart_body_is_a_bad_request_not_an_error(client):
    response = client.generic(
        "POST", "/subscribe/", b"--xx\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na",
        content_type="multipart/form-data; boundary=xx",
    )
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_honeypot_gets_the_normal_answer_and_nothing_happens(post_signup):
    email = unique_email()
    response = post_signup(signup_data(email, leave_empty="http://spam.example"))
    assert response.status_code == 303
    assert response["Location"] == "/subscribe/check-your-inbox/"
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_honeypot_is_hidden_from_people(client):
    html = client.get("/subscribe/").content.decode()
    assert '<div class="hp" aria-hidden="true">' in html
    assert 'name="leave_empty" id="id_leave_empty" value="" tabindex="-1" autocomplete="off"' in html


def test_form_requires_a_csrf_token():
    client = fresh_client(enforce_csrf_checks=True)
    response = client.post("/subscribe/", signup_data(unique_email()))
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


@pytest.mark.usefixtures("one_rate_window")
def test_too_many_attempts_from_one_ip_get_429(post_signup, settings):
    settings.SUBSCRIBE_RATE_PER_IP = 2
    assert post_signup(signup_data(unique_email())).status_code == 303
    assert post_signup(signup_data("not-valid")).status_code == 400  # counts too
    response = post_signup(signup_data(unique_email()))
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Too many attempts" in response.content.decode()
    assert Subscriber.objects.count() == 1


def test_exempt_ip_is_not_rate_limited(post_signup, settings):
    settings.SUBSCRIBE_RATE_PER_IP = 1
    settings.RATE_LIMIT_EXEMPT_IPS = ["192.0.2.250"]
    for _ in range(3):
        assert post_signup(signup_data(unique_email()), REMOTE_ADDR="192.0.2.250").status_code == 303
    assert Subscriber.objects.count() == 3


@pytest.mark.usefixtures("one_rate_window")
def test_too_many_signups_for_one_address_answer_normally_but_send_nothing(
    settings, django_capture_on_commit_callbacks
):
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 2
    settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS = 0  # the limit, not the cooldown, is tested here
    email = unique_email()
    for _ in range(3):
        # A different IP each time: the address limit is what stops it.
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            response = fresh_client().post("/subscribe/", signup_data(email))
        assert response.status_code == 303
    assert len(sent_to(email)) == 2
    assert Subscriber.objects.get(email=email).consents.count() == 2


@pytest.mark.usefixtures("one_rate_window")
def test_a_request_the_address_limit_swallows_is_logged_without_the_address(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 1
    email, other = unique_email("swallowed"), unique_email("other")
    for path, data in [("/subscribe/", signup_data(email)), ("/subscribe/", signup_data(email)),
                       ("/confirm/resend/", {"email": email}),
                       ("/subscribe/", signup_data(other)), ("/subscribe/", signup_data(other))]:
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            assert fresh_client().post(path, data)["Location"] == "/subscribe/check-your-inbox/"
    swallowed = [r.getMessage() for r in caplog.records if "over the limit" in r.getMessage()]
    assert [line.split(" for ")[0] for line in swallowed] == ["signup", "new link request", "signup"]
    keys = [re.search(r"addr:[0-9a-f]{12}", line).group(0) for line in swallowed]
    assert keys[0] == keys[1] != keys[2]  # one key per address, the same each time
    assert "swallowed" not in caplog.text and "example.org" not in " ".join(swallowed)


def test_the_answer_page_says_how_few_emails_one_address_gets(client, settings):
    html = client.get("/subscribe/check-your-inbox/").content.decode()
    assert "we send at most 3 emails to one address in an hour" in html
    assert "asking again within 5 minutes sends no second copy" in html
    settings.SUBSCRIBE_RATE_PER_ADDRESS, settings.SUBSCRIBE_RATE_WINDOW_SECONDS = 1, 7200
    settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS = 0
    html = client.get("/subscribe/check-your-inbox/").content.decode()
    assert "at most 1 email to one address in 2 hours." in html


def test_signing_up_again_while_pending_sends_a_fresh_link_with_the_new_choices(post_signup):
    email = unique_email()
    post_signup(signup_data(email))
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        post_signup(signup_data(email.upper(), topics=("code",), send_hour="21"))
    subscriber = Subscriber.objects.get()
    assert subscriber.email == email  # the first spelling stays
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["code"]
    assert subscriber.send_hour == 21
    assert len(mail.outbox) == 2
    assert subscriber.consents.filter(kind="signup").count() == 2


def test_active_reader_signing_up_again_changes_nothing_and_gets_a_preferences_link(post_signup):
    subscriber = reader_make(topics=("surveys",), send_hour=9)
    post_signup(signup_data(subscriber.email, topics=("code",), send_hour="3"))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["surveys"]
    assert subscriber.send_hour == 9
    [message] = mail.outbox
    assert message.subject == "Your Daily Papers preferences link"
    assert link_path(message, "preferences")


def test_unsubscribed_reader_signing_up_again_changes_nothing_until_confirmed(post_signup):
    subscriber = reader_make(status=Subscriber.Status.UNSUBSCRIBED, topics=("surveys",), send_hour=9)
    post_signup(signup_data(subscriber.email, topics=("code",), send_hour="3"))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["surveys"]
    assert subscriber.send_hour == 9
    assert subscriber.pending_choices["topics"] == ["code"]
    [message] = sent_to(subscriber.email)
    assert link_path(message, "confirm")


@pytest.mark.parametrize("reason", [Suppression.Reason.BOUNCED, Suppression.Reason.COMPLAINED,
                                    Suppression.Reason.MANUAL])
def test_bounced_or_complained_address_is_silently_refused(post_signup, reason):
    email = unique_email()
    suppression_add(email=email, reason=reason)
    response = post_signup(signup_data(email))
    assert response.status_code == 303
    assert response["Location"] == "/subscribe/check-your-inbox/"
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("reason", [Suppression.Reason.ERASED, Suppression.Reason.UNSUBSCRIBED])
def test_erased_or_unsubscribed_address_may_sign_up_again(post_signup, reason):
    email = unique_email()
    suppression_add(email=email, reason=reason)
    post_signup(signup_data(email))
    assert Subscriber.objects.get(email=email).status == Subscriber.Status.PENDING
    assert len(sent_to(email)) == 1
    # Still suppressed until the reader confirms.
    assert Suppression.objects.get().lifted_at is None


def test_retired_topics_are_not_offered(client):
    Topic.objects.filter(slug="surveys").update(active=False)
    html = client.get("/subscribe/").content.decode()
    assert 'value="surveys"' not in html
    assert 'value="reasoning"' in html


def test_time_zone_is_prefilled_by_script_and_weekday_explained_without_it(client):
    html = client.get("/subscribe/").content.decode()
    assert "data-detect-timezone" in html
    assert '<option value="UTC" selected>UTC</option>' in html
    assert '<option value="Europe/Paris">Paris</option>' in html
    assert "For weekly readers." in html


@pytest.mark.usefixtures("one_rate_window")
def test_rate_limit_counts_per_forwarded_ip_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SUBSCRIBE_RATE_PER_IP = 1
    proxy = fresh_client()
    first, second = random_ip(), random_ip()

    def post(forwarded_for):
        return proxy.post("/subscribe/", signup_data(unique_email()), HTTP_X_FORWARDED_FOR=forwarded_for)

    assert post(first).status_code == 303
    assert post(second).status_code == 303
    # A client cannot escape by prepending its own entries.
    assert post(f"1.2.3.4, {first}").status_code == 429


def test_the_core_refuses_bad_choices_from_callers_without_a_form():
    for bad in ({"timezone": "Mars/Base"}, {"send_hour": 24}, {"weekday": 7}, {"frequency": "hourly"}):
        with pytest.raises(ValueError):
            subscriber_signup(email=unique_email(), choices=Choices.build(topics=["reasoning"], **bad))
    assert not Subscriber.objects.exists()


def test_link_scanners_sending_head_get_no_error(client):
    assert client.head("/subscribe/").status_code == 200


def test_topic_changes_show_at_once_on_the_cached_form(client):
    assert "Reasoning &amp; test-time compute" in client.get("/subscribe/").content.decode()
    topic = Topic.objects.get(slug="reasoning")
    topic.name = "Reasoning and thinking"
    topic.save()
    html = client.get("/subscribe/").content.decode()
    assert "Reasoning and thinking" in html and "Reasoning &amp; test-time compute" not in html
    topic.active = False
    topic.save()
    assert 'value="reasoning"' not in client.get("/subscribe/").content.decode()


def test_a_link_from_a_paper_or_topic_page_ticks_its_topics(client):
    def ticked(path: str) -> list[str]:
        html = client.get(path).content.decode()
        return re.findall(r'<input type="checkbox" name="topics" value="([\w-]+)"[^>]* checked>', html)

    assert ticked("/subscribe/?topics=reasoning,code") == ["reasoning", "code"]
    assert ticked("/subscribe/?topics=code&topics=nope,%3Cscript%3E") == ["code"]
    assert ticked("/subscribe/") == []
    assert ticked("/subscribe/?topics=reasoning") == ["reasoning"]  # not the cached form of another link


def test_submitting_the_form_again_within_minutes_sends_one_confirmation(post_signup, settings):
    # Back, and submit again: three times in four seconds, then once more
    # after the cooldown; the newest choices win each time.
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 10
    email = unique_email()
    start = timezone.now()
    for second, hour in ((0, "6"), (2, "7"), (4, "8")):
        with time_machine.travel(start + timedelta(seconds=second), tick=False):
            assert post_signup(signup_data(email, send_hour=hour)).status_code == 303
    assert len(sent_to(email)) == 1
    assert Subscriber.objects.get(email=email).send_hour == 8
    cooldown = timedelta(seconds=settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS)
    with time_machine.travel(start + cooldown, tick=False):
        post_signup(signup_data(email))
    assert len(sent_to(email)) == 2


def test_an_unsubscribed_reader_asking_twice_within_minutes_gets_one_confirmation(post_signup):
    reader = reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    post_signup(signup_data(reader.email, send_hour="5"))
    post_signup(signup_data(reader.email, send_hour="6"))
    assert len(sent_to(reader.email)) == 1
    reader.refresh_from_db()
    assert reader.pending_choices["send_hour"] == 6  # the newest wish still wins
