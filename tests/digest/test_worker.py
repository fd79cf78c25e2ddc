"""Digests sent by real Celery workers on the real broker, through anymail's
real Postmark backend to the fake provider: asserted from the provider's log.

Two workers; the beat step enqueued twice at once; every chunk task then
delivered twice more; a 429 and a 500 on the way; an inactive recipient; a
connection reset after the request was sent (ambiguous: uncertain, to be
looked up at the provider, never simply re-sent). Each other due reader gets exactly one email."""

import zoneinfo
from datetime import datetime

import pytest
from django.utils import timezone

from bench.fake_provider import FakePostmark
from newsletter.models import Delivery
from newsletter.tasks import deliveries_enqueue, digests_schedule
from subscribers.suppression import is_suppressed, suppression_add
from tests.conftest import VENV_BIN, broker_purge, wait_for
from tests.factories import edition_small, reader_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOPICS = ("quantization-compression",)


def zone_before_hour(hour: int) -> str:
    """A time zone where the local hour is still well before ``hour``."""
    for offset in range(-12, 15):
        name = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}" if offset else "UTC"
        if datetime.now(zoneinfo.ZoneInfo(name)).hour <= hour - 2:
            return name
    raise AssertionError("no such time zone")


def test_real_workers_send_each_due_reader_exactly_once(service_env, start_service):
    broker_purge()
    edition_small(day=timezone.localdate())
    due = [f"due{i}@example.org" for i in range(10)] + ["r429@example.org", "r500@example.org"]
    for email in [*due, "gone@example.org", "reset@example.org"]:
        reader_make(email, topics=TOPICS, timezone="UTC", send_hour=0)
    ineligible = {
        "pending@example.org": {"status": "pending"},
        "unsubscribed@example.org": {"status": "unsubscribed"},
        "bounced@example.org": {"status": "bounced"},
        "complained@example.org": {"status": "complained"},
        "paused@example.org": {"paused": True},
        "suppressed@example.org": {},
        "later@example.org": {"timezone": zone_before_hour(23), "send_hour": 23},
    }
    for email, fields in ineligible.items():
        fields = {"timezone": "UTC", "send_hour": 0, **fields}
        reader_make(email, topics=TOPICS, **fields)
    suppression_add(email="suppressed@example.org", reason="complained")

    with FakePostmark(latency_ms=5) as fake:
        fake.fault("r429@example.org", "429", retry_after=1)
        fake.fault("r500@example.org", "500")
        fake.fault("reset@example.org", "reset")
        fake.fault("gone@example.org", "inactive")
        env = {
            **service_env,
            "EMAIL_PROVIDER": "postmark",
            "POSTMARK_SERVER_TOKEN": fake.token,
            "POSTMARK_API_URL": fake.url,
            "DIGEST_CHUNK_SIZE": "4",
            "DIGEST_RETRY_BASE_SECONDS": "1",
            "DIGEST_RETRY_MAX_SECONDS": "2",
        }
        workers = [
            start_service(
                [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
                 "-n", f"digest{n}@%h"],
                env, f"worker{n}",
            )
            for n in (1, 2)
        ]
        # Beat's step, twice at once: the two workers plan concurrently.
        digests_schedule.delay()
        digests_schedule.delay()
        expected = len(due) + 2  # the due readers, the inactive one and the reset one
        wait_for(lambda: Delivery.objects.count() == expected, timeout=90,
                 what="both planners to finish", service=workers[0])
        # Every chunk delivered twice more, as after a redelivery.
        ids = list(Delivery.objects.values_list("pk", flat=True))
        deliveries_enqueue(ids)
        deliveries_enqueue(ids)

        def all_final() -> bool:
            return not Delivery.objects.filter(status__in=["pending", "sending"]).exists()

        wait_for(all_final, timeout=120, what="every delivery to end sent or failed", service=workers[1])

        accepted = sorted(m.to for m in fake.accepted())
        assert accepted == sorted(due), "each due reader exactly once, nobody else"
        assert fake.stats.faults == {"429": 1, "500": 1, "reset": 1, "inactive": 1}

    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    assert set(rows) == {*due, "gone@example.org", "reset@example.org"}
    assert {rows[e].status for e in due} == {"sent"}
    for retried in ("r429@example.org", "r500@example.org"):
        assert rows[retried].attempts >= 2
    # No answer: it waits to be looked up at the provider (test_reconcile).
    assert rows["reset@example.org"].status == "uncertain"
    assert rows["reset@example.org"].reason.startswith("ambiguous: ")
    assert rows["gone@example.org"].status == "failed"
    assert rows["gone@example.org"].reason.startswith("rejected: ErrorCode 406")
    assert is_suppressed("gone@example.org")
    for message in fake.accepted():
        assert message.metadata["delivery_id"] == str(rows[message.to].pk)
        assert rows[message.to].provider_message_id == message.message_id
