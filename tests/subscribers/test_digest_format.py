"""The digest's layout, the reader's choice: on the signup form, the
preferences page, in the admin and in "download my data"."""

import json
import re

import pytest
from django.urls import reverse

from subscribers.models import Subscriber
from subscribers.tokens import token_make
from tests.factories import reader_make, topic, unique_email
from tests.subscriber_helpers import eager_tasks, fresh_client, signup_data

pytestmark = pytest.mark.django_db


def preferences_path(subscriber) -> str:
    return f"/preferences/{token_make(subscriber=subscriber, purpose='preferences')}/"


def test_signup_form_offers_both_layouts_and_stores_the_choice(django_capture_on_commit_callbacks):
    client = fresh_client()
    page = client.get("/subscribe/").content.decode()
    assert re.search(r'<input type="radio" name="digest_format" value="full"[^>]*checked', page)
    assert 'value="compact"' in page and "Compact: titles, counts and why" in page
    email = unique_email()
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/subscribe/", signup_data(email, digest_format="compact"))
    assert response.status_code == 303
    assert Subscriber.objects.get(email=email).digest_format == "compact"


def test_a_signup_without_the_field_gets_the_full_layout(django_capture_on_commit_callbacks):
    email = unique_email()
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        fresh_client().post("/subscribe/", signup_data(email))
    assert Subscriber.objects.get(email=email).digest_format == "full"


def test_an_unknown_layout_is_refused_in_words_and_changes_nothing():
    reader = reader_make(topics=("reasoning",))
    response = fresh_client().post(preferences_path(reader), {
        "topics": ["reasoning"], "frequency": "daily", "weekday": "0", "timezone": "UTC", "send_hour": "7",
        "digest_format": "huge",
    })
    assert response.status_code == 400
    assert "Choose the full or the compact layout." in response.content.decode()
    reader.refresh_from_db()
    assert reader.digest_format == "full"


def test_preferences_show_and_change_the_layout():
    reader = reader_make(topics=("reasoning",), digest_format="compact")
    client = fresh_client()
    path = preferences_path(reader)
    assert re.search(r'value="compact"[^>]*checked', client.get(path).content.decode())
    response = client.post(path, {"topics": ["reasoning"], "frequency": "daily", "weekday": "0",
                                  "timezone": "UTC", "send_hour": "7", "digest_format": "full"})
    assert response.status_code == 303
    reader.refresh_from_db()
    assert reader.digest_format == "full"


def test_download_my_data_includes_the_layout():
    reader = reader_make(topics=("reasoning",), digest_format="compact")
    path = preferences_path(reader)
    response = fresh_client().post(path + "export/")
    assert response.status_code == 200
    assert json.loads(response.content)["subscriber"]["digest_format"] == "compact"


def test_the_admin_shows_filters_and_edits_the_layout(admin_client):
    reader = reader_make("reader@example.org", topics=("reasoning",))
    url = reverse("admin:subscribers_subscriber_change", args=[reader.pk])
    assert 'name="digest_format"' in admin_client.get(url).content.decode()
    data = {
        "email": reader.email, "topics": [topic("reasoning").pk], "keywords": "", "frequency": "daily",
        "weekday": 0, "timezone": "UTC", "send_hour": 7, "digest_format": "compact",
        **{f"{prefix}-{key}": value for prefix in ("consents", "deliveries")
           for key, value in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0,
                              "MAX_NUM_FORMS": 1000}.items()},
    }
    assert admin_client.post(url, data).status_code == 302
    reader.refresh_from_db()
    assert reader.digest_format == "compact"
    listed = admin_client.get(reverse("admin:subscribers_subscriber_changelist") + "?digest_format=compact")
    assert "reader@example.org" in listed.content.decode()
