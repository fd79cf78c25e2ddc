"""Database queries made by worker processes, counted for benchmarks.

Wired by ``bench/celery_app.py`` only, and enabled only when the worker's
environment sets ``DB_QUERY_COUNT_KEY``: every query of a worker process is
counted by a Django execute wrapper, and after each task the count is added
to that Redis key (INCRBY), so a benchmark reads the total of all workers.
"""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings
from django.db import connection

KEY = os.environ.get("DB_QUERY_COUNT_KEY", "")

_lock = threading.Lock()
_count = 0


def _counter(execute, sql, params, many, context):
    global _count
    with _lock:
        _count += 1
    return execute(sql, params, many, context)


def queries_count_attach() -> None:
    """Count this thread's queries (idempotent); call before a task runs."""
    if KEY and _counter not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counter)


def queries_count_flush() -> None:
    """Add the queries counted since the last flush to the Redis key."""
    global _count
    if not KEY or not settings.REDIS_URL:
        return
    with _lock:
        count, _count = _count, 0
    if count:
        redis.Redis.from_url(settings.REDIS_URL).incrby(KEY, count)
