"""send_digests and preview_digest as an operator runs them."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from bench.fake_provider import FakePostmark
from newsletter.digest.schedule import deliveries_plan
from newsletter.digest.send import pending_take, stale_deliveries_settle
from newsletter.models import Delivery, Paper
from tests.conftest import free_port
from tests.digest_support import use_fake_postmark
from tests.factories import edition_small, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]
NOON = datetime(2025, 7, 10, 12, 0, tzinfo=UTC)


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_send_digests_sends_to_due_readers_and_summarises():
    edition_small()
    Paper.objects.update(pinned=False)  # an editor's pick would go to everyone
    reader_make("a@example.org", topics=("quantization-compression",), send_hour=7)
    reader_make("b@example.org", topics=("speech-audio",), send_hour=7)  # nothing for them
    reader_make("c@example.org", topics=("quantization-compression",), send_hour=23)  # not yet
    with time_machine.travel(NOON, tick=False):
        out, err = run("send_digests")
    assert [m.to for m in mail.outbox] == [["a@example.org"]]
    assert "edition 2025-07-10: sent 1, skipped 1, failed 0" in out
    assert "skipped 1: nothing new for this reader in this edition" in out
    assert "[##############################] 2/2" in err


def test_send_digests_now_for_one_address_ignores_the_hour_and_explains_a_second_run():
    edition_small()
    reader_make("late@example.org", topics=("quantization-compression",), send_hour=23)
    with time_machine.travel(NOON, tick=False):
        out, _ = run("send_digests", "--now", "--email", "late@example.org")
        assert "sent 1" in out
        out, err = run("send_digests", "--now", "--email", "late@example.org")
    assert "sent 0" in out
    assert "late@example.org already has a digest for 2025-07-10: sent" in err
    assert len(mail.outbox) == 1


def test_send_digests_retries_transient_failures_until_sent(settings):
    settings.DIGEST_RETRY_BASE_SECONDS = 0  # retry at once: nothing to wait for in a test
    with FakePostmark() as fake:
        use_fake_postmark(settings, fake)
        edition_small()
        reader_make("a@example.org", topics=("quantization-compression",))
        fake.fault("a@example.org", "500")
        fake.fault("a@example.org", "429", retry_after=0)
        with time_machine.travel(NOON, tick=False):
            out, _ = run("send_digests", "--now")
        assert [m.to for m in fake.accepted()] == ["a@example.org"]
    assert "sent 1, skipped 0, failed 0" in out
    assert Delivery.objects.get().attempts == 3


def test_send_digests_refuses_bad_input_and_says_why():
    with pytest.raises(CommandError, match="'10/07/2025' is not a date; use YYYY-MM-DD"):
        run("send_digests", "--date", "10/07/2025")
    with pytest.raises(CommandError, match="no edition with papers yet"):
        run("send_digests")
    edition_small()
    with time_machine.travel(NOON, tick=False):
        _, err = run("send_digests", "--now", "--email", "nobody@example.org")
    assert "no subscriber has the address nobody@example.org" in err
    assert not Delivery.objects.exists()


def test_preview_prints_the_readers_email_and_creates_nothing():
    edition_small()
    reader_make("a@example.org", topics=("quantization-compression",))
    out, _ = run("preview_digest", "--email", "A@example.org", "--text")
    assert "Subject: Quantization & compression + 6 more · Daily Papers, Thu 10 Jul" in out
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in out
    assert "== For you ==" in out and "W4A16 kernels for fast inference" in out
    html, _ = run("preview_digest", "--email", "a@example.org", "--date", "2025-07-10")
    assert "<!DOCTYPE html>" in html
    assert not Delivery.objects.exists()


def test_preview_explains_an_empty_digest_and_an_unknown_reader():
    edition_small()
    Paper.objects.update(pinned=False)
    reader_make("speech@example.org", topics=("speech-audio",), status="unsubscribed")
    out, err = run("preview_digest", "--email", "speech@example.org")
    assert out.strip() == "No digest for speech@example.org on 2025-07-10: " \
                          "nothing new for this reader in this edition."
    assert "is unsubscribed: no digest would be sent" in err
    with pytest.raises(CommandError, match=r"no subscriber has the address ghost@example\.org"):
        run("preview_digest", "--email", "ghost@example.org")


def test_send_digests_stops_when_the_mail_server_stays_down_and_leaves_digests_pending(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.DIGEST_RETRY_BASE_SECONDS = 0
    settings.DIGEST_MAX_ATTEMPTS = 2
    edition_small()
    reader_make("a@example.org", topics=("quantization-compression",))
    with time_machine.travel(NOON, tick=False):
        out, _ = run("send_digests", "--now")
    assert "sent 0, skipped 0, failed 0, still pending 1 (no progress; workers will retry)" in out
    assert Delivery.objects.get().status == "pending"


def test_send_digests_again_after_a_crash_sends_what_is_still_pending_and_says_so():
    # A first run planned everyone, sent one digest and died with one in
    # flight: the second run sends the pending ones, never the one in flight.
    edition_small()
    for name in ("sent", "flight", "p1", "p2"):
        reader_make(f"{name}@example.org", topics=("quantization-compression",))
    with time_machine.travel(NOON, tick=False):
        run("send_digests", "--now", "--email", "sent@example.org")
        planned = deliveries_plan(now=NOON, ignore_schedule=True)
        in_flight = Delivery.objects.filter(subscriber__email="flight@example.org")
        in_flight.update(status="sending", claimed_at=NOON)
        mail.outbox.clear()
        out, _ = run("send_digests", "--now")
    assert len(planned.delivery_ids) == 3
    assert sorted(m.to[0] for m in mail.outbox) == ["p1@example.org", "p2@example.org"]
    assert "resumed 2 pending from before; edition 2025-07-10: sent 2, skipped 0, failed 0" in out
    assert dict(Delivery.objects.values_list("subscriber__email", "status")) == {
        "sent@example.org": "sent", "flight@example.org": "sending", "p1@example.org": "sent",
        "p2@example.org": "sent"}


def test_send_digests_for_one_address_resumes_only_that_readers_digest():
    edition_small()
    for name in ("a", "b"):
        reader_make(f"{name}@example.org", topics=("quantization-compression",))
    with time_machine.travel(NOON, tick=False):
        deliveries_plan(now=NOON, ignore_schedule=True)
        out, _ = run("send_digests", "--now", "--email", "B@example.org")
    assert [m.to for m in mail.outbox] == [["b@example.org"]]
    assert "resumed 1 pending from before" in out
    assert Delivery.objects.get(subscriber__email="a@example.org").status == "pending"


def test_send_digests_and_the_sweep_take_pending_digests_the_same_way():
    # The command touched what it took: the sweep does not enqueue it again
    # for another DIGEST_PENDING_REQUEUE_SECONDS (and the reverse).
    edition_small()
    reader_make("a@example.org", topics=("quantization-compression",))
    with time_machine.travel(NOON, tick=False):
        [pk] = deliveries_plan(now=NOON, ignore_schedule=True).delivery_ids
    later = NOON + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        assert pending_take(deliveries=Delivery.objects.all(), now=later) == [pk]
        assert stale_deliveries_settle(now=later).requeued == []
