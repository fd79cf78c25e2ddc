"""The provider-event core: classification, storing once, and processing
(reader status, suppression, soft-bounce counting, idempotency, the sweep)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.provider_events.kinds import event_kind
from subscribers.provider_events.processing import (
    MAX_ATTEMPTS,
    provider_event_process,
    provider_event_record,
    provider_events_sweep,
)
from subscribers.suppression import is_suppressed, suppression_lift
from tests.event_helpers import process_pending, reader_status
from tests.factories import delivery_make, reader_make

Kind = ProviderEvent.Kind
Status = Subscriber.Status
NOW = dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC)


def tracking_event(recipient="ada@example.com", *, event_type="bounced", event_id=None,
                   message_id="msg-1", reject_reason=None, metadata=None, esp_event=None, **kwargs):
    return AnymailTrackingEvent(
        event_type=event_type, event_id=event_id, message_id=message_id, recipient=recipient,
        reject_reason=reject_reason, metadata=metadata if metadata is not None else {},
        esp_event=esp_event if esp_event is not None else {"recipient": recipient, "id": event_id},
        timestamp=NOW, **kwargs,
    )


def record(esp_name="Postmark", **kwargs):
    return provider_event_record(event=tracking_event(**kwargs), esp_name=esp_name)


# --- Classification ---------------------------------------------------------

@pytest.mark.parametrize(
    ("provider", "event_type", "reject_reason", "esp_event", "kind"),
    [
        ("postmark", "bounced", "bounced", {"RecordType": "Bounce", "Type": "HardBounce"}, Kind.HARD_BOUNCE),
        ("postmark", "bounced", "bounced", {"RecordType": "Bounce", "Type": "SoftBounce"}, Kind.SOFT_BOUNCE),
        ("postmark", "rejected", "blocked", {"RecordType": "Bounce", "Type": "Blocked"}, Kind.SOFT_BOUNCE),
        ("postmark", "rejected", "blocked", {"RecordType": "Bounce", "Type": "DMARCPolicy"}, Kind.FAILED),
        ("postmark", "rejected", "invalid", {"RecordType": "Bounce", "Type": "BadEmailAddress"},
         Kind.HARD_BOUNCE),
        ("postmark", "deferred", None, {"RecordType": "Bounce", "Type": "Transient"}, Kind.DEFERRED),
        ("postmark", "complained", "spam", {"RecordType": "SpamComplaint"}, Kind.COMPLAINT),
        ("mailgun", "bounced", "bounced", {"event-data": {"event": "failed", "severity": "permanent",
                                                          "reason": "bounce"}}, Kind.HARD_BOUNCE),
        ("mailgun", "deferred", "other", {"event-data": {"event": "failed", "severity": "temporary"}},
         Kind.SOFT_BOUNCE),
        ("mailgun", "bounced", "other", {"event-data": {"event": "failed", "severity": "permanent",
                                                        "reason": "old"}}, Kind.SOFT_BOUNCE),
        ("mailgun", "bounced", "other", {"event-data": {"event": "failed", "severity": "permanent",
                                                        "reason": "suppress-complaint"}}, Kind.COMPLAINT),
        # Mailgun refused our send request (sandbox, unknown domain, account):
        # nothing about the address.
        ("mailgun", "rejected", "other", {"event-data": {"event": "rejected"}}, Kind.FAILED),
        # Mailgun's legacy "dropped" webhook also arrives as "rejected".
        ("mailgun", "rejected", "bounced", {"event": "dropped", "reason": "hardfail", "code": "605"},
         Kind.HARD_BOUNCE),
        ("amazon_ses", "bounced", "bounced", {"eventType": "Bounce", "bounce": {"bounceType": "Permanent"}},
         Kind.HARD_BOUNCE),
        ("amazon_ses", "bounced", "bounced", {"notificationType": "Bounce",
                                              "bounce": {"bounceType": "Undetermined"}}, Kind.SOFT_BOUNCE),
        ("amazon_ses", "rejected", "blocked", {"eventType": "Reject"}, Kind.FAILED),
        ("sendgrid", "bounced", None, {"event": "bounce", "type": "bounce"}, Kind.HARD_BOUNCE),
        ("sendgrid", "bounced", None, {"event": "bounce", "type": "blocked"}, Kind.SOFT_BOUNCE),
        ("sendgrid", "rejected", "bounced", {"event": "dropped", "reason": "Bounced Address"},
         Kind.HARD_BOUNCE),
        ("sendgrid", "rejected", "other", {"event": "dropped", "reason": "Spam Reporting Address"},
         Kind.COMPLAINT),
        ("sendgrid", "rejected", "unsubscribed", {"event": "dropped", "reason": "Unsubscribed Address"},
         Kind.UNSUBSCRIBE),
        ("sendgrid", "rejected", "other", {"event": "dropped", "reason": "Spam Content"}, Kind.FAILED),
        ("sendgrid", "deferred", None, {"event": "deferred"}, Kind.DEFERRED),
        ("brevo", "bounced", "bounced", {"event": "hard_bounce"}, Kind.HARD_BOUNCE),
        ("brevo", "bounced", "bounced", {"event": "soft_bounce"}, Kind.SOFT_BOUNCE),
        ("brevo", "rejected", "blocked", {"event": "blocked"}, Kind.HARD_BOUNCE),
        ("postmark", "unknown", None, {}, None),
        ("postmark", "inbound", None, {}, None),
    ],
)
def test_event_kind_follows_the_documented_table(provider, event_type, reject_reason, esp_event, kind):
    assert event_kind(provider=provider, event_type=event_type, reject_reason=reject_reason,
                      esp_event=esp_event) == kind


# --- Recording --------------------------------------------------------------

@pytest.mark.django_db
def test_unknown_event_types_and_unusable_recipients_are_not_stored(caplog):
    caplog.set_level("INFO", logger="subscribers.provider_events.processing")

    assert record(event_type="unknown") is None
    assert record(recipient=None) is None
    assert record(recipient="not-an-address") is None
    assert record(recipient="a" * 250 + "@example.com") is None

    assert not ProviderEvent.objects.exists()
    assert len(caplog.records) == 4


@pytest.mark.django_db
def test_recorded_event_is_cleaned_of_nul_characters_and_odd_metadata():
    stored = record(metadata=["not", "a", "dict"], description="bad\x00byte",
                    esp_event={"Email": "ada@example.com", "Note\x00": "x\x00y", "n": [1, None, {"k": 1.5}]})

    stored.refresh_from_db()
    assert stored.metadata == {}
    assert stored.description == "badbyte"
    assert stored.payload == {"Email": "ada@example.com", "Note": "xy", "n": [1, None, {"k": 1.5}]}


@pytest.mark.django_db
def test_same_event_id_for_two_recipients_is_two_events():
    # One Amazon SES notification names several bounced recipients.
    assert record(esp_name="Amazon SES", recipient="ada@example.com", event_id="sns-1") is not None
    assert record(esp_name="Amazon SES", recipient="grace@example.com", event_id="sns-1") is not None
    assert record(esp_name="Amazon SES", recipient="ADA@example.com", event_id="sns-1") is None

    assert ProviderEvent.objects.filter(provider="amazon_ses").count() == 2


# --- Processing -------------------------------------------------------------

@pytest.mark.django_db
def test_processing_twice_changes_nothing_the_second_time():
    reader = reader_make("ada@example.com")
    stored = record(event_type="complained")

    first = provider_event_process(event_id=stored.pk)
    second = provider_event_process(event_id=stored.pk)

    assert first == "suppressed (complained); reader complained"
    assert second is None
    assert Suppression.objects.count() == 1
    assert reader_status(reader) == Status.COMPLAINED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "event_type", "end"),
    [
        (Status.PENDING, "bounced", Status.BOUNCED),  # a confirmation email bounced
        (Status.COMPLAINED, "bounced", Status.COMPLAINED),
        (Status.UNSUBSCRIBED, "bounced", Status.UNSUBSCRIBED),
        (Status.UNSUBSCRIBED, "complained", Status.COMPLAINED),
        (Status.BOUNCED, "unsubscribed", Status.BOUNCED),
    ],
)
def test_a_stronger_reader_state_is_kept(start, event_type, end):
    reader = reader_make("ada@example.com", status=start)
    record(event_type=event_type)

    process_pending()

    assert reader_status(reader) == end
    if event_type in {"bounced", "complained"}:
        assert is_suppressed("ada@example.com")


@pytest.mark.django_db
def test_delivery_for_another_address_falls_back_to_the_reader_of_the_event_address():
    ada, grace = reader_make("ada@example.com"), reader_make("grace@example.com")
    delivery = delivery_make(reader=ada)
    stored = record(recipient="grace@example.com", metadata={"delivery_id": str(delivery.pk)})

    process_pending()

    stored.refresh_from_db()
    assert (stored.delivery, stored.subscriber) == (delivery, grace)
    assert reader_status(ada) == Status.ACTIVE and reader_status(grace) == Status.BOUNCED


@pytest.mark.django_db
@pytest.mark.parametrize("delivery_id", ["abc", "999999", "9" * 40, -3, None, {"x": 1}])
def test_unusable_delivery_id_falls_back_to_the_address(delivery_id):
    reader = reader_make("Ada@Example.com")
    stored = record(recipient="ada@example.com", metadata={"delivery_id": delivery_id})

    process_pending()

    stored.refresh_from_db()
    assert stored.delivery is None and stored.subscriber == reader
    assert reader_status(reader) == Status.BOUNCED


@pytest.mark.django_db
def test_failure_of_our_message_suppresses_nobody(caplog):
    reader = reader_make("ada@example.com")
    record(event_type="rejected", reject_reason="blocked",
           esp_event={"RecordType": "Bounce", "Type": "DMARCPolicy"})

    process_pending()

    assert reader_status(reader) == Status.ACTIVE
    assert not Suppression.objects.exists()
    assert any("refused our message" in r.message for r in caplog.records)


# --- Soft bounces -----------------------------------------------------------

def soft(message_id, **kwargs):
    return record(event_type="bounced", reject_reason="bounced", message_id=message_id,
                  esp_event={"RecordType": "Bounce", "Type": "SoftBounce", "m": message_id}, **kwargs)


@pytest.mark.django_db
def test_three_soft_bounces_on_different_messages_suppress():
    reader = reader_make("ada@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(3):
            soft(f"msg-{n}")
            results = process_pending()
            clock.shift(dt.timedelta(days=5))

    assert results == ["suppressed after 3 soft bounces; reader bounced"]
    assert Suppression.objects.get().reason == Suppression.Reason.SOFT_BOUNCES
    assert reader_status(reader) == Status.BOUNCED


@pytest.mark.django_db
def test_soft_bounces_of_one_message_count_once():
    reader = reader_make("ada@example.com")
    for n in range(4):
        record(event_type="deferred", event_id=f"retry-{n}", message_id="msg-1", esp_name="Mailgun",
               esp_event={"event-data": {"event": "failed", "severity": "temporary", "n": n}})

    results = process_pending()

    assert results[-1] == "soft bounce 1 of 3 within 30 days"
    assert reader_status(reader) == Status.ACTIVE


@pytest.mark.django_db
def test_soft_bounces_spread_beyond_the_window_do_not_suppress():
    reader = reader_make("ada@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(3):
            soft(f"msg-{n}")
            process_pending()
            clock.shift(dt.timedelta(days=16))

    assert not is_suppressed("ada@example.com")
    assert reader_status(reader) == Status.ACTIVE


@pytest.mark.django_db
def test_soft_bounce_limit_and_window_are_settings(settings):
    settings.SOFT_BOUNCE_LIMIT = 1
    reader_make("ada@example.com")

    soft("msg-1")

    assert process_pending() == ["suppressed after 1 soft bounces; reader bounced"]


@pytest.mark.django_db
def test_after_a_lift_soft_bounces_count_afresh():
    reader_make("ada@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(3):
            soft(f"msg-{n}")
        process_pending()
        suppression_lift(suppression=Suppression.objects.get(), reason="mailbox fixed", by="editor")
        clock.shift(dt.timedelta(hours=1))
        soft("msg-3")
        results = process_pending()

    assert results == ["soft bounce 1 of 3 within 30 days"]
    assert not is_suppressed("ada@example.com")


# --- The sweep --------------------------------------------------------------

@pytest.mark.django_db
def test_sweep_processes_events_left_unprocessed():
    reader = reader_make("ada@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        record(event_type="complained")
        assert provider_events_sweep() == 0  # too fresh: its task may still be on the way
        clock.shift(dt.timedelta(minutes=2))
        assert provider_events_sweep() == 1
        assert provider_events_sweep() == 0

    assert reader_status(reader) == Status.COMPLAINED


@pytest.mark.django_db
def test_a_failing_event_is_counted_and_does_not_block_the_others(settings):
    reader_make("ada@example.com")
    grace = reader_make("grace@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        failing = soft("msg-1")
        record(recipient="grace@example.com", event_type="complained")
        clock.shift(dt.timedelta(minutes=2))
        settings.SOFT_BOUNCE_WINDOW_DAYS = 10**10  # too large for a date: processing raises

        assert provider_events_sweep() == 1
        for _ in range(MAX_ATTEMPTS):
            provider_events_sweep()

    failing.refresh_from_db()
    assert failing.processed_at is None and failing.attempts == MAX_ATTEMPTS
    assert "OverflowError" in failing.error
    assert reader_status(grace) == Status.COMPLAINED


@pytest.mark.django_db
def test_tasks_wrap_the_core_and_beat_runs_the_sweep(settings):
    from config.celery import app
    from subscribers.tasks import process_provider_event, sweep_provider_events

    reader = reader_make("ada@example.com")
    with time_machine.travel(NOW, tick=False) as clock:
        first = record(event_type="unsubscribed")
        second = record(event_type="complained", recipient="grace@example.com")
        process_provider_event(first.pk)
        clock.shift(dt.timedelta(minutes=5))
        sweep_provider_events()

    assert reader_status(reader) == Status.UNSUBSCRIBED
    second.refresh_from_db()
    assert second.result == "no reader has this address: nothing changed"  # done by the sweep
    task = settings.CELERY_BEAT_SCHEDULE["provider-events-sweep"]["task"]
    assert task == sweep_provider_events.name and task in app.tasks
