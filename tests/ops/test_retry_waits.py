"""How long to wait before a retry: the server's Retry-After, and backoff."""

import random
from datetime import UTC, datetime

import pytest
import time_machine

from config.lib.http import backoff_seconds, retry_after_seconds

NOW = datetime(2025, 8, 6, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), (" 120 ", 120.0), ("1.5", 1.5), ("0", 0.0)])
def test_retry_after_in_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


@time_machine.travel(NOW, tick=False)
def test_retry_after_as_an_http_date_counts_from_now():
    assert retry_after_seconds("Wed, 06 Aug 2025 09:00:30 GMT") == 30
    assert retry_after_seconds("Wed, 06 Aug 2025 11:00:30 +0200") == 30
    assert retry_after_seconds("Wed, 06 Aug 2025 09:00:30 -0000") == 30  # no zone: UTC
    assert retry_after_seconds("Wed, 06 Aug 2025 08:00:00 GMT") == 0  # already past


def test_retry_after_can_count_from_a_given_time():
    later = datetime(2025, 8, 6, 9, 0, 20, tzinfo=UTC)
    assert retry_after_seconds("Wed, 06 Aug 2025 09:00:30 GMT", now=later) == 10


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "inf", "nan", "1e3", "٣", "7 seconds"])
def test_retry_after_that_cannot_be_read_is_none(header):
    assert retry_after_seconds(header) is None


def test_backoff_doubles_up_to_the_ceiling():
    delays = [backoff_seconds(attempt=n, base=2, ceiling=10) for n in (1, 2, 3, 4, 5)]
    assert delays == [2, 4, 8, 10, 10]


def test_backoff_is_never_shorter_than_retry_after_even_above_the_ceiling():
    assert backoff_seconds(attempt=1, base=2, ceiling=10, retry_after=3) == 3
    assert backoff_seconds(attempt=3, base=2, ceiling=10, retry_after=3) == 8
    assert backoff_seconds(attempt=1, base=2, ceiling=10, retry_after=600) == 600


def test_jitter_waits_between_half_and_all_of_the_backoff():
    random.seed(3)
    delays = [backoff_seconds(attempt=4, base=1, ceiling=60, jitter=True) for _ in range(200)]
    assert all(4 <= d <= 8 for d in delays)
    assert len(set(delays)) > 100  # spread, not one value
    assert backoff_seconds(attempt=4, base=1, ceiling=60, retry_after=30, jitter=True) == 30
