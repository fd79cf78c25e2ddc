"""Confirmation, welcome and preferences-link emails go out at most once, and
are retried after a clean failure. Sent through anymail's real Postmark backend against a local
fake Postmark API."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from anymail.exceptions import AnymailRequestsAPIError
from django.utils import timezone

from subscribers.confirmations import (
    confirmation_deliver,
    preferences_link_deliver,
    subscribers_sweep,
    welcome_deliver,
)
from subscribers.models import Subscriber, Suppression
from subscribers.suppression import suppression_add
from tests.factories import reader_make
from tests.subscriber_helpers import unique_email

pytestmark = pytest.mark.django_db


class FakePostmark(BaseHTTPRequestHandler):
    """Answers POST /email like Postmark: accepted, down, or recipient inactive."""

    mode = "ok"
    received: list

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.mode == "down":
            self._answer(503, {"ErrorCode": 100, "Message": "Service unavailable"})
        elif self.mode == "inactive":
            self._answer(422, {
                "ErrorCode": 406,
                "Message": "You tried to send to recipient(s) that have been marked as inactive.\n"
                           f"Found inactive addresses: {body['To']}.\n"
                           "Inactive recipients are ones that have generated a hard bounce "
                           "or a spam complaint.",
            })
        else:
            self.received.append(body)
            self._answer(200, {"To": body["To"], "SubmittedAt": "2026-11-26T10:00:00Z",
                               "MessageID": f"msg-{len(self.received)}", "ErrorCode": 0, "Message": "OK"})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def postmark(settings):
    handler = type("Handler", (FakePostmark,), {"mode": "ok", "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.EMAIL_PROVIDER = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-token",
                        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_port}/"}
    yield handler
    server.shutdown()
    server.server_close()


def owed_confirmation(**fields) -> Subscriber:
    return reader_make(status=Subscriber.Status.PENDING, confirmation_requested_at=timezone.now(),
                       **fields)


def test_confirmation_is_sent_once_however_often_delivery_runs(postmark):
    subscriber = owed_confirmation()
    assert confirmation_deliver(subscriber_id=subscriber.pk) is True
    # A redelivered task, then the sweep: both find the claim taken.
    assert confirmation_deliver(subscriber_id=subscriber.pk) is False
    later = timezone.now() + timedelta(hours=1)
    assert subscribers_sweep(now=later) == {"confirmations": 0, "welcomes": 0, "preferences_links": 0}
    [sent] = postmark.received
    assert sent["To"] == subscriber.email
    assert sent["Subject"] == "Confirm your subscription to Daily Papers"
    assert "/confirm/" in sent["TextBody"] and "/confirm/" in sent["HtmlBody"]
    assert "MessageStream" not in sent  # transactional stream
    subscriber.refresh_from_db()
    assert subscriber.confirmation_sent_at is not None


def test_provider_outage_releases_the_claim_and_the_sweep_sends_later(postmark):
    subscriber = owed_confirmation()
    postmark.mode = "down"
    with pytest.raises(AnymailRequestsAPIError):
        confirmation_deliver(subscriber_id=subscriber.pk)
    subscriber.refresh_from_db()
    assert subscriber.confirmation_sent_at is None  # still owed
    later = timezone.now() + timedelta(minutes=5)
    assert subscribers_sweep(now=later) == {"confirmations": 0, "welcomes": 0, "preferences_links": 0}

    postmark.mode = "ok"
    assert subscribers_sweep(now=timezone.now() + timedelta(minutes=10))["confirmations"] == 1
    assert subscribers_sweep(now=timezone.now() + timedelta(minutes=15))["confirmations"] == 0
    assert len(postmark.received) == 1


def test_provider_refusing_the_recipient_is_final(postmark):
    subscriber = owed_confirmation()
    postmark.mode = "inactive"
    assert confirmation_deliver(subscriber_id=subscriber.pk) is False
    postmark.mode = "ok"
    assert subscribers_sweep(now=timezone.now() + timedelta(minutes=10))["confirmations"] == 0
    assert postmark.received == []


def test_sweep_leaves_fresh_requests_to_their_task_and_drops_stale_ones(postmark, settings):
    settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS = 120
    fresh = owed_confirmation()
    stale = owed_confirmation()
    eight_days_ago = timezone.now() - timedelta(days=8)
    Subscriber.objects.filter(pk=stale.pk).update(confirmation_requested_at=eight_days_ago)
    assert subscribers_sweep(now=timezone.now() + timedelta(seconds=60))["confirmations"] == 0
    assert subscribers_sweep(now=timezone.now() + timedelta(seconds=180))["confirmations"] == 1
    assert [m["To"] for m in postmark.received] == [fresh.email]


def test_sweep_sends_owed_welcomes_once(postmark):
    confirmed = reader_make(confirmed_at=timezone.now())
    reader_make(confirmed_at=None)  # imported by an editor: no welcome
    reader_make(confirmed_at=timezone.now() - timedelta(days=3))  # too late to welcome
    later = timezone.now() + timedelta(hours=1)
    assert subscribers_sweep(now=later) == {"confirmations": 0, "welcomes": 1, "preferences_links": 0}
    assert subscribers_sweep(now=later) == {"confirmations": 0, "welcomes": 0, "preferences_links": 0}
    [welcome] = postmark.received
    assert welcome["To"] == confirmed.email
    assert welcome["MessageStream"] == "broadcast"  # list email: bulk stream
    headers = {h["Name"]: h["Value"] for h in welcome["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")


def test_welcome_deliver_is_at_most_once(postmark):
    subscriber = reader_make(confirmed_at=timezone.now())
    assert welcome_deliver(subscriber_id=subscriber.pk) is True
    assert welcome_deliver(subscriber_id=subscriber.pk) is False
    assert len(postmark.received) == 1


def test_confirmation_request_for_an_address_that_bounced_meanwhile_is_dropped(postmark):
    subscriber = owed_confirmation(email=unique_email())
    suppression_add(email=subscriber.email, reason=Suppression.Reason.BOUNCED)
    assert confirmation_deliver(subscriber_id=subscriber.pk) is False
    subscriber.refresh_from_db()
    assert subscriber.confirmation_requested_at is None
    assert subscribers_sweep(now=timezone.now() + timedelta(hours=1))["confirmations"] == 0
    assert postmark.received == []


def test_nothing_is_owed_to_an_active_reader(postmark):
    subscriber = reader_make(confirmation_requested_at=timezone.now())
    assert confirmation_deliver(subscriber_id=subscriber.pk) is False
    assert postmark.received == []


def test_beat_runs_the_sweep(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["subscribers-sweep"]
    assert entry["task"] == "subscribers.tasks.sweep"
    assert entry["schedule"] == 300
    app.loader.import_default_modules()
    assert "subscribers.tasks.sweep" in app.tasks


def test_preferences_link_is_sent_once_and_retried_after_an_outage(postmark):
    reader = reader_make(preferences_link_requested_at=timezone.now())
    postmark.mode = "down"
    with pytest.raises(AnymailRequestsAPIError):
        preferences_link_deliver(subscriber_id=reader.pk)
    reader.refresh_from_db()
    assert reader.preferences_link_sent_at is None  # still owed
    postmark.mode = "ok"
    later = timezone.now() + timedelta(minutes=5)
    assert subscribers_sweep(now=later)["preferences_links"] == 1
    assert preferences_link_deliver(subscriber_id=reader.pk) is False
    assert subscribers_sweep(now=later)["preferences_links"] == 0
    [sent] = postmark.received
    assert sent["Subject"] == "Your Daily Papers preferences link" and "/preferences/" in sent["TextBody"]
    # A day later a lost request is stale: the reader will have asked again.
    stale = reader_make(preferences_link_requested_at=timezone.now() - timedelta(days=2))
    assert subscribers_sweep()["preferences_links"] == 0
    stale.refresh_from_db()
    assert stale.preferences_link_sent_at is None
