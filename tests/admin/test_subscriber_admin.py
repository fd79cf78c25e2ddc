"""Editors see every reader's consent records in the admin."""

import pytest

from subscribers.choices import Choices
from subscribers.consent import CONSENT_VERSION
from subscribers.models import Subscriber
from subscribers.services import subscriber_confirm, subscriber_signup
from tests.factories import reader_make
from tests.subscriber_helpers import unique_email

pytestmark = pytest.mark.django_db


def test_change_page_shows_the_consent_records(admin_client):
    email = unique_email()
    subscriber_signup(email=email, choices=Choices.build(topics=["reasoning"]), ip="203.0.113.9",
                      user_agent="SignupAgent/3.1")
    subscriber = Subscriber.objects.get(email=email)
    subscriber_confirm(subscriber=subscriber, ip="203.0.113.10", user_agent="ConfirmAgent/4.2")

    response = admin_client.get(f"/admin/subscribers/subscriber/{subscriber.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Signup", "Confirmation", "203.0.113.9", "203.0.113.10", "SignupAgent/3.1",
                 "ConfirmAgent/4.2", CONSENT_VERSION, "I agree to receive the Daily Papers digest"):
        assert text in html
    # Consent is proof: shown read-only, never added or edited by hand.
    assert 'name="consents-MAX_NUM_FORMS" value="0"' in html
    assert 'name="consents-0-wording"' not in html


def test_list_page_answers(admin_client):
    reader_make(status=Subscriber.Status.PENDING, topics=())
    assert admin_client.get("/admin/subscribers/subscriber/").status_code == 200


def _change(client, reader, **changes):
    """POST the reader's change form with its current values and ``changes``."""
    data = {
        "topics": [t.pk for t in reader.topics.all()], "keywords": reader.keywords,
        "frequency": reader.frequency, "weekday": reader.weekday, "timezone": reader.timezone,
        "send_hour": reader.send_hour, "digest_format": reader.digest_format, "paused": "",
        **{f"{prefix}-{key}": value for prefix in ("consents", "deliveries")
           for key, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MAX_NUM_FORMS", 0))},
        **changes,
    }
    return client.post(f"/admin/subscribers/subscriber/{reader.pk}/change/", data)


@pytest.mark.parametrize(("field", "value", "error"), [
    ("timezone", "Mars/Olympus", "That is not a time zone we know; please pick one from the list."),
    ("weekday", "9", "Pick a day of the week from the list."),
    ("send_hour", "30", "Pick an hour between 00:00 and 23:00."),
])
def test_form_refuses_what_the_public_form_refuses_on_the_field(admin_client, field, value, error):
    reader = reader_make(timezone="Europe/Paris", send_hour=8)
    response = _change(admin_client, reader, **{field: value})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {field: [error]}
    html = response.content.decode()
    assert "Constraint" not in html and "is violated" not in html
    reader.refresh_from_db()
    assert (reader.timezone, reader.weekday, reader.send_hour) == ("Europe/Paris", 0, 8)


def test_form_offers_weekday_names_hours_and_the_time_zone_list(admin_client):
    reader = reader_make(timezone="Asia/Tokyo", frequency="weekly", weekday=4, send_hour=6)
    html = admin_client.get(f"/admin/subscribers/subscriber/{reader.pk}/change/").content.decode()
    assert '<option value="4" selected>Friday</option>' in html
    assert '<option value="6" selected>06:00</option>' in html
    assert '<option value="23">23:00</option>' in html
    assert '<optgroup label="Asia">' in html and '<option value="Asia/Tokyo" selected>Tokyo</option>' in html

    response = _change(admin_client, reader, weekday="6", send_hour="0", timezone="America/New_York")
    assert response.status_code == 302
    reader.refresh_from_db()
    assert (reader.weekday, reader.send_hour, reader.timezone) == (6, 0, "America/New_York")
