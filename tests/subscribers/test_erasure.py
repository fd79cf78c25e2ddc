"""After "delete my data" the address is nowhere in the database: not in any
column of any table (every model of every app, text and JSON), not in the
admin log, not in the provider's reports; only the hashed suppression stays,
and it still works."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from anymail.signals import AnymailTrackingEvent
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import models
from django.db.models.functions import Cast
from django.test import Client
from django.urls import reverse

from config.lib.audit import editorial_log
from newsletter.models import Delivery, PaperVote, ReaderTaste
from subscribers.choices import Choices
from subscribers.editorial import subscribers_suppress
from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.provider_events.processing import provider_event_record
from subscribers.services import subscriber_confirm, subscriber_signup
from subscribers.suppression import is_blocked_for_signup, is_suppressed, suppression_lift
from subscribers.tokens import token_make
from tests.event_helpers import process_pending
from tests.factories import DAY, delivery_make, edition_make, edition_small
from tests.subscriber_helpers import eager_tasks, fresh_client, import_run, signup_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]

ADDRESS = "Erase.Me@Example.ORG"  # stored as Erase.Me@example.org; searched for in any case
SEARCHED = "erase.me@example.org"


def rows_mentioning(text: str) -> set[str]:
    """"app.Model.field" for every row of every model whose text or JSON
    column contains ``text`` in any case, and the sessions that do."""
    found = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        rows = model._default_manager.all()
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                matches = rows.filter(**{f"{field.attname}__icontains": text})
            elif isinstance(field, models.JSONField):
                matches = rows.annotate(as_text=Cast(field.attname, models.TextField())).filter(
                    as_text__icontains=text)
            elif isinstance(field, models.BinaryField):
                if any(text.lower().encode() in bytes(value or b"").lower()
                       for value in rows.values_list(field.attname, flat=True)):
                    found.add(f"{model._meta.label}.{field.name}")
                continue
            else:
                continue
            if matches.exists():
                found.add(f"{model._meta.label}.{field.name}")
    for session in Session.objects.all():
        if text.lower() in json.dumps(session.get_decoded(), default=str).lower():
            found.add("sessions.Session (decoded)")
    return found


def _provider_report(*, recipient: str, metadata: dict, esp_event: dict, description: str) -> None:
    event = AnymailTrackingEvent(
        event_type="bounced", reject_reason="bounced", recipient=recipient, message_id="msg-erase",
        metadata=metadata, esp_event=esp_event, description=description,
        timestamp=dt.datetime(2025, 7, 10, 8, tzinfo=dt.UTC),
    )
    assert provider_event_record(event=event, esp_name="Postmark") is not None


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")


def test_erasure_leaves_the_address_in_no_table(editor, django_capture_on_commit_callbacks):
    papers = edition_small()
    edition = edition_make(note="The day.")
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        fresh_client().post("/subscribe/", signup_data(ADDRESS, topics=("quantization-compression",)))
    reader = Subscriber.objects.get()
    subscriber_confirm(subscriber=reader, ip="198.51.100.7", user_agent="Browser/1.0")
    # What it got: a digest of yesterday that failed quoting the address, a vote.
    delivery = delivery_make(reader=reader, edition=edition_make(DAY - dt.timedelta(days=1)),
                             status=Delivery.Status.FAILED, error=f"550 5.1.1 <{SEARCHED}>: no such user")
    PaperVote.objects.create(subscriber=reader, paper=papers["A"], edition_date=DAY, value=1)
    ReaderTaste.objects.create(subscriber=reader, votes_up=1)
    # What editors did: suppressed it, lifted that with a note, previewed and tested its digest.
    subscribers_suppress(subscribers=Subscriber.objects.filter(pk=reader.pk), by=editor)
    suppression_lift(suppression=Suppression.objects.get(), reason=f"{ADDRESS} asked us by phone",
                     by=editor.username)
    client = Client()
    client.force_login(editor)
    client.post(reverse("admin:newsletter_edition_send_test", args=[edition.pk]),
                {"preview": "reader", "preview_email": SEARCHED})
    # A test sent before tests named readers by id.
    editorial_log(by=editor, objects=[edition], message=f"Sent a test of the digest of {ADDRESS} to x@y.org")
    # What the provider reported: a bounce quoting the address, and a report
    # on the reader's digest about a forwarding address that names it.
    _provider_report(recipient=ADDRESS, metadata={}, esp_event={"Email": ADDRESS, "Details": "mailbox full"},
                     description=f"The server could not deliver to {SEARCHED}")
    _provider_report(recipient="alias@forward.example", metadata={"delivery_id": str(delivery.pk)},
                     esp_event={"OriginalRecipient": ADDRESS}, description="forwarding failed")
    process_pending()
    assert Suppression.objects.get(lifted_at__isnull=True).reason == Suppression.Reason.BOUNCED
    # An import that named it (a finished one keeps its report, not its file).
    assert import_run(f"email\n{ADDRESS}\nnot-an-address\n{SEARCHED}\n", by=editor).already_present == 1
    # The search does find the address wherever it was put.
    assert {"subscribers.Subscriber.email", "newsletter.Delivery.error", "subscribers.Suppression.detail",
            "subscribers.Suppression.lifted_reason", "subscribers.ProviderEvent.payload",
            "subscribers.ProviderEvent.recipient", "admin.LogEntry.object_repr",
            "admin.LogEntry.change_message"} <= rows_mentioning(SEARCHED)
    log_entries = LogEntry.objects.count()

    token = token_make(subscriber=reader, purpose="preferences")
    response = fresh_client().post(f"/preferences/{token}/erase/")
    assert "Your data is deleted" in response.content.decode()

    assert rows_mentioning(SEARCHED) == set()
    assert rows_mentioning("Erase.Me@") == set()
    # The editors' record stays, about "reader #id".
    assert LogEntry.objects.count() == log_entries
    assert LogEntry.objects.get(object_repr=f"reader #{reader.pk}").change_message == (
        "Suppressed the address (manual)")
    assert not ProviderEvent.objects.exists()
    # What the law asks us to keep still works: the address is never mailed again.
    assert is_suppressed(ADDRESS) and is_blocked_for_signup(SEARCHED)
    assert set(Suppression.objects.values_list("reason", flat=True)) == {"manual", "bounced"}
    mail.outbox.clear()
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        fresh_client().post("/subscribe/", signup_data(SEARCHED))
    assert mail.outbox == [] and not Subscriber.objects.exists()


def test_an_erased_reader_without_history_leaves_one_hashed_row(django_capture_on_commit_callbacks):
    subscriber_signup(email=ADDRESS, choices=Choices.build(topics=["reasoning"]))
    reader = Subscriber.objects.get()
    fresh_client().post(f"/preferences/{token_make(subscriber=reader, purpose='preferences')}/erase/")
    assert rows_mentioning(SEARCHED) == set()
    assert list(Suppression.objects.values_list("reason", "detail")) == [
        ("erased", "data erased at the reader's request")]
