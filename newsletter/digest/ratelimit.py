"""The provider's sending rate, shared by every worker: a token bucket in Redis.

Providers cap messages per second and answer 429 past the cap. Celery's own
``rate_limit`` counts per worker process, so N workers would send N times the
cap; this bucket lives in Redis and one small Lua script takes tokens
atomically, so all workers on all machines share it.

A caller *reserves* its token: the script always takes it (the level may go
below zero) and answers how long to wait before the reserved slot comes. So
one round trip per message, no polling, and callers are served in the order
they asked. The bucket holds at most ``burst`` tokens (a twentieth of a
second's worth by default), so over any one-second window the provider sees
at most ``rate + burst`` messages.

Without Redis (the laptop's embedded broker) there is nothing to share: the
limit is not enforced and a warning says so once. If Redis fails mid-run the
message goes out unthrottled (the provider's 429 and our retries still
protect it) rather than stalling the morning's sending.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: rate per second, burst, tokens wanted, and
# optionally the time now (default: Redis's clock, the one every worker shares).
# Returns the seconds to wait, as a string (Lua numbers become integers).
_RESERVE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate) - want
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
local debt = 0
if tokens < 0 then debt = -tokens / rate end
redis.call('PEXPIRE', KEYS[1], math.ceil((debt + burst / rate) * 1000) + 1000)
return tostring(debt)
"""


class SendRateLimiter:
    """``rate`` messages per second across every process using ``key``.
    ``clock`` (seconds) replaces Redis's clock: for checking the bucket's
    arithmetic at chosen instants."""

    def __init__(self, *, rate: float, key: str, client, burst: float | None = None,
                 clock: Callable[[], float] | None = None):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, math.ceil(rate / 20))
        self.key = key
        self._clock = clock
        self._script = client.register_script(_RESERVE)

    def reserve(self, *, count: int = 1) -> float:
        """Take ``count`` tokens now; returns the seconds to wait before using
        them. Redis errors let the message through (logged)."""
        args = [self.rate, self.burst, count] + ([repr(self._clock())] if self._clock else [])
        try:
            return float(self._script(keys=[self.key], args=args))
        except Exception as exc:  # redis.RedisError, OSError: do not stall sending
            log.warning("email rate limit not applied (Redis: %s)", exc)
            return 0.0

    def acquire(self, *, count: int = 1) -> float:
        """Block until ``count`` messages may go; returns the seconds waited."""
        wait = self.reserve(count=count)
        if wait > 0:
            time.sleep(wait)
        return wait


_lock = threading.Lock()
_limiters: dict[tuple, SendRateLimiter | None] = {}


def send_limiter_get() -> SendRateLimiter | None:
    """The process's limiter for ``EMAIL_RATE_LIMIT`` (None: no limit). One
    bucket per provider, shared by every worker through ``REDIS_URL``."""
    rate = float(settings.EMAIL_RATE_LIMIT or 0)
    if rate <= 0:
        return None
    url = settings.REDIS_URL
    config = (rate, url, settings.EMAIL_PROVIDER)
    with _lock:
        if config not in _limiters:
            if not url:
                log.warning(
                    "EMAIL_RATE_LIMIT=%s is not enforced: it needs Redis (REDIS_URL) to be shared "
                    "by the workers", rate,
                )
                _limiters[config] = None
            else:
                # Imported on first use: redis takes 0.1-0.3 s to import and adds
                # ~11,000 objects for the garbage collector to walk, and most
                # processes that import sending (web, admin, laptop) never need it.
                import redis

                _limiters[config] = SendRateLimiter(
                    rate=rate, key=f"email-rate:{settings.EMAIL_PROVIDER}", client=redis.Redis.from_url(url)
                )
        return _limiters[config]
