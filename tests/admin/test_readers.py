import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from newsletter.models import Delivery
from subscribers.models import ConsentRecord, Subscriber, Suppression, email_hash
from subscribers.suppression import is_suppressed
from tests.factories import DAY, delivery_make, edition_make, reader_make, topic
from tests.subscriber_helpers import eager_tasks

pytestmark = pytest.mark.django_db

LIST = "/admin/subscribers/subscriber/"


def listed(response) -> list[str]:
    return [r.email for r in response.context["cl"].result_list]


def act(client, action, readers, **extra):
    data = {"action": action, "_selected_action": [r.pk for r in readers], "index": 0, **extra}
    return client.post(LIST, data)


def confirm(client, action, readers, **extra):
    return client.post(LIST, {"action": action, "_selected_action": [r.pk for r in readers], "post": "yes",
                              **extra})


@pytest.fixture
def readers():
    with time_machine.travel("2025-03-10 09:00Z"):
        march = reader_make("reader1@example.org", topics=("reasoning", "code"), timezone="Europe/Paris")
    with time_machine.travel("2025-05-02 09:00Z"):
        may = reader_make("reader2@example.org", topics=("code",), frequency="weekly", timezone="Asia/Tokyo")
        pending = reader_make("reader3@example.org", status=Subscriber.Status.PENDING, topics=())
    return march, may, pending


def test_list_filters_by_status_topic_frequency_time_zone_and_signup_month(admin_client, readers):
    march, may, pending = readers
    assert set(listed(admin_client.get(LIST))) == {march.email, may.email, pending.email}
    assert listed(admin_client.get(LIST, {"status__exact": "pending"})) == [pending.email]
    assert listed(admin_client.get(LIST, {"topic": topic("reasoning").pk})) == [march.email]
    assert set(listed(admin_client.get(LIST, {"topic": topic("code").pk}))) == {march.email, may.email}
    assert listed(admin_client.get(LIST, {"frequency__exact": "weekly"})) == [may.email]
    assert listed(admin_client.get(LIST, {"timezone": "Asia/Tokyo"})) == [may.email]
    assert listed(admin_client.get(LIST, {"signup_month": "2025-03"})) == [march.email]
    assert set(listed(admin_client.get(LIST, {"signup_month": "2025-05"}))) == {may.email, pending.email}
    html = admin_client.get(LIST).content.decode()
    assert "Europe/Paris" in html and "2025-03" in html  # offered as choices


def test_search_by_address(admin_client, readers):
    assert listed(admin_client.get(LIST, {"q": "reader2@"})) == ["reader2@example.org"]


def test_list_shows_topics_and_suppression(admin_client, readers):
    march, may, _ = readers
    Suppression.objects.create(email_hash=email_hash(may.email), reason="manual")
    response = admin_client.get(LIST)
    rows = {r.email: r for r in response.context["cl"].result_list}
    assert rows[may.email].admin_suppressed is True
    assert rows[march.email].admin_suppressed is False
    html = admin_client.get(LIST, {"q": "reader1@"}).content.decode()
    cell = re.search(r'<td class="field-topics_cell">([^<]*)</td>', html).group(1)
    assert set(cell.split(", ")) == {"Code &amp; software engineering", "Reasoning &amp; test-time compute"}


def test_list_names_three_topics_and_counts_the_rest(admin_client):
    slugs = ["inference-serving", "quantization-compression", "speculative-decoding", "reasoning", "code"]
    reader_make("reader1@example.org", topics=slugs)
    reader_make("reader2@example.org", topics=(), keywords="Mamba")
    reader_make("reader3@example.org", topics=())
    html = admin_client.get(LIST).content.decode()
    row = r'>(reader\d)@example.org</span></a></th>.*?<td class="field-topics_cell">(.*?)</td>'
    cells = dict(re.findall(row, html, re.S))
    assert cells == {
        "reader1": "LLM inference &amp; serving, Quantization &amp; compression, Speculative &amp; parallel "
                   "decoding <small>+2</small>",
        "reader2": "keywords only",
        "reader3": "every topic",
    }


def test_list_shows_when_each_reader_gets_the_digest(admin_client):
    reader_make("reader1@example.org", frequency="weekly", weekday=4, send_hour=6, timezone="Asia/Tokyo")
    reader_make("reader2@example.org", send_hour=17, timezone="Europe/Paris")
    html = admin_client.get(LIST).content.decode()
    assert '<td class="field-schedule">Fridays 06:00<br><small>Asia/Tokyo</small></td>' in html
    assert '<td class="field-schedule">daily 17:00<br><small>Europe/Paris</small></td>' in html


def test_reader_page_shows_consent_and_the_latest_deliveries(admin_client):
    reader = reader_make("reader1@example.org")
    ConsentRecord.objects.create(subscriber=reader, kind=ConsentRecord.Kind.SIGNUP,
                                 wording="I want the digest.", wording_version="1")
    for n in range(25):
        delivery_make(reader=reader, edition=edition_make(day=DAY + timedelta(days=n)))
    response = admin_client.get(reverse("admin:subscribers_subscriber_change", args=[reader.pk]))
    assert response.status_code == 200
    formsets = {fs.formset.model: fs.formset for fs in response.context["inline_admin_formsets"]}
    shown = [form.instance.edition.date for form in formsets[Delivery].forms]
    assert len(shown) == 20
    assert shown[0] == DAY + timedelta(days=24)  # newest first
    html = response.content.decode()
    assert "I want the digest." in html  # the consent record
    assert f"?subscriber__id__exact={reader.pk}" in html  # the full history
    deliveries = reverse("admin:newsletter_delivery_changelist")
    full = admin_client.get(deliveries, {"subscriber__id__exact": reader.pk})
    assert len(full.context["cl"].result_list) == 25


def test_status_and_address_cannot_be_edited_in_the_form(admin_client):
    reader = reader_make("reader1@example.org", status=Subscriber.Status.PENDING)
    url = reverse("admin:subscribers_subscriber_change", args=[reader.pk])
    response = admin_client.post(url, {
        "email": "other@example.org", "status": "active", "topics": [topic("code").pk], "keywords": "",
        "frequency": "daily", "weekday": 0, "timezone": "UTC", "send_hour": 7, "digest_format": "full",
        **{f"{prefix}-{key}": value for prefix in ("consents", "deliveries")
           for key, value in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0,
                              "MAX_NUM_FORMS": 1000}.items()},
    })
    assert response.status_code == 302
    reader.refresh_from_db()
    assert (reader.email, reader.status) == ("reader1@example.org", "pending")
    assert list(reader.topics.values_list("slug", flat=True)) == ["code"]


def test_unsubscribe_asks_first_then_unsubscribes_and_logs(admin_client, readers):
    march, may, _ = readers
    page = act(admin_client, "unsubscribe", [march, may])
    assert "Unsubscribe these readers?" in page.content.decode()
    assert Subscriber.objects.filter(status="unsubscribed").count() == 0
    confirm(admin_client, "unsubscribe", [march, may])
    march.refresh_from_db()
    assert march.status == "unsubscribed" and march.unsubscribed_at is not None
    assert Subscriber.objects.filter(status="unsubscribed").count() == 2
    assert LogEntry.objects.filter(change_message="Unsubscribed by an editor").count() == 2


def test_unsubscribe_leaves_bounced_readers_as_they_are(admin_client):
    bounced = reader_make("reader1@example.org", status=Subscriber.Status.BOUNCED)
    confirm(admin_client, "unsubscribe", [bounced])
    bounced.refresh_from_db()
    assert bounced.status == "bounced"
    assert not LogEntry.objects.exists()


def test_suppress_asks_first_then_suppresses_and_logs(admin_client, readers):
    march, _, _ = readers
    act(admin_client, "suppress", [march])
    assert not is_suppressed(march.email)
    confirm(admin_client, "suppress", [march])
    assert is_suppressed(march.email)
    assert Suppression.objects.get().reason == Suppression.Reason.MANUAL
    confirm(admin_client, "suppress", [march])  # harmless again
    assert Suppression.objects.count() == 1
    assert LogEntry.objects.filter(change_message="Suppressed the address (manual)").count() == 1


def test_select_all_confirmation_keeps_the_filters(admin_client, readers):
    march, may, pending = readers
    url = LIST + "?frequency__exact=daily"
    data = {"action": "unsubscribe", "_selected_action": [march.pk], "select_across": "1", "index": 0}
    page = admin_client.post(url, data)
    assert "2 in all" not in page.content.decode()  # one page: no "more"
    confirm_data = {"action": "unsubscribe", "_selected_action": [march.pk], "select_across": "1",
                    "post": "yes"}
    admin_client.post(url, confirm_data)
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {march.email: "unsubscribed", may.email: "active", pending.email: "unsubscribed"}


def test_export_selected_to_csv(admin_client, readers):
    march, may, _ = readers
    response = act(admin_client, "export_csv", [march, may])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="readers-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["email"], r["topics"], r["frequency"]) for r in rows] == [
        (march.email, "code;reasoning", "daily"), (may.email, "code", "weekly"),
    ]


def test_resend_confirmation_emails_pending_readers_only(admin_client, django_capture_on_commit_callbacks):
    from django.core import mail

    pending = reader_make("reader1@example.org", status=Subscriber.Status.PENDING)
    active = reader_make("reader2@example.org")
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "resend_confirmation", [pending, active])
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[pending.email]]
    assert "/confirm/" in mail.outbox[0].body
    pending.refresh_from_db()
    assert pending.confirmation_sent_at is not None
    assert LogEntry.objects.filter(change_message="Confirmation email resent by an editor").count() == 1
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Confirmation email requested for 1 reader(s) (1 skipped: already confirmed, "
                        "left, or suppressed)."]
