"""The suppression list and provider events in the admin: lifting needs a
reason and is recorded; suppressions are never deleted or edited."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.suppression import is_suppressed, suppression_add
from tests import provider_payloads as p
from tests.event_helpers import process_pending, reader_status
from tests.factories import delivery_make, reader_make

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/subscribers/suppression/"


def lift(admin_client, suppressions, **extra):
    data = {"action": "lift_with_reason", ACTION_CHECKBOX_NAME: [s.pk for s in suppressions], **extra}
    return admin_client.post(CHANGELIST, data)


def test_lift_asks_for_a_reason_first(admin_client):
    suppression = suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)

    page = lift(admin_client, [suppression])

    assert page.status_code == 200
    assert "Lift 1 suppression" in page.content.decode()
    assert is_suppressed("ada@example.com")


@pytest.mark.parametrize("reason", [{"reason": "   "}, {}], ids=["blank", "missing"])
def test_lift_without_a_reason_changes_nothing(admin_client, reason):
    suppression = suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)

    page = lift(admin_client, [suppression], apply="1", **reason)

    assert page.status_code == 200
    assert "This field is required" in page.content.decode()
    assert is_suppressed("ada@example.com")
    suppression.refresh_from_db()
    assert (suppression.lifted_at, suppression.lifted_by) == (None, "")


def test_lift_with_a_reason_is_recorded(admin_client, admin_user):
    bounced = suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)
    complained = suppression_add(email="grace@example.com", reason=Suppression.Reason.COMPLAINED)

    response = lift(admin_client, [bounced, complained], apply="1", reason="Mailbox restored, reader asked")

    assert response.status_code == 302
    assert not is_suppressed("ada@example.com") and not is_suppressed("grace@example.com")
    bounced.refresh_from_db()
    assert bounced.lifted_reason == "Mailbox restored, reader asked"
    assert bounced.lifted_by == admin_user.get_username() and bounced.lifted_at is not None


def test_suppressions_cannot_be_added_deleted_or_edited(admin_client):
    suppression = suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{suppression.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"{CHANGELIST}{suppression.pk}/change/", {"reason": "manual", "email_hash": "x"})
    suppression.refresh_from_db()
    assert (suppression.reason, suppression.lifted_at) == (Suppression.Reason.BOUNCED, None)


def test_suppression_is_found_by_address(admin_client):
    suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED, detail="hard bounce ada")
    suppression_add(email="grace@example.com", reason=Suppression.Reason.BOUNCED, detail="hard bounce grace")

    page = admin_client.get(CHANGELIST, {"q": " Ada@Example.com "}).content.decode()

    assert "hard bounce ada" in page and "hard bounce grace" not in page


def test_provider_events_list_links_deliveries_without_a_query_per_row(
    admin_client, client, django_assert_max_num_queries
):
    deliveries = []
    for n in range(5):
        reader = reader_make(f"reader{n}@example.com")
        deliveries.append(delivery_make(reader=reader))
        p.post_json(client, "/anymail/postmark/tracking/",
                    p.postmark_open(reader.email, metadata={"delivery_id": str(deliveries[-1].pk)}))
    process_pending()

    with django_assert_max_num_queries(10):
        page = admin_client.get("/admin/subscribers/providerevent/")

    assert page.status_code == 200
    for delivery in deliveries:
        assert f"/admin/newsletter/delivery/{delivery.pk}/change/" in page.content.decode()


def test_process_now_applies_waiting_events(admin_client, client):
    reader = reader_make("ada@example.com")
    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_spam_complaint("ada@example.com"))
    event = ProviderEvent.objects.get()
    ProviderEvent.objects.update(attempts=5, error="OperationalError: database was restarting")

    response = admin_client.post("/admin/subscribers/providerevent/",
                                 {"action": "process_now", ACTION_CHECKBOX_NAME: [event.pk]})

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.processed_at is not None and event.error == ""
    assert reader_status(reader) == Subscriber.Status.COMPLAINED
