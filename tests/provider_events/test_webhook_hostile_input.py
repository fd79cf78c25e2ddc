"""Bad and hostile webhook input: refused or ignored with a log line, never
a crash, never a change to readers or the suppression list."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from kombu import Producer
from kombu.exceptions import OperationalError

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.provider_events.processing import provider_events_sweep
from tests import provider_payloads as p
from tests.event_helpers import process_pending, reader_status
from tests.factories import reader_make

pytestmark = pytest.mark.django_db
Status = Subscriber.Status


def assert_nothing_changed(reader):
    assert not ProviderEvent.objects.exists()
    assert not Suppression.objects.exists()
    assert reader_status(reader) == Status.ACTIVE


def one_warning_without_traceback(caplog, text):
    warnings = [
        r for r in caplog.records
        if r.levelname == "WARNING" and r.name == "subscribers.provider_events.guard"
    ]
    assert len(warnings) == 1 and text in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/anymail/postmark/tracking/", "{not json"),
        ("/anymail/postmark/tracking/", b"\xff\xfe\x00garbage"),
        ("/anymail/postmark/tracking/", '["a", "list"]'),
        ("/anymail/postmark/tracking/", '{"RecordType": "Bounce", "Type": "HardBounce", '
                                        '"Email": "ada@example.com", "BouncedAt": "2026-13-45T99:00:00Z"}'),
        ("/anymail/sendgrid/tracking/", '{"email": "ada@example.com", "event": "bounce"}'),
        ("/anymail/sendgrid/tracking/", "[1, 2, 3]"),
        ("/anymail/brevo/tracking/", "null"),
        ("/anymail/postmark/tracking/", ""),
    ],
    ids=["postmark-not-json", "postmark-not-utf8", "postmark-list", "postmark-bad-date",
         "sendgrid-object-not-list", "sendgrid-numbers", "brevo-null", "postmark-empty"],
)
def test_malformed_payload_is_refused_with_one_log_line(client, caplog, path, body):
    reader = reader_make("ada@example.com")

    response = p.post_json(client, path, body)

    assert response.status_code == 400
    assert_nothing_changed(reader)
    one_warning_without_traceback(caplog, path)


def test_malformed_sns_bodies_are_refused(client, caplog):
    reader = reader_make("ada@example.com")
    broken_message = {**p.sns_notification(p.ses_complaint("ada@example.com")), "Message": "{not json"}

    not_json = client.post("/anymail/amazon_ses/tracking/", data="{oops", content_type="text/plain",
                           HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", **p.basic_auth())
    bad_message = p.post_sns(client, broken_message)

    assert (not_json.status_code, bad_message.status_code) == (400, 400)
    assert_nothing_changed(reader)


def test_inbound_mail_posted_to_the_tracking_url_is_refused(client):
    reader = reader_make("ada@example.com")
    inbound = {"FromFull": {"Email": "someone@example.net"}, "TextBody": "hello"}

    assert p.post_json(client, "/anymail/postmark/tracking/", inbound).status_code == 400
    assert_nothing_changed(reader)


def test_unknown_event_type_is_answered_and_only_logged(client, caplog):
    caplog.set_level("INFO", logger="subscribers.provider_events.processing")
    reader = reader_make("ada@example.com")
    payload = {**p.postmark_bounce("ada@example.com"), "RecordType": "SomethingNew"}

    response = p.post_json(client, "/anymail/postmark/tracking/", payload)

    assert response.status_code == 200  # a 4xx would make the provider retry forever
    assert_nothing_changed(reader)
    assert [r.getMessage() for r in caplog.records if r.name == "subscribers.provider_events.processing"] == [
        "ignored a postmark event of type 'unknown'"
    ]


def test_unknown_address_is_stored_but_changes_nothing(client):
    reader = reader_make("ada@example.com")

    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_spam_complaint("nobody@example.net"))
    results = process_pending()

    assert results == ["no reader has this address: nothing changed"]
    assert not Suppression.objects.exists()
    assert reader_status(reader) == Status.ACTIVE


def test_oversized_body_is_refused_before_it_is_read(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    reader = reader_make("ada@example.com")
    payload = {**p.postmark_bounce("ada@example.com"), "Content": "x" * 5000}

    response = p.post_json(client, "/anymail/postmark/tracking/", payload)

    assert response.status_code == 413
    assert_nothing_changed(reader)


def test_bad_content_length_is_refused(client):
    response = client.post("/anymail/postmark/tracking/", data="{}", content_type="application/json",
                           CONTENT_LENGTH="-5", **p.basic_auth())

    assert response.status_code == 400


def test_body_limit_applies_only_to_webhooks(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024

    response = client.post("/subscribe/", data={"email": "x" * 4000})

    assert response.status_code != 413


def test_webhook_of_a_provider_without_its_key_is_refused_not_crashed(client, settings):
    # No MAILGUN_WEBHOOK_SIGNING_KEY (or API key) configured for this site.
    settings.ANYMAIL = {k: v for k, v in settings.ANYMAIL.items() if not k.startswith("MAILGUN")}
    reader = reader_make("ada@example.com")

    response = p.post_json(client, "/anymail/mailgun/tracking/",
                           p.mailgun_failed("ada@example.com", signing_key="anything"))

    assert response.status_code == 400
    assert_nothing_changed(reader)


def test_replayed_complaint_after_a_lift_does_not_suppress_again(client):
    from subscribers.suppression import suppression_lift

    reader_make("ada@example.com")
    payload = p.postmark_spam_complaint("ada@example.com")
    p.post_json(client, "/anymail/postmark/tracking/", payload)
    process_pending()
    suppression_lift(suppression=Suppression.objects.get(), reason="reader asked, by phone", by="editor")

    assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()

    assert not Suppression.objects.filter(lifted_at=None).exists()


def test_broker_down_still_answers_and_the_sweep_processes_the_event(
    client, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Producer, "publish", broker_down)
    reader = reader_make("ada@example.com")

    with time_machine.travel(dt.datetime(2026, 11, 20, 7, tzinfo=dt.UTC), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = p.post_json(client, "/anymail/postmark/tracking/",
                                   p.postmark_bounce("ada@example.com"))
        assert response.status_code == 200 and len(callbacks) == 1
        assert ProviderEvent.objects.get().processed_at is None
        assert any("the sweep will process it" in r.getMessage() for r in caplog.records)

        clock.shift(dt.timedelta(minutes=2))
        assert provider_events_sweep() == 1

    assert reader_status(reader) == Status.BOUNCED


def test_webhook_enqueues_processing_after_commit(client, django_capture_on_commit_callbacks):
    reader_make("ada@example.com")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        p.post_json(client, "/anymail/postmark/tracking/", p.postmark_bounce("ada@example.com"))
        p.post_json(client, "/anymail/postmark/tracking/", p.postmark_bounce("ada@example.com"))

    assert len(callbacks) == 1  # the replay enqueues nothing
    assert ProviderEvent.objects.count() == 1


def test_nan_and_deep_nesting_are_stored_safely(client):
    reader = reader_make("ada@example.com")
    nested = "[" * 200 + "]" * 200
    body = json.dumps(p.postmark_open("ada@example.com"))[:-1] + f', "ReadSeconds": NaN, "Deep": {nested}}}'

    response = p.post_json(client, "/anymail/postmark/tracking/", body)
    process_pending()

    assert response.status_code == 200
    event = ProviderEvent.objects.get()
    assert event.payload["ReadSeconds"] is None
    assert "(nested too deep)" in json.dumps(event.payload["Deep"])
    assert reader_status(reader) == Status.ACTIVE


def test_json_too_deep_to_parse_is_refused(client, caplog):
    reader = reader_make("ada@example.com")

    response = p.post_json(client, "/anymail/postmark/tracking/", "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert_nothing_changed(reader)


def test_lone_surrogates_are_stored_safely(client):
    reader = reader_make("ada@example.com")
    body = json.dumps(p.postmark_bounce("ada@example.com"))[:-1] + ', "Details": "bad \\ud800 text"}'

    response = p.post_json(client, "/anymail/postmark/tracking/", body)
    process_pending()

    assert response.status_code == 200
    assert ProviderEvent.objects.get().mta_response == "bad ? text"
    assert reader_status(reader) == Status.BOUNCED


def test_ses_without_credentials_is_refused_in_words(client):
    # anymail's SES view answers 401 with an empty body; the guard explains it.
    response = client.post("/anymail/amazon_ses/tracking/", data=b"", content_type="application/json")
    assert response.status_code in (400, 401)
    assert response.content.strip(), "a refusal must say why"
