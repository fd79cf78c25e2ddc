"""Pages render and signups pass while Redis (the cache) is unreachable."""

from config.cache import ResilientRedisCache
from tests.conftest import free_port


def closed_cache() -> ResilientRedisCache:
    return ResilientRedisCache(
        f"redis://127.0.0.1:{free_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    )


def test_reads_miss_and_writes_are_dropped_when_redis_is_down(caplog):
    cache = closed_cache()
    cache.set("k", "v", 60)
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("k") is False
    assert "cache unavailable" in caplog.text


def test_counters_still_raise_so_the_rate_limiter_can_fail_open():
    cache = closed_cache()
    try:
        cache.incr("counter")
    except Exception as exc:  # the limiter catches any error and allows the attempt
        assert "Connection" in type(exc).__name__ or "Error" in type(exc).__name__
    else:
        raise AssertionError("incr on an unreachable Redis must raise")
