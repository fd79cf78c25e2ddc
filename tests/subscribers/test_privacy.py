"""Download my data, delete my data: the reader's privacy requests."""

import datetime as dt
import json
import re

import pytest
from django.core import mail

from newsletter.models import Delivery
from subscribers.choices import Choices
from subscribers.models import ConsentRecord, Subscriber, Suppression, email_hash
from subscribers.services import subscriber_confirm, subscriber_erase, subscriber_export, subscriber_signup
from subscribers.suppression import suppression_add
from subscribers.tokens import token_make
from tests.factories import delivery_make, edition_make, reader_make
from tests.subscriber_helpers import fresh_client, link_path, sent_to, signup_data, unique_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(run):
    """A confirmed reader with one delivered digest."""
    email = unique_email()
    run(subscriber_signup, email=email, choices=Choices.build(topics=["reasoning"], keywords="Mamba"),
        ip="198.51.100.7", user_agent="Signup/1.0")
    subscriber = Subscriber.objects.get(email=email)
    run(subscriber_confirm, subscriber=subscriber, ip="2001:db8::1", user_agent="Confirm/1.0")
    edition = edition_make(dt.date(2026, 11, 20))
    delivery_make(reader=subscriber, edition=edition, paper_ids=["2507.06607"],
                  sent_at=dt.datetime(2026, 11, 20, 7, tzinfo=dt.UTC))
    return subscriber


def prefs(subscriber) -> str:
    return f"/preferences/{token_make(subscriber=subscriber, purpose='preferences')}/"


def test_download_is_a_json_file_of_everything_we_hold(reader):
    client = fresh_client(enforce_csrf_checks=True)
    html = client.get(prefs(reader)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(prefs(reader) + "export/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="daily-papers-my-data.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)

    assert data["subscriber"]["email"] == reader.email
    assert data["subscriber"]["status"] == "active"
    assert data["subscriber"]["topics"] == [{"slug": "reasoning", "name": "Reasoning & test-time compute"}]
    assert data["subscriber"]["keywords"] == ["Mamba"]
    assert data["subscriber"]["confirmed_at"]
    signup, confirmation = data["consent_records"]
    assert (signup["kind"], signup["ip"], signup["user_agent"], signup["source"]) == (
        "signup", "198.51.100.7", "Signup/1.0", "web")
    assert (confirmation["kind"], confirmation["ip"], confirmation["user_agent"]) == (
        "confirmation", "2001:db8::1", "Confirm/1.0")
    assert signup["wording"].startswith("I agree to receive") and signup["wording_version"]
    assert data["deliveries"] == [{
        "edition": "2026-11-20", "status": "sent", "reason": "", "papers": ["2507.06607"],
        "due_at": data["deliveries"][0]["due_at"], "sent_at": "2026-11-20T07:00:00+00:00",
    }]


def test_download_is_post_only_and_needs_csrf(reader):
    client = fresh_client(enforce_csrf_checks=True)
    assert client.get(prefs(reader) + "export/").status_code == 405
    assert client.post(prefs(reader) + "export/").status_code == 403


def test_erase_asks_first_then_deletes_everything_but_a_hash(reader):
    client = fresh_client()
    page = client.get(prefs(reader) + "erase/")
    assert page.status_code == 200
    assert "Delete everything</button>" in page.content.decode()
    assert Subscriber.objects.filter(pk=reader.pk).exists()  # a GET deletes nothing

    response = client.post(prefs(reader) + "erase/")
    assert response.status_code == 200
    assert "Your data is deleted" in response.content.decode()
    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert not ConsentRecord.objects.filter(subscriber_id=reader.pk).exists()
    assert not Delivery.objects.filter(subscriber_id=reader.pk).exists()
    suppression = Suppression.objects.get(lifted_at__isnull=True)
    assert suppression.reason == Suppression.Reason.ERASED
    assert suppression.email_hash == email_hash(reader.email)
    # The address itself is stored nowhere.
    assert reader.email not in json.dumps(list(Suppression.objects.values()), default=str)


def test_old_links_stop_working_after_erasure(reader):
    client = fresh_client()
    client.post(prefs(reader) + "erase/")
    for path in (prefs(reader), f"/unsubscribe/{token_make(subscriber=reader, purpose='unsubscribe')}/"):
        response = client.get(path)
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()


def test_erase_needs_csrf(reader):
    response = fresh_client(enforce_csrf_checks=True).post(prefs(reader) + "erase/")
    assert response.status_code == 403
    assert Subscriber.objects.filter(pk=reader.pk).exists()


def test_erased_address_can_sign_up_anew_and_confirming_lifts_the_suppression(reader, run):
    email = reader.email
    fresh_client().post(prefs(reader) + "erase/")
    mail.outbox.clear()

    run(fresh_client().post, "/subscribe/", signup_data(email))
    [confirmation] = sent_to(email)
    new = Subscriber.objects.get(email=email)
    assert new.pk != reader.pk
    assert new.consents.count() == 1  # history starts afresh
    assert Suppression.objects.get().lifted_at is None

    run(fresh_client().post, link_path(confirmation, "confirm"))
    suppression = Suppression.objects.get()
    assert suppression.reason == Suppression.Reason.ERASED
    assert suppression.lifted_at is not None
    assert suppression.lifted_by == "reader confirmation"
    assert Subscriber.objects.get(pk=new.pk).status == Subscriber.Status.ACTIVE
    assert [m.subject for m in sent_to(email)][-1] == "Welcome to Daily Papers"


def test_erasing_a_bounced_address_keeps_the_bounce(run):
    subscriber = reader_make(status=Subscriber.Status.BOUNCED, topics=())
    suppression_add(email=subscriber.email, reason=Suppression.Reason.BOUNCED)
    subscriber_erase(subscriber=subscriber)
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED
    run(fresh_client().post, "/subscribe/", signup_data(subscriber.email))
    assert mail.outbox == []


def _provider_event(subscriber, kind="delivered"):
    from subscribers.models import ProviderEvent

    return ProviderEvent.objects.create(
        provider="postmark", event_key=f"key-{kind}-{subscriber.pk}", event_type=kind, kind=kind,
        recipient=subscriber.email, recipient_hash=email_hash(subscriber.email),
        subscriber=subscriber, payload={"Recipient": subscriber.email}, description="Delivered",
    )


def test_export_includes_what_the_provider_reported(reader):
    _provider_event(reader)
    data = subscriber_export(subscriber=reader)
    assert [(e["kind"], e["provider"]) for e in data["provider_events"]] == [("delivered", "postmark")]


def test_erase_deletes_provider_events_that_hold_the_address(reader):
    from subscribers.models import ProviderEvent

    _provider_event(reader)
    subscriber_erase(subscriber=reader)
    assert not ProviderEvent.objects.exists()
    assert Suppression.objects.filter(email_hash=email_hash(reader.email), lifted_at__isnull=True).exists()
