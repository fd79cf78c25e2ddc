"""Each provider's real webhook payloads, posted through anymail's tracking
URLs, change readers and the suppression list as docs/providers.md says."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.suppression import is_suppressed
from tests import provider_payloads as p
from tests.event_helpers import process_pending, reader_status
from tests.factories import delivery_make, reader_make

pytestmark = pytest.mark.django_db

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
Status = Subscriber.Status
Kind = ProviderEvent.Kind


@pytest.fixture
def mailgun_key(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    return MAILGUN_KEY


# --- Postmark ---------------------------------------------------------------

def test_postmark_hard_bounce_suppresses_and_marks_reader_bounced(client):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    payload = p.postmark_bounce("ada@example.com", metadata={"delivery_id": str(delivery.pk)})

    response = p.post_json(client, "/anymail/postmark/tracking/", payload)

    assert response.status_code == 200
    event = ProviderEvent.objects.get()
    assert (event.provider, event.kind, event.processed_at) == ("postmark", Kind.HARD_BOUNCE, None)
    assert reader_status(reader) == Status.ACTIVE  # the webhook only stores
    process_pending()
    event.refresh_from_db()
    assert event.delivery == delivery and event.subscriber == reader
    assert reader_status(reader) == Status.BOUNCED
    assert is_suppressed("ada@example.com")
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED


def test_postmark_soft_bounce_is_recorded_not_suppressed(client):
    reader = reader_make("ada@example.com")
    payload = p.postmark_bounce("ada@example.com", bounce_type="SoftBounce")

    assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()

    assert ProviderEvent.objects.get().kind == Kind.SOFT_BOUNCE
    assert reader_status(reader) == Status.ACTIVE
    assert not is_suppressed("ada@example.com")


def test_postmark_spam_complaint_suppresses_at_once(client):
    reader = reader_make("ada@example.com")

    payload = p.postmark_spam_complaint("ada@example.com")

    response = p.post_json(client, "/anymail/postmark/tracking/", payload)
    process_pending()

    assert response.status_code == 200
    assert reader_status(reader) == Status.COMPLAINED
    assert Suppression.objects.get(lifted_at=None).reason == Suppression.Reason.COMPLAINED


def test_postmark_delivery_and_open_are_recorded_on_the_delivery(client):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    metadata = {"delivery_id": str(delivery.pk)}

    for payload in (p.postmark_delivery("ada@example.com", metadata=metadata),
                    p.postmark_open("ada@example.com", metadata=metadata)):
        assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()

    kinds = sorted(delivery.provider_events.values_list("kind", flat=True))
    assert kinds == [Kind.DELIVERED, Kind.OPENED]
    assert reader_status(reader) == Status.ACTIVE
    assert not Suppression.objects.exists()


def test_postmark_click_is_recorded_with_the_link(client):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    payload = p.postmark_click("ada@example.com", url="https://huggingface.co/papers/2507.06607",
                               metadata={"delivery_id": str(delivery.pk)})
    assert p.post_json(client, "/anymail/postmark/tracking/", payload).status_code == 200
    process_pending()

    event = delivery.provider_events.get()
    assert (event.kind, event.click_url) == (Kind.CLICKED, "https://huggingface.co/papers/2507.06607")


def test_postmark_subscription_change_unsubscribes_reader_without_suppressing(client):
    reader = reader_make("ada@example.com")

    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_subscription_change("ada@example.com"))
    process_pending()

    reader.refresh_from_db()
    assert reader.status == Status.UNSUBSCRIBED and reader.unsubscribed_at is not None
    assert not is_suppressed("ada@example.com")


@pytest.mark.parametrize("auth", [{}, p.WRONG_AUTH], ids=["missing", "wrong"])
def test_postmark_without_the_right_basic_auth_is_refused(client, auth):
    reader = reader_make("ada@example.com")
    payload = p.postmark_bounce("ada@example.com")

    response = p.post_json(client, "/anymail/postmark/tracking/", payload, auth=auth)

    assert response.status_code == 400
    assert not ProviderEvent.objects.exists()
    assert reader_status(reader) == Status.ACTIVE


# --- Mailgun ----------------------------------------------------------------

def test_mailgun_permanent_failure_with_valid_signature_suppresses(client, mailgun_key):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    payload = p.mailgun_failed("ada@example.com", signing_key=mailgun_key,
                               metadata={"delivery_id": str(delivery.pk)})

    assert p.post_json(client, "/anymail/mailgun/tracking/", payload).status_code == 200
    process_pending()

    event = ProviderEvent.objects.get()
    assert (event.kind, event.delivery) == (Kind.HARD_BOUNCE, delivery)
    assert reader_status(reader) == Status.BOUNCED
    assert is_suppressed("ada@example.com")


def test_mailgun_temporary_failure_is_a_soft_bounce(client, mailgun_key):
    reader = reader_make("ada@example.com")
    payload = p.mailgun_failed("ada@example.com", signing_key=mailgun_key, severity="temporary",
                               reason="generic")

    assert p.post_json(client, "/anymail/mailgun/tracking/", payload).status_code == 200
    process_pending()

    event = ProviderEvent.objects.get()
    assert (event.event_type, event.kind) == ("deferred", Kind.SOFT_BOUNCE)
    assert event.result == "soft bounce 1 of 3 within 30 days"
    assert reader_status(reader) == Status.ACTIVE
    assert not is_suppressed("ada@example.com")


def test_mailgun_wrong_signature_is_refused(client, mailgun_key):
    reader = reader_make("ada@example.com")
    forged = p.mailgun_signature("not-the-signing-key")
    payload = p.mailgun_failed("ada@example.com", signing_key=mailgun_key, signature=forged)

    response = p.post_json(client, "/anymail/mailgun/tracking/", payload)

    assert response.status_code == 400
    assert not ProviderEvent.objects.exists()
    assert reader_status(reader) == Status.ACTIVE


def test_mailgun_valid_signature_without_basic_auth_is_refused(client, mailgun_key):
    payload = p.mailgun_failed("ada@example.com", signing_key=mailgun_key)

    assert p.post_json(client, "/anymail/mailgun/tracking/", payload, auth=p.WRONG_AUTH).status_code == 400
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize(
    "reason",
    [
        "Sandbox subdomains are for test purposes only. Please add your own domain or add the address "
        "to authorized recipients in Account Settings.",
        "Domain not found: mg.example.org",
        "Free accounts are for test purposes only. Please upgrade or add the address to authorized "
        "recipients in Account Settings.",
    ],
    ids=["sandbox", "unknown-domain", "free-account"],
)
def test_mailgun_refusing_our_account_warns_and_leaves_readers_alone(client, mailgun_key, caplog, reason):
    # A misconfigured domain refuses the whole morning's list: nobody may be suppressed for it.
    readers = [reader_make(f"reader{n}@example.com") for n in range(3)]
    for reader in readers:
        delivery = delivery_make(reader=reader)
        payload = p.mailgun_rejected(reader.email, signing_key=mailgun_key, reason=reason,
                                     metadata={"delivery_id": str(delivery.pk)})
        payload["event-data"]["id"] += str(reader.pk)
        assert p.post_json(client, "/anymail/mailgun/tracking/", payload).status_code == 200
    process_pending()

    events = list(ProviderEvent.objects.all())
    assert [e.kind for e in events] == [Kind.FAILED] * 3
    assert {e.delivery.subscriber_id for e in events} == {r.pk for r in readers}
    assert [reader_status(r) for r in readers] == [Status.ACTIVE] * 3
    assert not Suppression.objects.exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 3 and all("refused our message" in w and reason[:20] in w for w in warnings)
    assert not any("@example.com" in w for w in warnings)


def test_mailgun_legacy_form_webhook_is_understood(client, mailgun_key):
    # Mailgun's older webhooks post form fields instead of JSON.
    reader = reader_make("ada@example.com")
    form = {
        "event": "bounced", "recipient": "ada@example.com", "domain": "mg.example.org", "code": "550",
        "error": "5.1.1 The email account that you tried to reach does not exist.",
        "message-headers": json.dumps([["Message-Id", "<20261120.1@mg.example.org>"],
                                       ["X-Mailgun-Variables", '{"delivery_id": "nope"}']]),
        "Message-Id": "<20261120.1@mg.example.org>", **p.mailgun_signature(mailgun_key),
    }

    response = client.post("/anymail/mailgun/tracking/", form, **p.basic_auth())
    process_pending()

    assert response.status_code == 200
    event = ProviderEvent.objects.get()
    assert event.payload["event"] == "bounced" and event.metadata == {"delivery_id": "nope"}
    assert reader_status(reader) == Status.BOUNCED


# --- Amazon SES -------------------------------------------------------------

def test_ses_bounce_notification_suppresses_each_bounced_recipient(client):
    reader = reader_make("ada@example.com")
    other = reader_make("grace@example.com")
    delivery = delivery_make(reader=reader)
    ses_event = p.ses_bounce(["ada@example.com", "stranger@example.net"],
                             metadata={"delivery_id": str(delivery.pk)})

    assert p.post_sns(client, p.sns_notification(ses_event)).status_code == 200
    results = process_pending()

    events = ProviderEvent.objects.order_by("recipient")
    assert [(e.recipient, e.kind) for e in events] == [
        ("ada@example.com", Kind.HARD_BOUNCE), ("stranger@example.net", Kind.HARD_BOUNCE),
    ]
    assert events[0].delivery == delivery
    assert reader_status(reader) == Status.BOUNCED
    assert reader_status(other) == Status.ACTIVE
    assert "no reader has this address: nothing changed" in results
    assert is_suppressed("ada@example.com") and not is_suppressed("stranger@example.net")


def test_ses_transient_bounce_is_soft(client):
    reader = reader_make("ada@example.com")
    ses_event = p.ses_bounce(["ada@example.com"], bounce_type="Transient", sub_type="MailboxFull")

    p.post_sns(client, p.sns_notification(ses_event))
    process_pending()

    assert ProviderEvent.objects.get().kind == Kind.SOFT_BOUNCE
    assert reader_status(reader) == Status.ACTIVE


def test_ses_complaint_notification_suppresses(client):
    reader = reader_make("ada@example.com")

    assert p.post_sns(client, p.sns_notification(p.ses_complaint("ada@example.com"))).status_code == 200
    process_pending()

    assert reader_status(reader) == Status.COMPLAINED
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_ses_asks_for_basic_auth_then_refuses_a_wrong_one(client):
    # SNS sends credentials only after a 401 challenge.
    message = p.sns_notification(p.ses_complaint("ada@example.com"))

    challenged = p.post_sns(client, message, auth={})
    refused = p.post_sns(client, message, auth=p.WRONG_AUTH)

    assert challenged.status_code == 401 and challenged["WWW-Authenticate"].startswith("Basic")
    assert refused.status_code == 400
    assert not ProviderEvent.objects.exists()


# --- SendGrid ---------------------------------------------------------------

def test_sendgrid_event_batch_records_engagement_and_suppresses_the_bounce(client):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)

    response = p.post_json(client, "/anymail/sendgrid/tracking/",
                           p.sendgrid_batch("ada@example.com", delivery_id=str(delivery.pk)))
    process_pending()

    assert response.status_code == 200
    kinds = list(delivery.provider_events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [Kind.OTHER, Kind.DEFERRED, Kind.DELIVERED, Kind.OPENED, Kind.CLICKED, Kind.HARD_BOUNCE]
    assert reader_status(reader) == Status.BOUNCED
    assert is_suppressed("ada@example.com")


def test_sendgrid_blocked_bounce_is_soft(client):
    reader = reader_make("ada@example.com")
    event = p.sendgrid_event("ada@example.com", "bounce", sg_event_id="sg-blocked-1", type="blocked",
                             reason="550 blocked by policy", status="5.7.1")

    p.post_json(client, "/anymail/sendgrid/tracking/", [event])
    process_pending()

    assert ProviderEvent.objects.get().kind == Kind.SOFT_BOUNCE
    assert reader_status(reader) == Status.ACTIVE


def test_sendgrid_signed_webhook_checks_the_signature(client, settings):
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.ANYMAIL = {**settings.ANYMAIL,
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(public).decode()}
    body = json.dumps([p.sendgrid_event("ada@example.com", "spamreport", sg_event_id="sg-spam-1")])
    timestamp = "1763620000"
    good = base64.b64encode(key.sign(timestamp.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))).decode()
    bad = base64.b64encode(key.sign(b"other" + body.encode(), ec.ECDSA(hashes.SHA256()))).decode()

    def post(signature):
        return p.post_json(client, "/anymail/sendgrid/tracking/", body,
                           HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
                           HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp)

    assert post(bad).status_code == 400
    assert not ProviderEvent.objects.exists()
    assert post(good).status_code == 200
    assert ProviderEvent.objects.get().kind == Kind.COMPLAINT


# --- Brevo ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("brevo_event", "kind", "status", "suppressed"),
    [
        ("hard_bounce", Kind.HARD_BOUNCE, Status.BOUNCED, True),
        ("soft_bounce", Kind.SOFT_BOUNCE, Status.ACTIVE, False),
        ("spam", Kind.COMPLAINT, Status.COMPLAINED, True),
        ("unsubscribe", Kind.UNSUBSCRIBE, Status.UNSUBSCRIBED, False),
        ("delivered", Kind.DELIVERED, Status.ACTIVE, False),
    ],
)
def test_brevo_events_map_to_reader_states(client, brevo_event, kind, status, suppressed):
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    payload = p.brevo_event("ada@example.com", brevo_event, metadata={"delivery_id": str(delivery.pk)})

    assert p.post_json(client, "/anymail/brevo/tracking/", payload).status_code == 200
    process_pending()

    assert list(delivery.provider_events.values_list("kind", flat=True)) == [kind]
    assert reader_status(reader) == status
    assert is_suppressed("ada@example.com") == suppressed


# --- Replays ----------------------------------------------------------------

def _replay_cases():
    return {
        "postmark-bounce": lambda c: p.post_json(c, "/anymail/postmark/tracking/",
                                                 p.postmark_bounce("ada@example.com")),
        "postmark-complaint": lambda c: p.post_json(c, "/anymail/postmark/tracking/",
                                                    p.postmark_spam_complaint("ada@example.com")),
        "postmark-open": lambda c: p.post_json(c, "/anymail/postmark/tracking/",
                                               p.postmark_open("ada@example.com")),
        "ses-bounce": lambda c: p.post_sns(c, p.sns_notification(p.ses_bounce(["ada@example.com"]),
                                                                 message_id="sns-1")),
        "ses-complaint": lambda c: p.post_sns(c, p.sns_notification(p.ses_complaint("ada@example.com"),
                                                                    message_id="sns-2")),
        "sendgrid-batch": lambda c: p.post_json(c, "/anymail/sendgrid/tracking/",
                                                p.sendgrid_batch("ada@example.com")),
        "brevo-hard-bounce": lambda c: p.post_json(c, "/anymail/brevo/tracking/",
                                                   p.brevo_event("ada@example.com", "hard_bounce")),
    }


@pytest.mark.parametrize("case", list(_replay_cases()))
def test_replayed_payload_is_stored_once(client, case):
    reader = reader_make("ada@example.com")
    post = _replay_cases()[case]

    assert post(client).status_code == 200
    process_pending()
    stored = ProviderEvent.objects.count()
    status = reader_status(reader)
    assert post(client).status_code == 200  # answered, so the provider stops retrying
    process_pending()

    assert stored >= 1 and ProviderEvent.objects.count() == stored
    assert reader_status(reader) == status
    assert Suppression.objects.count() <= 1


@pytest.mark.parametrize(("severity", "reason"), [("permanent", "bounce"), ("temporary", "generic")])
def test_mailgun_replay_is_stored_once(client, mailgun_key, severity, reason):
    reader_make("ada@example.com")
    payload = p.mailgun_failed("ada@example.com", signing_key=mailgun_key, severity=severity, reason=reason)
    # A retry of the same event may come with a fresh signature token.
    resent = {**payload, "signature": p.mailgun_signature(mailgun_key)}

    for body in (payload, payload, resent):
        assert p.post_json(client, "/anymail/mailgun/tracking/", body).status_code == 200

    assert ProviderEvent.objects.count() == 1


# --- Amazon SNS subscription confirmation ------------------------------------

class FakeSNS(BaseHTTPRequestHandler):
    """Answers ConfirmSubscription as Amazon SNS's query API does."""

    calls: list[dict] = []

    def do_POST(self):
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        FakeSNS.calls.append(form)
        body = (
            '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
            "<ConfirmSubscriptionResult><SubscriptionArn>"
            f"{form.get('TopicArn')}:c9135db0-26c4-47ec-8998-413945fb5a96"
            "</SubscriptionArn></ConfirmSubscriptionResult>"
            "<ResponseMetadata><RequestId>7a4e3d6f-1c2b-4a5d-9e8f-0a1b2c3d4e5f</RequestId></ResponseMetadata>"
            "</ConfirmSubscriptionResponse>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sns(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSNS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeSNS.calls = []
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "AMAZON_SES_SESSION_PARAMS": {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "secret"},
        "AMAZON_SES_CLIENT_PARAMS": {"endpoint_url": f"http://127.0.0.1:{server.server_port}"},
    }
    yield FakeSNS.calls
    server.shutdown()
    server.server_close()


def subscription_confirmation():
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb7",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:daily-papers-ses-events",
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:"
                   "daily-papers-ses-events.\nTo confirm the subscription, visit the SubscribeURL included.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:...",
        "Timestamp": "2026-11-20T06:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N8",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb72.pem",
    }


def test_ses_subscription_is_confirmed_only_with_the_right_auth(client, fake_sns):
    message = subscription_confirmation()

    assert p.post_sns(client, message, auth=p.WRONG_AUTH).status_code == 400
    assert fake_sns == []

    assert p.post_sns(client, message).status_code == 200
    assert [(c["Action"], c["TopicArn"], c["Token"]) for c in fake_sns] == [
        ("ConfirmSubscription", message["TopicArn"], message["Token"])
    ]
    assert not ProviderEvent.objects.exists()
