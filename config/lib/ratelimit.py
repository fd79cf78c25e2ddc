"""Fixed-window attempt counters in Django's cache (Redis in production).

One counter for every limit: the signup form's (per client IP, per email
address) and the admin sign-in's (per client IP, per username). Keys hold a
hash, never the address or username itself.

Each attempt is counted with an atomic increment *before* the work it
guards, so concurrent attempts each get their own number and at most
``limit`` of them are let through, however many arrive at once. An attempt
that turns out not to count (the admin's right password) is taken back with
``rate_limit_release``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One counted attempt. ``cache_key`` is the counter it was counted in;
    None when the cache was unreachable and the attempt was let through."""

    cache_key: str | None
    allowed: bool
    window: int = 0


def _keep_alive(cache_key: str, window: int) -> None:
    # Redis keeps a key's expiry through INCR and DECR; Django's generic
    # incr()/decr() (file and memory caches) is a get and a set with the
    # default timeout, which could end a window's count early.
    if not isinstance(caches["default"], RedisCache):
        cache.touch(cache_key, timeout=window + 60)


def rate_limit_count(*, scope: str, key: str, limit: int, window: int) -> Attempt:
    """Count one attempt for ``key`` in the current ``window`` seconds (a
    fixed window: it starts afresh every ``window`` seconds of the clock) and
    say whether it is within ``limit`` attempts.

    Fails open: if the cache is unreachable the attempt is allowed (and
    logged), because a signup must not fail just because Redis is down.
    """
    bucket = int(time.time() // window)
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{bucket}"
    try:
        # add() is a no-op when the key exists; incr() is atomic on Redis.
        cache.add(cache_key, 0, timeout=window + 60)
        try:
            count = cache.incr(cache_key)
            _keep_alive(cache_key, window)
        except ValueError:
            # The key expired between add() and incr().
            cache.set(cache_key, 1, timeout=window + 60)
            count = 1
    except Exception:  # any cache outage: allow, and say so in the log
        logger.warning("rate limit cache unavailable; allowing %s attempt", scope, exc_info=True)
        return Attempt(cache_key=None, allowed=True)
    return Attempt(cache_key=cache_key, allowed=count <= limit, window=window)


def rate_limit_release(*, attempt: Attempt) -> None:
    """Take back a counted attempt that turned out not to count, from the
    window it was counted in. A window that has ended is left alone."""
    if attempt.cache_key is None:
        return
    try:
        cache.decr(attempt.cache_key)
        _keep_alive(attempt.cache_key, attempt.window)
    except ValueError:  # the window ended and its counter expired
        pass
    except Exception:
        logger.warning("rate limit cache unavailable; could not release an attempt", exc_info=True)


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int) -> bool:
    """Count one attempt for ``key`` and say whether it goes over ``limit``
    attempts in the current ``window`` seconds (see ``rate_limit_count``)."""
    return not rate_limit_count(scope=scope, key=key, limit=limit, window=window).allowed
