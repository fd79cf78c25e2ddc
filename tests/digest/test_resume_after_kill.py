"""``send_digests --now`` SIGKILLed halfway, then run again: the second run
sends what is still pending, the sweep settles what was in flight with the
provider (found, or sent once more), and every reader ends with exactly one
digest at the fake provider."""

import os
import signal
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from bench.fake_provider import FakePostmark
from newsletter.digest.send import deliveries_send, stale_deliveries_settle
from newsletter.models import Delivery
from tests.conftest import wait_for
from tests.digest_support import use_fake_postmark
from tests.factories import edition_small, reader_make

pytestmark = [
    pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.usefixtures("fresh_pools"),
]
READERS = 240


def test_send_digests_killed_midway_and_run_again_sends_each_reader_exactly_one(
    service_env, start_service, settings
):
    edition_small(day=timezone.localdate())
    emails = [f"reader{i}@example.org" for i in range(READERS)]
    for email in emails:
        reader_make(email, topics=("quantization-compression",))
    with FakePostmark(latency_ms=25) as fake:
        env = {
            **service_env,
            "EMAIL_PROVIDER": "postmark",
            "POSTMARK_SERVER_TOKEN": fake.token,
            "POSTMARK_API_URL": fake.url,
            "DIGEST_SEND_CONCURRENCY": "4",
            "DIGEST_CHUNK_SIZE": "20",
        }
        command = [sys.executable, "manage.py", "send_digests", "--now"]
        first = start_service(command, env, "first-run")
        wait_for(lambda: len(fake.accepted()) >= READERS // 3, timeout=120, what="a third sent",
                 service=first)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        accepted_at_kill = len(fake.accepted())
        assert accepted_at_kill < READERS, "the kill came after the run: not a fault"
        states = Counter(Delivery.objects.values_list("status", flat=True))
        assert states["pending"] > 0 and states["sent"] >= READERS // 3 - 4

        second = start_service(command, env, "second-run")
        wait_for(lambda: second.proc.poll() is not None, timeout=120, what="the second run", service=None)
        output = second.output()
        assert second.proc.returncode == 0, output
        assert f"resumed {states['pending']} pending from before" in output

        # What the killed run had in flight (at most its window) is settled
        # by the sweep once it is stale: looked up, found or sent once more.
        in_flight = Delivery.objects.filter(status="sending").count()
        assert in_flight <= 4
        use_fake_postmark(settings, fake)
        later = timezone.now() + timedelta(seconds=settings.DIGEST_SENDING_TIMEOUT_SECONDS
                                           + settings.DIGEST_RECONCILE_AFTER_SECONDS)
        settled = stale_deliveries_settle(now=later)
        assert settled.interrupted == in_flight
        assert len(settled.reconciled.found) + len(settled.reconciled.resend) == in_flight
        deliveries_send(delivery_ids=settled.requeued)

        per_reader = Counter(m.to for m in fake.accepted())
    assert per_reader == Counter(emails), "every reader exactly one digest"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    ids = dict(Delivery.objects.values_list("subscriber__email", "provider_message_id"))
    assert all(ids[m.to] == m.message_id for m in fake.accepted())
