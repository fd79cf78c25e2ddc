"""Webhook payloads in each provider's documented shape, and helpers to post
them through the Django test client the way the provider would.

Shapes follow the providers' own documentation examples: Postmark's bounce,
spam-complaint, delivery and open webhooks; Mailgun's JSON webhooks
("signature" + "event-data"); Amazon SES notifications wrapped in an SNS
HTTP notification; SendGrid's Event Webhook batch; Brevo's transactional
webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from django.conf import settings


def basic_auth(secret: str | None = None) -> dict:
    """The Authorization header a provider sends for ``user:password``."""
    secret = secret or settings.ANYMAIL["WEBHOOK_SECRET"][0]
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


WRONG_AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hooks:not-the-password").decode()}


def post_json(client, path: str, payload, *, auth: dict | None = None, **extra):
    auth = basic_auth() if auth is None else auth
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(path, data=body, content_type="application/json", **auth, **extra)


# --- Postmark ---------------------------------------------------------------

def postmark_bounce(email: str, *, bounce_type: str = "HardBounce", bounce_id: int = 4323372036854775807,
                    metadata: dict | None = None, message_id: str | None = None) -> dict:
    names = {"HardBounce": ("Hard bounce", 1), "SoftBounce": ("Soft bounce", 4096),
             "Transient": ("Message delayed", 2), "DMARCPolicy": ("DMARC policy", 100009)}
    name, code = names.get(bounce_type, (bounce_type, 0))
    return {
        "RecordType": "Bounce",
        "MessageStream": "broadcast",
        "ID": bounce_id,
        "Type": bounce_type,
        "TypeCode": code,
        "Name": name,
        "Tag": "digest",
        "MessageID": message_id or "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": metadata or {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "papers@example.org",
        "BouncedAt": "2026-11-20T06:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": bounce_type == "HardBounce",
        "CanActivate": True,
        "Subject": "Your Daily Papers for 20 November",
        "Content": "<Full dump of bounce>",
    }


def postmark_spam_complaint(email: str, *, complaint_id: int = 42, metadata: dict | None = None) -> dict:
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "broadcast",
        "ID": complaint_id,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "digest",
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "Metadata": metadata or {},
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "papers@example.org",
        "BouncedAt": "2026-11-20T06:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Your Daily Papers for 20 November",
        "Content": "<Abuse report dump>",
    }


def postmark_delivery(email: str, *, metadata: dict | None = None) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": email,
        "Tag": "digest",
        "DeliveredAt": "2026-11-20T06:33:54.9070259Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": metadata or {},
    }


def postmark_open(email: str, *, metadata: dict | None = None) -> dict:
    return {
        "RecordType": "Open",
        "MessageStream": "broadcast",
        "Metadata": metadata or {},
        "FirstOpen": True,
        "Recipient": email,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ReceivedAt": "2026-11-20T07:01:12.0000000Z",
        "Platform": "WebMail",
        "ReadSeconds": 5,
        "Tag": "digest",
        "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "OS": {"Name": "Windows 10", "Family": "Windows", "Company": "Microsoft Corporation"},
        "Client": {"Name": "Chrome 120", "Family": "Chrome", "Company": "Google"},
        "Geo": {"CountryISOCode": "FR", "Country": "France"},
    }


def postmark_click(email: str, *, url: str, metadata: dict | None = None) -> dict:
    # Postmark's Click webhook (developer docs, "Click webhook").
    return {
        "RecordType": "Click",
        "MessageStream": "broadcast",
        "Metadata": metadata or {},
        "Recipient": email,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ReceivedAt": "2026-11-20T07:03:12.0000000Z",
        "Platform": "Desktop",
        "ClickLocation": "HTML",
        "OriginalLink": url,
        "Tag": "digest",
        "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "OS": {"Name": "Windows 10", "Family": "Windows", "Company": "Microsoft Corporation"},
        "Client": {"Name": "Chrome 120", "Family": "Chrome", "Company": "Google"},
        "Geo": {"CountryISOCode": "FR", "Country": "France"},
    }


def postmark_subscription_change(email: str, *, reason: str = "ManualSuppression") -> dict:
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "ChangedAt": "2026-11-20T07:10:00.000000Z",
        "Recipient": email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": reason,
        "Tag": "digest",
        "Metadata": {},
    }


# --- Mailgun ----------------------------------------------------------------

def mailgun_signature(signing_key: str, *, timestamp: str = "1763620000", token: str | None = None) -> dict:
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    digest = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def mailgun_failed(email: str, *, signing_key: str, severity: str = "permanent", reason: str = "bounce",
                   event_id: str = "2kFItcrLQuKTdp-Ia2Xr7w", message_id: str | None = None,
                   metadata: dict | None = None, signature: dict | None = None) -> dict:
    permanent = severity == "permanent"
    return {
        "signature": signature or mailgun_signature(signing_key),
        "event-data": {
            "event": "failed",
            "id": event_id,
            "timestamp": 1763620000.5923693,
            "flags": {"is-authenticated": True, "is-routed": False, "is-big": False,
                      "is-system-test": False, "is-test-mode": False},
            "message": {
                "attachments": [],
                "headers": {
                    "message-id": message_id or "20261120064255.58bbb7ce85a423e5@mg.example.org",
                    "from": "Daily Papers <papers@mg.example.org>",
                    "to": email,
                    "subject": "Your Daily Papers for 20 November",
                },
                "size": 384,
            },
            "log-level": "error" if permanent else "warn",
            "recipient": email,
            "recipient-domain": email.split("@")[1],
            "tags": ["digest"],
            "reason": reason,
            "severity": severity,
            "campaigns": [],
            "delivery-status": {
                "attempt-no": 1,
                "code": 550 if permanent else 452,
                "message": "5.1.1 mailbox unavailable" if permanent else "4.2.2 mailbox over quota",
                "description": None,
                "session-seconds": 0.2,
                "enhanced-code": "5.1.1" if permanent else "4.2.2",
                **({"bounce-type": "hard"} if permanent else {"retry-seconds": 600}),
            },
            "domain": {"name": "mg.example.org"},
            "envelope": {"sender": "papers@mg.example.org", "targets": email, "transport": "smtp"},
            # Mailgun sends [] when a message has no variables.
            "user-variables": metadata if metadata is not None else [],
        },
    }


def mailgun_rejected(email: str, *, signing_key: str, reason: str, metadata: dict | None = None) -> dict:
    """Mailgun refused the send request itself (its Events API example; no
    "recipient" field: anymail reads the To header)."""
    return {
        "signature": mailgun_signature(signing_key),
        "event-data": {
            "event": "rejected",
            "id": "OMTXD3-sSmKIQa1gSKkYVA",
            "timestamp": 1763620000.104692,
            "log-level": "warn",
            "flags": {"is-test-mode": False},
            "reject": {"reason": reason, "description": ""},
            "message": {
                "headers": {
                    "to": f"Ada <{email}>",
                    "message-id": "20261120064255.1.B31A451A2E5422BB@mg.example.org",
                    "from": "Daily Papers <papers@mg.example.org>",
                    "subject": "Your Daily Papers for 20 November",
                },
                "attachments": [],
                "size": 0,
            },
            "storage": {"url": "https://se.api.mailgun.net/v3/domains/mg.example.org/messages/message_key",
                        "key": "message_key"},
            "user-variables": metadata if metadata is not None else [],
        },
    }


# --- Amazon SES (through SNS) -----------------------------------------------

def ses_mail(emails: list[str], *, metadata: dict | None = None,
             message_id: str = "0100018c1f7a2b3c-6f0e1f3a-aaaa-bbbb-cccc-123456789abc-000000") -> dict:
    headers = [
        {"name": "From", "value": "Daily Papers <papers@example.org>"},
        {"name": "To", "value": ", ".join(emails)},
        {"name": "Subject", "value": "Your Daily Papers for 20 November"},
        {"name": "X-Tag", "value": "digest"},
    ]
    if metadata:
        headers.append({"name": "X-Metadata", "value": json.dumps(metadata)})
    return {
        "timestamp": "2026-11-20T06:30:02.012Z",
        "source": "Daily Papers <papers@example.org>",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.org",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": emails,
        "headersTruncated": False,
        "headers": headers,
        "commonHeaders": {"from": ["Daily Papers <papers@example.org>"], "to": emails,
                          "subject": "Your Daily Papers for 20 November"},
        "tags": {"ses:configuration-set": ["digests"]},
    }


def ses_bounce(emails: list[str], *, bounce_type: str = "Permanent", sub_type: str = "General",
               metadata: dict | None = None) -> dict:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {"emailAddress": e, "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"} for e in emails
            ],
            "timestamp": "2026-11-20T06:31:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": ses_mail(emails, metadata=metadata),
    }


def ses_complaint(email: str, *, metadata: dict | None = None) -> dict:
    return {
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000001",
            "complaintSubType": None,
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2026-11-20T08:41:02.669Z",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-11-20T08:40:02.669Z",
        },
        "mail": ses_mail([email], metadata=metadata),
    }


def sns_notification(ses_event: dict, *, message_id: str | None = None) -> dict:
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:daily-papers-ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-11-20T06:31:03.655Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N8",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb72.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                          "arn:aws:sns:eu-west-1:123456789012:daily-papers-ses-events:c9135db0",
    }


def post_sns(client, message: dict, *, auth: dict | None = None):
    """SNS posts JSON as text/plain with its own headers."""
    auth = basic_auth() if auth is None else auth
    return client.post(
        "/anymail/amazon_ses/tracking/", data=json.dumps(message), content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=message["Type"], HTTP_X_AMZ_SNS_MESSAGE_ID=message["MessageId"],
        HTTP_X_AMZ_SNS_TOPIC_ARN=message.get("TopicArn", ""), **auth,
    )


# --- SendGrid ---------------------------------------------------------------

def sendgrid_batch(email: str, *, delivery_id: str | None = None, suffix: str = "") -> list[dict]:
    """One message's life in a SendGrid Event Webhook post: processed,
    deferred, delivered, open, click, then a bounce."""
    base = {"email": email, "timestamp": 1763620000, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "category": ["digest"], "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}
    if delivery_id is not None:
        base["delivery_id"] = delivery_id  # anymail metadata arrives as SendGrid custom args
    events = [
        {"event": "processed"},
        {"event": "deferred", "response": "400 try again later", "attempt": "5"},
        {"event": "delivered", "response": "250 OK"},
        {"event": "open", "sg_machine_open": False, "useragent": "Mozilla/4.0", "ip": "192.0.2.1"},
        {"event": "click", "useragent": "Mozilla/4.0", "ip": "192.0.2.1", "url": "https://arxiv.org/abs/2507.06607"},
        {"event": "bounce", "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce",
         "bounce_classification": "Invalid Address"},
    ]
    return [
        {**base, **event, "sg_event_id": f"sg-{event['event']}-{suffix}{n}"} for n, event in enumerate(events)
    ]


def sendgrid_event(email: str, event: str, *, sg_event_id: str, **fields) -> dict:
    return {"email": email, "timestamp": 1763620000, "event": event, "sg_event_id": sg_event_id,
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "category": ["digest"],
            **fields}


# --- Brevo ------------------------------------------------------------------

def brevo_event(email: str, event: str, *, metadata: dict | None = None, ts_epoch: int = 1763620000123,
                message_id: str = "<202611200630.12345678901@smtp-relay.mailin.fr>") -> dict:
    payload = {
        "event": event,
        "email": email,
        "id": 731034,
        "date": "2026-11-20 07:30:00",
        "ts": ts_epoch // 1000,
        "message-id": message_id,
        "ts_event": ts_epoch // 1000,
        "subject": "Your Daily Papers for 20 November",
        "tag": "digest",
        "sending_ip": "185.41.28.109",
        "ts_epoch": ts_epoch,
        "tags": ["digest"],
    }
    if event in {"hard_bounce", "soft_bounce"}:
        payload["reason"] = "550 5.1.1 user unknown" if event == "hard_bounce" else "452 mailbox full"
    if metadata is not None:
        payload["X-Mailin-custom"] = json.dumps(metadata)
    return payload
