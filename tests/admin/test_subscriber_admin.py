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
