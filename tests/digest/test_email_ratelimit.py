"""EMAIL_RATE_LIMIT: one token bucket in Redis for every worker. Two real
Celery workers send through the fake provider, which never sees more than
the limit in any one-second window."""

import logging
import uuid

import pytest
import redis
from django.utils import timezone

from newsletter.digest.ratelimit import SendRateLimiter, send_limiter_get
from newsletter.models import Delivery
from newsletter.tasks import deliveries_enqueue
from tests.conftest import VENV_BIN, broker_purge, wait_for
from tests.factories import edition_small, reader_make
from tests.fake_provider import FakePostmark


def _limiter(settings, rate: float, burst: float = 1) -> SendRateLimiter:
    return SendRateLimiter(rate=rate, burst=burst, key=f"test-rate:{uuid.uuid4().hex}",
                           client=redis.Redis.from_url(settings.REDIS_URL))


def test_reservations_are_spaced_by_the_rate_after_the_burst(settings, require_redis):
    limiter = _limiter(settings, rate=10, burst=2)
    waits = [limiter.reserve() for _ in range(5)]
    # Two from the full bucket, then one every tenth of a second, in order.
    assert waits[:2] == [0.0, 0.0]
    for n, wait in enumerate(waits[2:], start=1):
        assert n * 0.1 - 0.02 <= wait <= n * 0.1 + 0.001


def test_no_redis_means_no_limit_and_a_warning(settings, caplog):
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
    redis.Redis.from_url(settings.REDIS_URL).delete("email-rate:postmark")
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
        deliveries_enqueue(ids)
        wait_for(lambda: Delivery.objects.filter(status="sent").count() == 80, timeout=120,
                 what="all 80 digests to be sent", service=workers[0])
        stamps = sorted(m.received_at for m in fake.accepted())
    assert len(stamps) == 80 and len({m.to for m in fake.accepted()}) == 80
    # Any one-second window: at most the rate plus the bucket's burst (1),
    # and a little for the provider stamping after its handler started.
    worst = max(sum(1 for t in stamps[i:] if t < start + 1.0) for i, start in enumerate(stamps))
    assert worst <= rate + 2, f"{worst} messages in one second"
    # It took the time the limit implies (80 at 20/s: about 4 s), not less.
    assert stamps[-1] - stamps[0] >= (80 - rate - 2) / rate
    assert all(w.output().count("succeeded") for w in workers), "both workers sent"
