"""The HTTP layer under both sources: backoff, Retry-After, limits, errors in words."""

from datetime import UTC, datetime

import pytest
import time_machine

from newsletter.ingest import fetch
from newsletter.ingest.fetch import http_get, http_retry_delay
from newsletter.ingest.records import DocumentError, SourceError
from tests.fake_sources import FakeSource, Reply


@pytest.fixture
def server():
    source = FakeSource().start()
    yield source
    source.stop()


def test_backoff_doubles_and_is_capped(settings):
    settings.INGEST_HTTP_BACKOFF_SECONDS = 2
    settings.INGEST_HTTP_BACKOFF_MAX_SECONDS = 10
    assert [http_retry_delay(attempt=n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


@time_machine.travel(datetime(2025, 8, 6, 9, 0, 0, tzinfo=UTC), tick=False)
def test_retry_after_in_seconds_or_as_a_date_is_honoured_up_to_the_cap(settings):
    settings.INGEST_HTTP_BACKOFF_SECONDS = 1
    settings.INGEST_HTTP_BACKOFF_MAX_SECONDS = 60
    assert http_retry_delay(attempt=1, retry_after="7") == 7
    assert http_retry_delay(attempt=1, retry_after="Wed, 06 Aug 2025 09:00:30 GMT") == 30
    assert http_retry_delay(attempt=1, retry_after="soon") == 1
    assert http_retry_delay(attempt=1, retry_after="3600") == 60


def test_a_429_waits_what_the_server_asks(server, settings):
    settings.INGEST_HTTP_BACKOFF_SECONDS = 0
    server.route("/x", [Reply(429, "slow down", headers={"Retry-After": "3"}), Reply(200, "ok")])
    waits = []

    response = http_get(url=f"{server.url}/x", params={"a": "1"}, what="test source", sleep=waits.append)

    assert (response.status, response.text()) == (200, "ok")
    assert waits == [3.0]
    assert server.calls("/x") == [{"a": "1"}, {"a": "1"}]


def test_a_404_is_not_retried(server, settings):
    server.route("/x", [Reply(404, "Not Found")])

    refused = r"^test source: the server refused the request \(HTTP 404: Not Found\)$"
    with pytest.raises(SourceError, match=refused):
        http_get(url=f"{server.url}/x", params={}, what="test source", sleep=lambda s: None)

    assert len(server.calls("/x")) == 1


def test_a_refused_connection_is_retried_then_reported(settings):
    settings.INGEST_HTTP_RETRIES = 1
    waits = []

    with pytest.raises(SourceError) as error:
        http_get(url="http://127.0.0.1:9/x", params={}, what="test source", sleep=waits.append)

    assert str(error.value).startswith("test source: no answer (ConnectionRefusedError")
    assert str(error.value).endswith("gave up after 2 attempts")
    assert len(waits) == 1


def test_an_oversized_answer_is_refused(server, monkeypatch):
    monkeypatch.setattr(fetch, "MAX_BYTES", 100)
    server.route("/x", [Reply(200, "x" * 101)])

    with pytest.raises(DocumentError, match=r"^test source: the response is larger than 100 bytes"):
        http_get(url=f"{server.url}/x", params={}, what="test source")
