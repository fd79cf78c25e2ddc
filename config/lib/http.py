"""Waiting before a retry: the server's ``Retry-After`` and exponential backoff.
Used by ingestion (waits in the worker) and by sending (defers the digest)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds: a number of
    seconds or an HTTP date (RFC 9110; a fraction of a second is taken too).
    None when the header is absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as every HTTP date is
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(
    *, attempt: int, base: float, ceiling: float, retry_after: float | None = None, jitter: bool = False
) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): ``base``
    doubled at each attempt, at most ``ceiling``; with ``jitter`` a random
    point in the upper half of that, so clients that failed together do not
    retry together. Never sooner than ``retry_after`` (which may exceed the
    ceiling: the server knows best)."""
    delay = min(ceiling, base * 2 ** (attempt - 1))
    if jitter:
        delay *= random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)
