"""What the next digest run sends after an editor acts in the admin (pin,
hide, add topic) and after a reader complains through the provider: the
real planning, selection, assembly and sending, in-process, to the fake
Postmark API."""

import re

import pytest

from bench.fake_provider import FakePostmark
from newsletter.digest.pool import pool_fingerprint
from newsletter.digest.run import digests_run
from newsletter.digest.schedule import deliveries_plan
from newsletter.digest.send import deliveries_send
from newsletter.models import Delivery, Edition, PaperTopic
from subscribers.models import Subscriber
from subscribers.suppression import is_suppressed
from tests import provider_payloads as p
from tests.digest_support import use_fake_postmark as use_fake_postmark_api
from tests.event_helpers import process_pending
from tests.factories import DAY, edition_make, edition_small, paper_make, reader_make, topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


@pytest.fixture
def fake(settings):
    webhook_secret = settings.ANYMAIL["WEBHOOK_SECRET"]
    with FakePostmark() as server:
        use_fake_postmark_api(settings, server)
        settings.ANYMAIL["WEBHOOK_SECRET"] = webhook_secret  # the tracking webhook still authenticates
        yield server


@pytest.fixture
def papers():
    papers = edition_small()
    edition_make()
    return papers


def sent_to(fake, email: str):
    return [m for m in fake.accepted() if m.to == email]


def for_you(message) -> list[str]:
    """The titles in the "For you" section of the text part, in order."""
    section = message.text.split("== For you ==", 1)[1].split("== Also trending", 1)[0]
    return re.findall(r"^(Paper 2507\.\d+|W4A16 kernels for fast inference)$", section, re.M)


def run_for(email: str):
    return digests_run(edition_date=DAY, emails=[email], now=True)


def test_pin_hide_and_add_topic_change_what_the_next_digest_contains(admin_client, fake, papers):
    reader_make("before@example.org", topics=("code",))
    reader_make("after@example.org", topics=("code",))
    run_for("before@example.org")
    [before] = sent_to(fake, "before@example.org")
    # Pinned G leads for everyone; H is the one code paper.
    assert for_you(before) == ["Paper 2507.00007", "Paper 2507.00008"]

    edition = Edition.objects.get(date=DAY)
    op = f"/admin/newsletter/edition/{edition.pk}/paper"
    assert admin_client.post(f"{op}/{papers['E'].pk}/pin/").status_code == 302
    assert admin_client.post(f"{op}/{papers['H'].pk}/hide/").status_code == 302
    response = admin_client.post("/admin/newsletter/paper/", {
        "action": "add_topic", "_selected_action": [papers["D"].pk], "post": "yes", "topic": topic("code").pk,
    })
    assert response.status_code == 302

    run_for("after@example.org")
    [after] = sent_to(fake, "after@example.org")
    titles = for_you(after)
    assert set(titles[:2]) == {"Paper 2507.00007", "Paper 2507.00005"}  # both pins lead
    assert titles[2:] == ["Paper 2507.00004"]  # D, now a code paper
    assert "Paper 2507.00008" not in after.text and "Paper 2507.00008" not in after.html  # hidden
    assert "\nPaper 2507.00004\nCode & software engineering\n" in after.text  # and why


def test_a_reader_who_complains_gets_nothing_in_the_next_run(client, fake, papers):
    reader_make("fine@example.org", topics=("code",))
    reader_make("angry@example.org", topics=("code",))
    payload = p.postmark_spam_complaint("angry@example.org")
    assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()
    assert is_suppressed("angry@example.org")

    report = digests_run(edition_date=DAY, now=True)

    assert [m.to for m in fake.accepted()] == ["fine@example.org"]
    assert report.outcome.sent and not report.outcome.failed
    angry = Delivery.objects.filter(subscriber__email="angry@example.org").first()
    assert angry is None or (angry.status == Delivery.Status.SKIPPED and angry.reason)


def test_a_complaint_after_planning_skips_the_planned_delivery_with_the_reason(client, fake, papers):
    reader_make("angry@example.org", topics=("code",))
    ids = deliveries_plan(edition_date=DAY, ignore_schedule=True).delivery_ids
    assert len(ids) == 1
    payload = p.postmark_spam_complaint("angry@example.org")
    assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()
    assert Subscriber.objects.get().status == Subscriber.Status.COMPLAINED

    outcome = deliveries_send(delivery_ids=ids)

    assert outcome.skipped == ids and fake.accepted() == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SKIPPED
    assert delivery.reason in {"reader is complained", "address is suppressed"}


def test_promoting_a_tagger_topic_to_the_editors_changes_what_digests_see(admin_client):
    paper = paper_make("2507.00042", topics={"code": 0.2})
    before = pool_fingerprint(first=DAY, last=DAY)
    admin_client.post("/admin/newsletter/paper/", {
        "action": "add_topic", "_selected_action": [paper.pk], "post": "yes", "topic": topic("code").pk,
    })
    link = PaperTopic.objects.get()
    assert (link.origin, link.score) == (PaperTopic.Origin.EDITOR, 1.0)
    assert pool_fingerprint(first=DAY, last=DAY) != before
