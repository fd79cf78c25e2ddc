from datetime import timedelta

import pytest
from django.urls import reverse

from newsletter.models import Delivery
from tests.factories import DAY, delivery_make, edition_make, reader_make

pytestmark = pytest.mark.django_db

LIST = "/admin/newsletter/delivery/"


def listed(response) -> list[int]:
    return [d.pk for d in response.context["cl"].result_list]


@pytest.fixture
def deliveries():
    today, yesterday = edition_make(), edition_make(day=DAY - timedelta(days=1))
    ada, grace = reader_make("reader1@example.org"), reader_make("reader2@example.org")
    return {
        "sent": delivery_make(reader=ada, edition=today),
        "skipped": delivery_make(reader=grace, edition=today, status="skipped", reason="suppressed"),
        "failed": delivery_make(reader=ada, edition=yesterday, status="failed", reason="provider rejected"),
        "old": delivery_make(reader=grace, edition=yesterday),
    }


def test_list_filters_by_edition_status_and_reason(admin_client, deliveries):
    d = deliveries
    today = d["sent"].edition
    assert set(listed(admin_client.get(LIST))) == {x.pk for x in d.values()}
    of_today = listed(admin_client.get(LIST, {"edition__id__exact": today.pk}))
    assert set(of_today) == {d["sent"].pk, d["skipped"].pk}
    assert listed(admin_client.get(LIST, {"status__exact": "failed"})) == [d["failed"].pk]
    assert listed(admin_client.get(LIST, {"reason": "suppressed"})) == [d["skipped"].pk]
    html = admin_client.get(LIST).content.decode()
    # Offered as filter choices:
    assert "provider rejected" in html and (DAY - timedelta(days=1)).isoformat() in html


def test_search_by_exact_address_or_message_id(admin_client, deliveries):
    d = deliveries
    assert set(listed(admin_client.get(LIST, {"q": "READER1@example.org"}))) == {d["sent"].pk, d["failed"].pk}
    assert listed(admin_client.get(LIST, {"q": d["old"].provider_message_id})) == [d["old"].pk]
    assert listed(admin_client.get(LIST, {"q": "nobody@example.org"})) == []


def test_deliveries_are_read_only(admin_client, deliveries):
    delivery = deliveries["sent"]
    assert admin_client.get(reverse("admin:newsletter_delivery_add")).status_code == 403
    change = reverse("admin:newsletter_delivery_change", args=[delivery.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    admin_client.post(change, {"status": "pending"})
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    delete = reverse("admin:newsletter_delivery_delete", args=[delivery.pk])
    assert admin_client.post(delete).status_code == 403
    assert Delivery.objects.count() == 4
    assert 'value="delete_selected"' not in admin_client.get(LIST).content.decode()


def test_list_filters_reconciled_deliveries_and_shows_how_each_was_settled(admin_client):
    edition = edition_make()
    rows = {
        way or "plain": delivery_make(reader=reader_make(f"{way or 'plain'}@example.org"), edition=edition,
                                      reconciled=way, reconcile_note=f"ambiguous: ReadTimeout; {way} note")
        for way in ("lookup", "event", "resend", "")
    }
    waiting = delivery_make(reader=reader_make("waiting@example.org"), edition=edition, status="uncertain",
                            reason="interrupted", reconcile_note="interrupted; to be looked up")
    assert set(listed(admin_client.get(LIST, {"reconciled": "any"}))) == {
        rows["lookup"].pk, rows["event"].pk, rows["resend"].pk}
    assert listed(admin_client.get(LIST, {"reconciled": "resend"})) == [rows["resend"].pk]
    assert listed(admin_client.get(LIST, {"status__exact": "uncertain"})) == [waiting.pk]
    html = admin_client.get(LIST).content.decode()
    for label in ("found at the provider", "named by a provider event", "not at the provider: sent again",
                  "asking the provider"):
        assert label in html
    assert 'title="ambiguous: ReadTimeout; lookup note"' in html
