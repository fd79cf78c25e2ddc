"""Pages render and signups pass while Redis (the cache) is unreachable."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from config import cache as resilient
from config.cache import ResilientRedisCache
from config.lib.ratelimit import rate_limit_hit
from tests.conftest import free_port

OPTIONS = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}


def closed_cache() -> ResilientRedisCache:
    return ResilientRedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": OPTIONS})


def test_reads_miss_and_writes_are_dropped_when_redis_is_down(caplog, monkeypatch):
    # The warning comes at most once a minute per process: as if none came yet.
    monkeypatch.setattr(resilient, "_last_warning", float("-inf"))
    cache = closed_cache()
    cache.set("k", "v", 60)
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("k") is False
    assert "cache unavailable" in caplog.text


def test_counters_still_raise_so_the_rate_limiter_can_fail_open(settings, caplog):
    with pytest.raises(RedisConnectionError):
        closed_cache().incr("counter")
    # The limiter on this cache: the attempt is allowed, and the log says why.
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0", "OPTIONS": OPTIONS}}
    assert rate_limit_hit(scope="t", key="anyone", limit=1, window=60) is False
    assert "rate limit cache unavailable; allowing t attempt" in caplog.text
    assert "ConnectionError" in caplog.text
