"""HTTP GET for the paper sources: bounded retries with backoff, a size
limit, and errors in words that name what was being fetched.

The standard library's urllib is enough for two read-only JSON/Atom APIs, so
ingestion adds no dependency.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from config.lib.http import backoff_seconds, retry_after_seconds
from newsletter.ingest.records import DocumentError, SourceError

log = logging.getLogger(__name__)

# A day of Daily Papers is ~100 KB and an arXiv page of 100 entries ~300 KB;
# anything near this is not a page we asked for.
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Throttle:
    """At most one request every ``interval`` seconds, retries included.

    arXiv's terms ask for one request every three seconds; the interval is
    read from ``ARXIV_REQUEST_INTERVAL_SECONDS`` unless given (tests pass a
    clock and a sleep to check the waits without waiting).
    """

    def __init__(self, interval: float | None = None, *, clock=time.monotonic, sleep=time.sleep):
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None

    @property
    def interval(self) -> float:
        if self._interval is not None:
            return self._interval
        return float(settings.ARXIV_REQUEST_INTERVAL_SECONDS)

    def wait(self) -> None:
        if self._last is not None:
            remaining = self._last + self.interval - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        self._last = self._clock()


def http_retry_delay(*, attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...):
    exponential backoff from ``INGEST_HTTP_BACKOFF_SECONDS``, at least what the
    server asked for in ``Retry-After``, never more than
    ``INGEST_HTTP_BACKOFF_MAX_SECONDS``."""
    ceiling = float(settings.INGEST_HTTP_BACKOFF_MAX_SECONDS)
    delay = backoff_seconds(
        attempt=attempt, base=float(settings.INGEST_HTTP_BACKOFF_SECONDS), ceiling=ceiling,
        retry_after=retry_after_seconds(retry_after),
    )
    # Ingestion sleeps in the worker: not even the server gets a longer wait.
    return min(delay, ceiling)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        text = data["error"]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _read(response) -> bytes:
    body = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise DocumentError(f"the response is larger than {MAX_BYTES:,} bytes")
    return body


def http_get(
    *,
    url: str,
    params: dict,
    what: str,
    before_request: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Response:
    """GET ``url`` with ``params``; ``what`` names the request in errors
    ("Hugging Face daily papers for 2025-08-05 (page 0)").

    Timeouts, connection errors, 429 and 5xx are retried
    ``INGEST_HTTP_RETRIES`` times with backoff (honouring ``Retry-After``);
    then, or at once for any other 4xx, SourceError says what failed and why.
    A 2xx answer is returned as is: the caller judges the document. Reads only.
    """
    full_url = f"{url}?{urllib.parse.urlencode(params)}" if params else url
    request = urllib.request.Request(  # noqa: S310 - the scheme comes from settings (https/http)
        full_url,
        headers={
            "User-Agent": f"{settings.SITE_NAME.replace(' ', '')}/1.0 (+{settings.SITE_URL})",
            "Accept": "application/json, application/atom+xml;q=0.9, */*;q=0.1",
        },
    )
    retries = int(settings.INGEST_HTTP_RETRIES)
    problem = ""
    retry_after: str | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = http_retry_delay(attempt=attempt, retry_after=retry_after)
            log.info("%s: %s; retry %d of %d in %.1fs", what, problem, attempt, retries, delay)
            if delay > 0:
                sleep(delay)
        retry_after = None
        if before_request is not None:
            before_request()
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=float(settings.INGEST_HTTP_TIMEOUT_SECONDS)
            ) as response:
                body = _read(response)
                return Response(
                    status=response.status,
                    content_type=response.headers.get("Content-Type", ""),
                    body=body,
                )
        except DocumentError as exc:
            raise DocumentError(f"{what}: {exc}") from None
        except urllib.error.HTTPError as exc:
            body = exc.read(4096) if exc.fp else b""
            detail = _snippet(body)
            problem = f"HTTP {exc.code}" + (f": {detail}" if detail else "")
            if exc.code != 429 and exc.code < 500:
                raise SourceError(f"{what}: the server refused the request ({problem})") from None
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            problem = f"no answer ({reason.__class__.__name__}: {reason})"
    raise SourceError(f"{what}: {problem}; gave up after {retries + 1} attempts")
