"""The limit run's sending process (see bench/delivery.py). Started with
``spawn``: a fresh interpreter, so this module imports nothing from Django at
the top; the process sets Django up itself."""

from __future__ import annotations

import copy
import os
import pickle
import threading
import time
from collections import Counter


def limit_process(*, template: bytes, first: int, count: int, threads: int, api_url: str, token: str,
                  domain: str, rate: float, go, results) -> None:
    """One process of the limit run: ``count`` copies of ``template`` to distinct
    recipients, ``threads`` at a time, each thread with its own connection."""
    # A fresh interpreter (spawn): a forked copy of this process would share
    # its broker and database sockets.
    import django

    django.setup()
    from django.conf import settings
    from django.core.mail import get_connection

    from newsletter.digest.ratelimit import SendRateLimiter

    template = pickle.loads(template)  # noqa: S301 - from the parent process

    limiter = None
    if rate:
        import redis

        limiter = SendRateLimiter(rate=rate, key=f"email-rate:bench-limit-{os.getppid()}",
                                  client=redis.Redis.from_url(settings.REDIS_URL))
    numbers = iter(range(first, first + count))
    lock = threading.Lock()
    sent = Counter()
    errors: list[str] = []

    def work() -> None:
        conn = get_connection("anymail.backends.postmark.EmailBackend", server_token=token, api_url=api_url)
        conn.open()
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            message = copy.copy(template)
            message.to = [f"limit{n}@{domain}"]
            message.metadata = {**template.metadata, "delivery_id": str(n)}
            if limiter:
                limiter.acquire()
            try:
                ok = conn.send_messages([message])
            except Exception as exc:  # counted and reported: the run then fails loudly
                with lock:
                    errors.append(f"{exc.__class__.__name__}: {str(exc)[:300]}")
                continue
            with lock:
                sent["ok"] += ok
        conn.close()

    results.put(("ready", None))
    go.wait()
    cpu = time.process_time()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put((sent["ok"], errors[:3], time.process_time() - cpu))
