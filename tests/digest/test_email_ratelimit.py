"""EMAIL_RATE_LIMIT: one token bucket in Redis for every worker. The bucket's
arithmetic is checked on a clock the test moves; two real Celery workers
sending through the fake provider share it."""

import logging
import time
import uuid

import pytest
import redis
from django.utils import timezone

from bench.fake_provider import FakePostmark
from newsletter.digest import ratelimit
from newsletter.digest.ratelimit import SendRateLimiter, send_limiter_get
from newsletter.models import Delivery
from newsletter.tasks import deliveries_enqueue
from tests.conftest import VENV_BIN, broker_purge, wait_for
from tests.factories import edition_small, reader_make


class Clock:
    """Seconds as the test says: the bucket's time without a real clock's."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limiter(settings, rate: float, burst: float, clock: Clock) -> SendRateLimiter:
    return SendRateLimiter(rate=rate, burst=burst, key=f"test-rate:{uuid.uuid4().hex}",
                           client=redis.Redis.from_url(settings.REDIS_URL), clock=clock)


def test_reservations_are_spaced_by_the_rate_after_the_burst(settings, require_redis):
    clock = Clock(1_000.0)
    limiter = _limiter(settings, rate=10, burst=2, clock=clock)
    # Two from the full bucket, then one every tenth of a second, in order.
    assert [limiter.reserve() for _ in range(5)] == pytest.approx([0, 0, 0.1, 0.2, 0.3])
    clock.now += 0.25  # the debt shrinks as time passes
    assert limiter.reserve() == pytest.approx(0.3 - 0.25 + 0.1)
    clock.now += 60  # a long pause refills the bucket to the burst, no further
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.1])


def test_any_one_second_holds_at_most_the_rate_plus_the_burst(settings, require_redis):
    rate, burst = 20, 1
    clock = Clock(1_000.0)
    limiter = _limiter(settings, rate=rate, burst=burst, clock=clock)
    slots = []  # when each reserved message may go
    # A rush, a trickle faster than the rate, a pause, another rush.
    for gap in [0.0] * 50 + [0.01] * 30 + [10.0] + [0.0] * 40:
        clock.now += gap
        slots.append(clock.now + limiter.reserve())
    assert slots == sorted(slots)  # served in the order they asked
    busiest = max(sum(1 for slot in slots[i:] if slot < start + 1 - 1e-6) for i, start in enumerate(slots))
    assert rate <= busiest <= rate + burst  # the limit, and no stricter


def test_no_redis_means_no_limit_and_a_warning(settings, caplog, monkeypatch):
    # The warning is said once per process and setting: as if not said yet.
    monkeypatch.setattr(ratelimit, "_limiters", {})
    settings.EMAIL_RATE_LIMIT = 5
    settings.REDIS_URL = ""
    with caplog.at_level(logging.WARNING, logger="newsletter.digest.ratelimit"):
        assert send_limiter_get() is None
    assert "EMAIL_RATE_LIMIT=5.0 is not enforced" in caplog.text


def test_no_limit_when_the_setting_is_zero(settings):
    settings.EMAIL_RATE_LIMIT = 0
    assert send_limiter_get() is None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_together_stay_under_the_limit(settings, require_redis, require_postgres, service_env,
                                                  start_service):
    rate = 20
    settings.DIGEST_CHUNK_SIZE = 10  # eight tasks, so both workers take some
    broker_purge()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("email-rate:postmark")
    burst = SendRateLimiter(rate=rate, key="email-rate:postmark", client=client).burst
    edition_small(day=timezone.localdate())
    for i in range(80):
        reader_make(f"r{i}@example.org", topics=("quantization-compression",), timezone="UTC", send_hour=0)
    from newsletter.digest.schedule import deliveries_plan

    ids = deliveries_plan().delivery_ids
    assert len(ids) == 80
    with FakePostmark() as fake:
        env = {
            **service_env, "EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": fake.token,
            "POSTMARK_API_URL": fake.url, "EMAIL_RATE_LIMIT": str(rate), "DIGEST_SEND_CONCURRENCY": "8",
        }
        workers = [
            start_service([str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO",
                           "--concurrency=1", "-n", f"rate{n}@%h"], env, f"worker{n}")
            for n in (1, 2)
        ]
        from config.celery import app

        def both_ready() -> bool:
            hosts = {h.split("@")[0] for reply in app.control.ping(timeout=0.5) for h in reply}
            return {"rate1", "rate2"} <= hosts

        # Both must be up before the work is queued, or one could take it all.
        wait_for(both_ready, timeout=60, what="both workers to start", service=workers[1])
        # Taken before any token is: a busy machine only makes sends later.
        start = time.time()
        deliveries_enqueue(ids)
        wait_for(lambda: Delivery.objects.filter(status="sent").count() == 80, timeout=120,
                 what="all 80 digests to be sent", service=workers[0])
        stamps = sorted(m.received_at for m in fake.accepted())
    assert len(stamps) == 80 and len({m.to for m in fake.accepted()}) == 80
    # One bucket for both workers: the k-th message waited for the k-th token,
    # which the bucket cannot have had before start + (k - burst) / rate (two
    # buckets would have let the last go after about half that time).
    early = [k for k, stamp in enumerate(stamps, start=1) if stamp < start + (k - burst) / rate - 0.001]
    assert early == [], f"messages {early} went before their token could exist"
    assert all(w.output().count("succeeded") for w in workers), "both workers sent"
