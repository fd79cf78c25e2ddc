"""Cache-backed attempt counters behind the signup form's and the admin
sign-in's limits."""

import uuid

import pytest
import time_machine
from django.utils import timezone

from config.lib.ratelimit import rate_limit_count, rate_limit_hit, rate_limit_release


def test_counts_attempts_per_key_within_the_window():
    key = uuid.uuid4().hex
    with time_machine.travel(timezone.now().replace(minute=0, second=1), tick=False) as traveller:
        assert [rate_limit_hit(scope="t", key=key, limit=2, window=3600) for _ in range(3)] == [
            False, False, True]
        # Another key has its own count.
        assert rate_limit_hit(scope="t", key=key + "x", limit=2, window=3600) is False
        # The next window starts afresh.
        traveller.shift(3600)
        assert rate_limit_hit(scope="t", key=key, limit=2, window=3600) is False


def test_a_released_attempt_gives_its_slot_back_in_its_own_window_only():
    key = uuid.uuid4().hex
    with time_machine.travel(timezone.now().replace(minute=0, second=1), tick=False) as traveller:
        first = rate_limit_count(scope="t", key=key, limit=1, window=3600)
        assert first.allowed
        rate_limit_release(attempt=first)
        kept = rate_limit_count(scope="t", key=key, limit=1, window=3600)
        assert kept.allowed
        assert not rate_limit_count(scope="t", key=key, limit=1, window=3600).allowed

        traveller.shift(3600)
        assert rate_limit_count(scope="t", key=key, limit=1, window=3600).allowed
        rate_limit_release(attempt=kept)  # from the window that has ended
        assert not rate_limit_count(scope="t", key=key, limit=1, window=3600).allowed


@pytest.mark.usefixtures("one_rate_window")
def test_keys_are_case_insensitive_so_capitals_do_not_escape_the_limit():
    key = f"Reader-{uuid.uuid4().hex}@Example.org"
    assert rate_limit_hit(scope="t", key=key, limit=1, window=3600) is False
    assert rate_limit_hit(scope="t", key=key.lower(), limit=1, window=3600) is True


def test_an_unreachable_cache_lets_signups_through(settings, caplog):
    from tests.conftest import free_port

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    assert rate_limit_hit(scope="t", key="anyone", limit=1, window=60) is False
    assert "rate limit cache unavailable" in caplog.text
