"""One event anymail cannot read (here: a timestamp no datetime can hold) is
skipped and named in one warning without addresses; the other events of the
same post are stored; the answer is never a 5xx."""

from __future__ import annotations

import pytest

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.suppression import is_suppressed
from tests import provider_payloads as p
from tests.event_helpers import process_pending, reader_status
from tests.factories import reader_make

pytestmark = pytest.mark.django_db
Status = Subscriber.Status
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_sendgrid_batch_keeps_the_good_events_beside_an_out_of_range_timestamp(client, caplog):
    ada, bob = reader_make("ada@example.com"), reader_make("bob@example.com")
    batch = [
        p.sendgrid_event("ada@example.com", "open", sg_event_id="sg-open-1"),
        p.sendgrid_event("bob@example.com", "bounce", sg_event_id="sg-bounce-bad", timestamp=1e18,
                         type="bounce", reason="550 5.1.1 <bob@example.com>: unknown recipient"),
        p.sendgrid_event("ada@example.com", "spamreport", sg_event_id="sg-spam-1"),
    ]

    response = p.post_json(client, "/anymail/sendgrid/tracking/", batch)
    process_pending()

    assert response.status_code == 200
    assert list(ProviderEvent.objects.order_by("pk").values_list("event_id", flat=True)) == [
        "sg-open-1", "sg-spam-1"
    ]
    assert reader_status(ada) == Status.COMPLAINED
    assert reader_status(bob) == Status.ACTIVE and not is_suppressed("bob@example.com")
    [warning] = warnings_of(caplog)
    assert "skipped sendgrid event 2 of 3" in warning and "sg-bounce-bad" in warning
    assert "timestamp" in warning or "Value too large" in warning
    assert not any("@example.com" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)


def test_sendgrid_batch_with_several_bad_events_names_each(client, caplog):
    reader_make("ada@example.com")
    batch = [
        p.sendgrid_event("ada@example.com", "delivered", sg_event_id="sg-bad-1", timestamp=-1e300),
        p.sendgrid_event("ada@example.com", "open", sg_event_id="sg-open-1"),
        p.sendgrid_event("ada@example.com", "click", sg_event_id="sg-bad-2", timestamp="tomorrow"),
    ]

    response = p.post_json(client, "/anymail/sendgrid/tracking/", batch)

    assert response.status_code == 200
    assert ProviderEvent.objects.get().event_id == "sg-open-1"
    warnings = warnings_of(caplog)
    assert len(warnings) == 2
    assert "event 1 of 3" in warnings[0] and "sg-bad-1" in warnings[0]
    assert "event 3 of 3" in warnings[1] and "sg-bad-2" in warnings[1]


def assert_refused_in_one_line(response, caplog, reader, what):
    assert response.status_code == 400
    assert not ProviderEvent.objects.exists() and not Suppression.objects.exists()
    assert reader_status(reader) == Status.ACTIVE
    [warning] = warnings_of(caplog)
    assert what in warning and "@example.com" not in warning
    assert not any(r.exc_info for r in caplog.records)


def test_brevo_event_with_an_out_of_range_timestamp_is_refused_in_one_line(client, caplog):
    reader = reader_make("ada@example.com")
    payload = p.brevo_event("ada@example.com", "hard_bounce", ts_epoch=10**21)

    response = p.post_json(client, "/anymail/brevo/tracking/", payload)

    assert_refused_in_one_line(response, caplog, reader, "brevo event 1 of 1 (hard_bounce)")


def test_signed_mailgun_event_with_an_out_of_range_timestamp_is_refused_in_one_line(client, caplog, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    reader = reader_make("ada@example.com")
    payload = p.mailgun_failed("ada@example.com", signing_key=MAILGUN_KEY)
    payload["event-data"]["timestamp"] = 1e300

    response = p.post_json(client, "/anymail/mailgun/tracking/", payload)

    assert_refused_in_one_line(response, caplog, reader, "mailgun event 1 of 1 (failed")


def test_signed_legacy_mailgun_form_with_an_out_of_range_timestamp_is_refused(client, caplog, settings):
    # The legacy form's timestamp is the signed one, so only the key holder can send this.
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    reader = reader_make("ada@example.com")
    form = {"event": "bounced", "recipient": "ada@example.com", "code": "550", "error": "user unknown",
            **p.mailgun_signature(MAILGUN_KEY, timestamp="9" * 400)}

    response = client.post("/anymail/mailgun/tracking/", form, **p.basic_auth())

    assert_refused_in_one_line(response, caplog, reader, "mailgun event 1 of 1 (bounced)")
