from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from subscribers.addresses import NormalisedEmailField, email_key


def email_hash(email: str) -> str:
    """A hash of the address's ``email_key``: lets us recognise an address we
    must never mail again without storing the address itself. Not keyed with
    SECRET_KEY on purpose: rotating the key must not forget suppressions."""
    return hashlib.sha256(b"daily-papers-suppression:" + email_key(email).encode()).hexdigest()


class AddressField(models.EmailField):
    """An address column; model forms (the admin's) clean it to the normalised
    spelling (``subscribers.addresses``)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": NormalisedEmailField, **kwargs})


class Subscriber(models.Model):
    class Status(models.TextChoices):
        """Where a reader's status is written; no other application code
        writes it (the benchmark data generator, ``newsletter/benchdata.py``,
        inserts synthetic readers of every status):

        - pending: a web signup (``services.subscriber_signup``) or a CSV
          import (``importing.subscriber_import_run``);
        - active: the reader's confirmation (``services.subscriber_confirm``)
          or a CSV import that carries a confirmed opt-in over;
        - unsubscribed: the reader's own link
          (``services.subscriber_unsubscribe_and_suppress``), an editor
          (``editorial.subscribers_mark_unsubscribed``), or the provider's
          unsubscribe report (``provider_events.processing``);
        - bounced, complained: the provider's reports
          (``provider_events.processing``).
        """

        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class DigestFormat(models.TextChoices):
        FULL = "full", "Full: a card per paper with its summary and links"
        COMPACT = "compact", "Compact: titles, counts and why, one line or two each"

    email = AddressField(max_length=254)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    topics = models.ManyToManyField("newsletter.Topic", related_name="subscribers", blank=True)
    keywords = models.TextField(blank=True, help_text="Free-text keywords, comma-separated.")
    frequency = models.CharField(max_length=6, choices=Frequency.choices, default=Frequency.DAILY)
    digest_format = models.CharField(
        max_length=7, choices=DigestFormat.choices, default=DigestFormat.FULL,
        help_text="How the digest lays out its papers.",
    )
    weekday = models.PositiveSmallIntegerField(
        default=0, help_text="Weekly readers' day: 0 is Monday, 6 is Sunday."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    send_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour, 0–23.")
    paused = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # A confirmation email is owed while requested_at is set and sent_at is
    # empty; the task and the sweep claim it by setting sent_at (see
    # subscribers/confirmations.py).
    confirmation_requested_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # What an unsubscribed reader asked for when signing up again; applied
    # only when the new confirmation arrives, so nothing changes before that.
    pending_choices = models.JSONField(null=True, blank=True)
    welcome_sent_at = models.DateTimeField(null=True, blank=True)
    # An active reader asked for a fresh preferences link: owed and claimed
    # like the confirmation above.
    preferences_link_requested_at = models.DateTimeField(null=True, blank=True)
    preferences_link_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="uniq_subscriber_email_ci"),
            models.CheckConstraint(
                condition=models.Q(send_hour__gte=0, send_hour__lte=23), name="send_hour_0_23"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="weekday_0_6"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_hour"], name="subscriber_due_idx"),
            # The sweep's questions, answered from small partial indexes.
            models.Index(
                fields=["confirmation_requested_at"],
                condition=models.Q(
                    confirmation_requested_at__isnull=False, confirmation_sent_at__isnull=True
                ),
                name="subscriber_confirm_owed_idx",
            ),
            models.Index(
                fields=["confirmed_at"],
                condition=models.Q(welcome_sent_at__isnull=True, confirmed_at__isnull=False),
                name="subscriber_welcome_owed_idx",
            ),
            models.Index(
                fields=["preferences_link_requested_at"],
                condition=models.Q(
                    preferences_link_requested_at__isnull=False, preferences_link_sent_at__isnull=True
                ),
                name="subscriber_prefs_link_owed_idx",
            ),
            # The admin's signup-month and time-zone filters.
            models.Index(fields=["created_at"], name="subscriber_created_idx"),
            models.Index(fields=["timezone"], name="subscriber_timezone_idx"),
        ]

    def __str__(self):
        return self.email

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("\n", ",").split(",") if k.strip()]


class ConsentRecord(models.Model):
    """Proof of consent: what was shown, when, from where, through which path."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Signup"
        CONFIRMATION = "confirmation", "Confirmation"

    class Source(models.TextChoices):
        WEB = "web", "Web form"
        IMPORT = "import", "Import"
        ADMIN = "admin", "Admin"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    wording = models.TextField(help_text="The exact consent text shown.")
    wording_version = models.CharField(max_length=20)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.kind} via {self.source} at {self.created_at:%Y-%m-%d %H:%M}"


class Suppression(models.Model):
    """Addresses we must not mail, stored as hashes so they survive erasure."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINED = "complained", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed (by the reader or at the provider)"
        INVALID = "invalid", "Invalid recipient"
        ERASED = "erased", "Data erased at the reader's request"
        MANUAL = "manual", "Suppressed by an editor"

    email_hash = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_reason = models.CharField(max_length=500, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email_hash"],
                condition=models.Q(lifted_at__isnull=True),
                name="uniq_active_suppression",
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} ({self.email_hash[:10]}…)"


class ProviderEvent(models.Model):
    """One event reported by the email provider's tracking webhook, stored
    once. The webhook only stores; ``subscribers.provider_events.processing.provider_event_process``
    applies it (reader status, suppression) and stamps ``processed_at``."""

    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce"
        DEFERRED = "deferred", "Deferred"
        COMPLAINT = "complaint", "Spam complaint"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed at the provider"
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        FAILED = "failed", "Failed: our message or account"
        OTHER = "other", "Other"

    provider = models.CharField(max_length=30)
    # sha256 of the provider's event id (or of the payload when it has none)
    # and the recipient: the same report posted twice has the same key.
    event_key = models.CharField(max_length=64)
    event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=20, help_text="Anymail's normalized event type.")
    reject_reason = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, db_index=True)
    recipient = models.CharField(max_length=254)
    recipient_hash = models.CharField(max_length=64)
    message_id = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=500, blank=True)
    mta_response = models.CharField(max_length=1000, blank=True)
    click_url = models.CharField(max_length=2000, blank=True, help_text="The link clicked (click events).")
    payload = models.JSONField(default=dict, blank=True, help_text="The provider's event, as received.")
    occurred_at = models.DateTimeField(null=True, blank=True, help_text="As reported by the provider.")
    received_at = models.DateTimeField(default=timezone.now)
    delivery = models.ForeignKey(
        "newsletter.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="provider_events",
    )
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_events"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True, help_text="What processing did.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed processing attempts.")
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_key"], name="uniq_provider_event"),
        ]
        indexes = [
            models.Index(
                fields=["recipient_hash", "kind", "received_at"], name="provider_event_recipient_idx"
            ),
            models.Index(
                fields=["received_at"], condition=models.Q(processed_at__isnull=True),
                name="provider_event_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} #{self.pk}"


class SubscriberImport(models.Model):
    """A CSV file of readers being imported (``subscribers/importing.py``).

    A worker (or the ``import_subscribers`` command) imports it a chunk of
    rows at a time; each chunk's readers and the progress below are committed
    together, so a run that stops resumes after the last whole chunk and no
    row is ever half-applied. The file is kept only until the import ends:
    it holds addresses."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"

    filename = models.CharField(max_length=200)
    consent_source = models.CharField(max_length=20)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    content = models.BinaryField(blank=True, help_text="The uploaded file; emptied when the import ends.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True, help_text="Known once the file is read.")
    rows_done = models.PositiveIntegerField(default=0)
    # The last line of the file whose row is applied: where a resumed run starts.
    line_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    problem_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="The first [line, reason] pairs.")
    error = models.CharField(max_length=500, blank=True, help_text="Why the import stopped.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Touched with every chunk: a running import left alone for long lost its worker.
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"], name="subscriber_import_status_idx")]

    def __str__(self):
        return f"CSV import {self.filename} ({self.get_status_display().lower()})"

    def summary(self) -> str:
        return (
            f"{self.created} imported, {self.already_present} already readers (left as they were), "
            f"{self.problem_count} rows not imported"
        )
