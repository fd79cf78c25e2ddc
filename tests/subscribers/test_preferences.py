"""/preferences/<token>/: change choices, pause, reach unsubscribe, export, erase."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from subscribers.models import Subscriber
from subscribers.tokens import token_make
from tests.factories import reader_make
from tests.subscriber_helpers import fresh_client

pytestmark = pytest.mark.django_db


def preferences_path(subscriber) -> str:
    return f"/preferences/{token_make(subscriber=subscriber, purpose='preferences')}/"


def form_data(**overrides) -> dict:
    data = {"topics": ["code", "agents-tools"], "keywords": "SWE-bench", "frequency": "weekly",
            "weekday": "5", "timezone": "Asia/Tokyo", "send_hour": "22"}
    data.update(overrides)
    return data


def test_page_shows_the_current_choices():
    subscriber = reader_make(topics=("reasoning", "surveys"), keywords="Mamba",
                             timezone="America/Chicago", send_hour=6)
    response = fresh_client().get(preferences_path(subscriber))
    assert response.status_code == 200
    html = response.content.decode()
    assert subscriber.email in html
    assert re.search(r'value="reasoning"[^>]*checked', html)
    assert re.search(r'value="surveys"[^>]*checked', html)
    assert not re.search(r'value="code"[^>]*checked', html)
    assert 'value="Mamba"' in html
    assert '<option value="America/Chicago" selected>Chicago</option>' in html
    assert '<option value="6" selected>06:00</option>' in html
    assert "data-detect-timezone" not in html  # never overwrite a saved zone
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    # Every way out is on the page.
    assert "Unsubscribe</button>" in html
    assert "Download my data</button>" in html
    assert "Delete my data</a>" in html


def test_saving_changes_every_choice_without_logging_in():
    subscriber = reader_make(topics=("reasoning",))
    client = fresh_client()
    path = preferences_path(subscriber)
    response = client.post(path, form_data(paused="on"))
    assert response.status_code == 303
    assert response["Location"] == path
    subscriber.refresh_from_db()
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["agents-tools", "code"]
    assert (subscriber.keywords, subscriber.frequency, subscriber.weekday) == ("SWE-bench", "weekly", 5)
    assert (subscriber.timezone, subscriber.send_hour, subscriber.paused) == ("Asia/Tokyo", 22, True)
    assert subscriber.status == Subscriber.Status.ACTIVE
    page = client.get(path).content.decode()
    assert "Your preferences are saved." in page
    assert "Your digest is <strong>paused</strong>." in page


def test_unticking_pause_resumes():
    subscriber = reader_make(paused=True)
    fresh_client().post(preferences_path(subscriber), form_data())
    subscriber.refresh_from_db()
    assert subscriber.paused is False


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"timezone": "Nowhere/Special"}, "not a time zone we know"),
        ({"topics": ["nope"]}, "not one we offer"),
        ({"topics": [], "keywords": ""}, "Pick at least one topic"),
        ({"send_hour": "-1"}, "Pick an hour"),
        ({"keywords": "\ufffd"}, "not valid UTF-8"),
    ],
    ids=["time zone", "topic", "nothing chosen", "hour", "replacement character"],
)
def test_invalid_changes_are_explained_and_nothing_changes(overrides, message):
    subscriber = reader_make(topics=("reasoning",), send_hour=7)
    response = fresh_client().post(preferences_path(subscriber), form_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    subscriber.refresh_from_db()
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["reasoning"]
    assert (subscriber.send_hour, subscriber.timezone) == (7, "UTC")


def test_saving_needs_the_csrf_token():
    subscriber = reader_make(send_hour=7)
    response = fresh_client(enforce_csrf_checks=True).post(preferences_path(subscriber), form_data())
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.send_hour == 7


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_a_token_for_another_purpose_does_not_open_preferences(purpose):
    subscriber = reader_make()
    token = token_make(subscriber=subscriber, purpose=purpose)
    response = fresh_client().get(f"/preferences/{token}/")
    assert response.status_code == 400
    assert subscriber.email not in response.content.decode()


def test_preferences_links_work_for_their_lifetime_then_expire(settings):
    settings.PREFERENCES_LINK_MAX_AGE_DAYS = 90
    subscriber = reader_make()
    path = preferences_path(subscriber)
    with time_machine.travel(timezone.now() + timedelta(days=89), tick=False):
        assert fresh_client().get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=91), tick=False):
        for response in (fresh_client().get(path), fresh_client().post(path + "export/")):
            assert response.status_code == 410
            assert "Links to your preferences work for 90 days" in response.content.decode()
            assert subscriber.email not in response.content.decode()


def test_unsubscribed_reader_is_told_how_to_come_back():
    subscriber = reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    html = fresh_client().get(preferences_path(subscriber)).content.decode()
    assert "You are <strong>unsubscribed</strong>" in html
    assert 'href="/subscribe/">Subscribe again</a>' in html
    assert "Unsubscribe</button>" not in html


def test_unsubscribing_from_the_preferences_page_carries_csrf():
    subscriber = reader_make()
    client = fresh_client(enforce_csrf_checks=True)
    html = client.get(preferences_path(subscriber)).content.decode()
    form = re.search(r'<form method="post" action="(/unsubscribe/[^"]+/)">\s*<input type="hidden" '
                     r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    response = client.post(form.group(1), {"csrfmiddlewaretoken": form.group(2)})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
