"""No full address, signed token or secret in any log line at INFO or above:
not from our code (checked on the records themselves, before any handler),
not from Django's request loggers, not in tracebacks, not from gunicorn or
the Celery worker (whose handlers carry the redacting filter)."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest
from celery.signals import after_setup_logger
from django.core import mail
from django.test import Client
from gunicorn.config import Config

from config.gunicorn_logging import RedactingLogger
from config.security import RedactingFilter, redact
from subscribers.provider_events.processing import provider_events_sweep
from subscribers.tokens import token_make
from tests import provider_payloads as p
from tests.event_helpers import process_pending
from tests.factories import reader_make
from tests.subscriber_helpers import eager_tasks, link_path, signup_data

pytestmark = pytest.mark.django_db

ADDRESS = "ada.lovelace+papers@example.org"
FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


def formatted(records) -> list[str]:
    # The full line a handler would write, traceback included.
    return [FORMAT.format(r) for r in records if r.levelno >= logging.INFO]


def test_redact_masks_addresses_and_tokens():
    line = 'GET /unsubscribe/eyJhbGciOi.abc:def/ from reader.name@example.org /digests/2025-08-05/tok123/'
    out = redact(line)
    assert "reader.name@example.org" not in out and "r***@example.org" in out
    assert "eyJhbGciOi" not in out and "/unsubscribe/[token]/" in out
    assert "tok123" not in out and "/digests/2025-08-05/[token]/" in out


@pytest.mark.parametrize(
    ("address", "masked"),
    [("o'brien+tag@example.org", "o***@example.org"), ("jürgen@exämple.de", "j***@exämple.de"),
     ("Ada.Lovelace@Example.ORG", "A***@Example.ORG"),
     ("<bob@mail.example.co.uk>:", "<b***@mail.example.co.uk>:")],
)
def test_redact_masks_every_shape_of_address(address, masked):
    assert redact(f"550 rejected {address}") == f"550 rejected {masked}"


def test_log_records_are_redacted():
    record = logging.LogRecord(
        "newsletter", logging.INFO, __file__, 1, "sent to %s", ("a.b@example.org",), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "sent to a***@example.org"


def test_tracebacks_are_redacted_too():
    try:
        raise RuntimeError(f"provider said: 550 <{ADDRESS}> unknown; see /unsubscribe/abc.def:ghi/")
    except RuntimeError:
        record = logging.LogRecord("subscribers", logging.ERROR, __file__, 1, "send failed", None,
                                   exc_info=sys.exc_info())

    RedactingFilter().filter(record)
    line = FORMAT.format(record)

    assert "RuntimeError: provider said: 550 <a***@example.org> unknown" in line
    assert ADDRESS not in line and "abc.def:ghi" not in line


@pytest.fixture
def handlers_unfiltered():
    """Take the redacting filter off the root logger's handlers for one test.
    Otherwise the console handler, which runs before caplog's, masks each
    record in place and the test would see its work, not our code's."""
    removed = []
    for handler in logging.getLogger().handlers:
        for log_filter in list(handler.filters):
            if isinstance(log_filter, RedactingFilter):
                handler.removeFilter(log_filter)
                removed.append((handler, log_filter))
    yield
    for handler, log_filter in removed:
        handler.addFilter(log_filter)


def test_a_reader_s_whole_life_leaves_no_address_token_or_secret_in_the_logs(
    settings, caplog, django_capture_on_commit_callbacks, handlers_unfiltered
):
    # Every record our code or Django emits, as logged: only the filters
    # settings put on Django's own request loggers apply.
    caplog.set_level(logging.INFO)
    client = Client(REMOTE_ADDR="10.1.2.3")

    def run(call):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return call()

    run(lambda: client.post("/subscribe/", signup_data(ADDRESS)))
    confirm = link_path(mail.outbox[-1], "confirm")
    client.get(confirm)
    run(lambda: client.post(confirm))
    preferences = link_path(mail.outbox[-1], "preferences")
    unsubscribe = link_path(mail.outbox[-1], "unsubscribe")
    client.get(preferences)
    client.post(preferences, signup_data(ADDRESS, keywords="Mamba", topics=("code",)))
    client.post(preferences + "export/")
    # Refused requests on token addresses: Django's loggers quote the path.
    Client(enforce_csrf_checks=True).post(unsubscribe)
    Client(raise_request_exception=False).get(unsubscribe[:-6] + "XXXXX/")
    client.get(unsubscribe)
    client.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    # Provider events: a bounce, and a refusal whose reason quotes the address.
    refusal = {**p.postmark_bounce(ADDRESS, bounce_type="DMARCPolicy", bounce_id=7),
               "Description": f"Message to {ADDRESS} refused by DMARC policy",
               "Details": f"smtp;550 5.7.1 <{ADDRESS}>: rejected"}
    run(lambda: p.post_json(client, "/anymail/postmark/tracking/", p.postmark_bounce(ADDRESS)))
    run(lambda: p.post_json(client, "/anymail/postmark/tracking/", refusal))
    p.post_json(client, "/anymail/postmark/tracking/", "{not json", auth=p.WRONG_AUTH)
    process_pending()
    provider_events_sweep()
    run(lambda: client.post(link_path(mail.outbox[-1], "preferences") + "erase/"))

    lines = formatted(caplog.records)
    tokens = {path.rstrip("/").rsplit("/", 1)[-1] for path in (confirm, preferences, unsubscribe)}
    secrets = {settings.SECRET_KEY, settings.ANYMAIL["WEBHOOK_SECRET"][0].split(":", 1)[1]}
    assert len(lines) >= 8, lines  # the flow did log: signup, confirm, unsubscribe, events, erasure
    assert any("the provider refused our message" in line for line in lines)
    for line in lines:
        assert ADDRESS not in line and ADDRESS.split("@")[0] not in line, line
        assert not any(token in line for token in tokens), line
        assert not any(secret in line for secret in secrets), line
        assert not re.search(r"/(confirm|preferences|unsubscribe)/(?!\[token\])[^/\s]+/", line), line


def test_the_worker_s_log_handlers_get_the_redacting_filter():
    stream = io.StringIO()
    logger = logging.getLogger("test.worker.root")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))

    # What `celery worker` sends after replacing the root logger's handlers.
    after_setup_logger.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None,
                            format="%(message)s", colorize=False)
    logger.warning("confirmation for %s failed at /confirm/%s/", ADDRESS, "abc.def:ghi")

    assert stream.getvalue() == "confirmation for a***@example.org failed at /confirm/[token]/\n"


def test_gunicorn_error_log_is_redacted(capsys):
    log = RedactingLogger(Config())
    token = token_make(subscriber=reader_make(email=ADDRESS), purpose="unsubscribe")

    log.error("Error handling request /unsubscribe/%s/ for %s", token, ADDRESS)

    err = capsys.readouterr().err
    assert "/unsubscribe/[token]/ for a***@example.org" in err
    assert token not in err and ADDRESS not in err
