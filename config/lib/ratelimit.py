"""Fixed-window attempt counters in Django's cache (Redis in production).

Used to slow down abuse of the signup form: one counter per client IP and
one per email address. Keys hold a hash, never the address itself.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int) -> bool:
    """Count one attempt for ``key`` and say whether it goes over ``limit``
    attempts in the current ``window`` seconds.

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
        except ValueError:
            # The key expired between add() and incr().
            cache.set(cache_key, 1, timeout=window + 60)
            count = 1
    except Exception:  # any cache outage: allow, and say so in the log
        logger.warning("rate limit cache unavailable; allowing %s attempt", scope, exc_info=True)
        return False
    return count > limit
