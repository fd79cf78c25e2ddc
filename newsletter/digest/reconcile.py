"""Settling sends that got no answer, by asking the provider.

A send whose answer never came (read timeout, connection dropped after the
request was written: ``ambiguous``) or whose worker died before recording
it (``interrupted``) may or may not have been delivered. Where the provider
can be searched for a message (``provider_lookup``: Postmark's outbound
message search, filtered on the ``delivery_id`` metadata every digest
carries), such a Delivery is not final: it waits ``uncertain`` for
DIGEST_RECONCILE_AFTER_SECONDS after its send was claimed (the search is not
immediately consistent), then the sweep looks it up:

* found              -> sent, with the provider's message id and time
* certainly absent   -> pending again, marked ``resend``: sent once more. A
                        second send that gets no answer either ends failed for
                        good (``failures``): never a third attempt.
* the provider could -> asked again DIGEST_RECONCILE_AFTER_SECONDS later, until
  not say              DIGEST_RECONCILE_GIVE_UP_SECONDS after the send: then
                       failed, with the reason it had.

A provider event that names the Delivery (delivered, bounced, opened...)
settles it as sent at once: the provider had it (``delivery_settle_by_event``).
Providers without a search (SMTP, the outbox, the rest) are untouched:
their unanswered sends end ``failed`` as before.

Each lookup is claimed first (a conditional UPDATE moving the row's
``next_attempt_at`` past the lookup), so two sweeps at once never both act
on a Delivery; every outcome is written only from ``uncertain``, so a late
event or a late answer that settled it meanwhile wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin

import requests
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from newsletter.digest.failures import AMBIGUOUS, INTERRUPTED, delivery_finish
from newsletter.models import Delivery

log = logging.getLogger(__name__)
S = Delivery.Status
R = Delivery.Reconciled
RECONCILE_LIMIT = 1000  # lookups per sweep: one HTTP request each
SECOND_SEND_UNANSWERED = "the second send got no answer either: never sent again"


@dataclass(frozen=True)
class Lookup:
    """What the provider said about one message."""

    kind: str  # "found", "absent" or "unsure"
    message_id: str = ""
    at: datetime | None = None
    detail: str = ""
    # The search itself is failing (down, refusing us): ask nothing more this sweep.
    stop: bool = False


class PostmarkLookup:
    """Postmark's outbound message search: ``GET /messages/outbound`` with
    the server token, filtered by recipient, message stream and the
    ``metadata_delivery_id`` every digest carries. Answers ``TotalCount``
    and ``Messages`` [{MessageID, ReceivedAt, Metadata, ...}]."""

    name = "postmark"

    def __init__(self):
        self.token = get_anymail_setting("server_token", esp_name="postmark")
        self.url = urljoin(
            get_anymail_setting("api_url", esp_name="postmark", default="https://api.postmarkapp.com/"),
            "messages/outbound",
        )
        # One sweep asks up to RECONCILE_LIMIT times: one kept-alive connection, not a handshake each.
        self.session = requests.Session()

    def find(self, *, delivery_id: int, email: str) -> Lookup:
        params = {
            "recipient": email, "messagestream": settings.POSTMARK_MESSAGE_STREAM,
            "metadata_delivery_id": str(delivery_id), "count": 50, "offset": 0,
        }
        headers = {"Accept": "application/json", "X-Postmark-Server-Token": self.token}
        try:
            answer = self.session.get(self.url, params=params, headers=headers,
                                      timeout=settings.EMAIL_TIMEOUT)
        except requests.RequestException as exc:
            return Lookup("unsure", detail=f"search failed: {exc.__class__.__name__}", stop=True)
        if answer.status_code != 200:
            return Lookup("unsure", detail=f"search answered {answer.status_code}: {answer.text[:100]}",
                          stop=answer.status_code >= 500 or answer.status_code in (401, 403, 429))
        try:
            body = answer.json()
            total, messages = int(body["TotalCount"]), list(body["Messages"])
        except (ValueError, KeyError, TypeError):
            return Lookup("unsure", detail="search answer unreadable")
        # Trust the metadata filter only as far as the answer shows it.
        ours = [m for m in messages if isinstance(m, dict)
                and str((m.get("Metadata") or {}).get("delivery_id", "")) == str(delivery_id)]
        if ours:
            first = min(ours, key=lambda m: str(m.get("ReceivedAt", "")))
            try:
                at = parse_datetime(str(first.get("ReceivedAt", "")))
            except ValueError:
                at = None
            # Postmark's times carry their offset; one without is no time we can trust.
            at = at if at is not None and not timezone.is_naive(at) else None
            return Lookup("found", message_id=str(first.get("MessageID", ""))[:200], at=at)
        if total == 0 and not messages:
            return Lookup("absent")
        return Lookup("unsure", detail=f"search found {total} messages, none with this delivery id")


LOOKUPS = {"postmark": PostmarkLookup}


def provider_lookup():
    """The configured provider's message search, or None when it has none."""
    kind = LOOKUPS.get(settings.EMAIL_PROVIDER.lower())
    return kind() if kind is not None else None


def reconcilable() -> bool:
    """Whether unanswered sends wait ``uncertain`` for a lookup (else they end failed)."""
    return settings.EMAIL_PROVIDER.lower() in LOOKUPS


def unanswered_record(*, row, reason: str, error: str) -> str:
    """Write down a claimed send that got no answer (``row``: a Delivery or
    sending's plain copy): ``uncertain`` to be looked up, where the provider
    can be searched and this was not already the second send; else failed
    with ``reason``. Returns the status written ("" if someone else moved the row)."""
    if reconcilable() and row.reconciled != R.RESEND:
        status, note = S.UNCERTAIN, f"{reason[:150]}; to be looked up at the provider"
    else:
        status, note = S.FAILED, SECOND_SEND_UNANSWERED if row.reconciled == R.RESEND else ""
    extra = {"reconcile_note": note} if note else {}
    return status if delivery_finish(row=row, status=status, reason=reason, error=error, **extra) else ""


def interrupted_record(*, stale: datetime, now: datetime) -> int:
    """Sends claimed before ``stale`` whose answer was never recorded (their
    worker died): uncertain where the provider can be searched (not after a
    second send), else failed ``interrupted`` as always. Returns how many."""
    error = "claimed for sending but no answer was recorded; it may or may not have been delivered"
    stuck = Delivery.objects.filter(status=S.SENDING, claimed_at__lt=stale)
    looked_up = 0
    if reconcilable():
        looked_up = stuck.exclude(reconciled=R.RESEND).update(
            status=S.UNCERTAIN, reason=INTERRUPTED, error=error, next_attempt_at=None, updated_at=now,
            reconcile_note=f"{INTERRUPTED}; to be looked up at the provider",
        )
    second = Case(When(reconciled=R.RESEND, then=Value(SECOND_SEND_UNANSWERED)), default=F("reconcile_note"))
    ended = stuck.update(status=S.FAILED, reason=INTERRUPTED, error=error, updated_at=now,
                         reconcile_note=second)
    return looked_up + ended


@dataclass
class Reconciliation:
    found: list[int] = field(default_factory=list)
    resend: list[int] = field(default_factory=list)  # pending again, for the caller to enqueue
    waiting: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)


def _due(now: datetime):
    asked_after = now - timedelta(seconds=settings.DIGEST_RECONCILE_AFTER_SECONDS)
    return Q(status=S.UNCERTAIN, claimed_at__lte=asked_after) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def deliveries_reconcile(*, now: datetime | None = None, limit: int = RECONCILE_LIMIT) -> Reconciliation:
    """Look up the uncertain Deliveries whose time has come and settle them
    (see the module docstring). Returns what happened; ``resend`` holds the
    ids put back to pending, which the caller enqueues. Safe to run twice at
    once: each row is claimed before its lookup."""
    now = now or timezone.now()
    done = Reconciliation()
    lookup = provider_lookup()
    if lookup is None:
        return done
    rows = list(
        Delivery.objects.filter(_due(now)).order_by("pk")
        .values_list("pk", "subscriber__email", "reason", "claimed_at")[:limit]
    )
    # Long enough for the lookup's own timeout: a sweep that dies mid-lookup
    # leaves the row to the next one after this.
    lease = now + timedelta(seconds=max(60, 3 * settings.EMAIL_TIMEOUT))
    for pk, email, reason, claimed_at in rows:
        if not Delivery.objects.filter(_due(now), pk=pk).update(next_attempt_at=lease):
            continue  # another sweep has it, or it was settled meanwhile
        answer = lookup.find(delivery_id=pk, email=email)
        _settle(pk=pk, reason=reason, claimed_at=claimed_at, answer=answer, now=now, done=done)
        if answer.stop:
            # A thousand timeouts in a row would hold the sweep for hours.
            log.warning("reconcile: the provider's search is failing (%s); the rest wait", answer.detail)
            break
    if rows:
        log.warning("reconcile: %s found, %s sent again, %s waiting, %s given up",
                    len(done.found), len(done.resend), len(done.waiting), len(done.gave_up))
    return done


def _settle(*, pk: int, reason: str, claimed_at, answer: Lookup, now: datetime, done: Reconciliation) -> None:
    uncertain = Delivery.objects.filter(pk=pk, status=S.UNCERTAIN)
    stamp = timezone.now()
    if answer.kind == "found":
        at = answer.at or stamp
        if uncertain.update(status=S.SENT, provider_message_id=answer.message_id, sent_at=at, reason="",
                            next_attempt_at=None, reconciled=R.LOOKUP, updated_at=stamp,
                            reconcile_note=f"{reason[:150]}; found at the provider ({at:%Y-%m-%d %H:%M:%S})"):
            done.found.append(pk)
        return
    if answer.kind == "absent":
        # The one case where a second attempt is safe; ``reconciled`` marks it
        # so that a second unanswered send is never followed by a third.
        if uncertain.exclude(reconciled=R.RESEND).update(
            status=S.PENDING, reason="", next_attempt_at=None, reconciled=R.RESEND, updated_at=stamp,
            reconcile_note=f"{reason[:150]}; not at the provider: sent again",
        ):
            done.resend.append(pk)
        return
    give_up_at = claimed_at + timedelta(seconds=settings.DIGEST_RECONCILE_GIVE_UP_SECONDS)
    if now >= give_up_at:
        note = f"{reason[:100]}; the provider could not say whether it had it: {answer.detail}"
        ended = uncertain.update(status=S.FAILED, next_attempt_at=None, updated_at=stamp,
                                 reconcile_note=note[:300])
        if ended:
            done.gave_up.append(pk)
        return
    later = now + timedelta(seconds=settings.DIGEST_RECONCILE_AFTER_SECONDS)
    uncertain.update(next_attempt_at=min(later, give_up_at), updated_at=stamp,
                     reconcile_note=f"{reason[:150]}; asked the provider: {answer.detail}"[:300])
    done.waiting.append(pk)


def delivery_settle_by_event(*, delivery_id: int, message_id: str, at: datetime | None, what: str) -> bool:
    """A provider event named this Delivery: if its send got no answer, the
    provider had it after all, so it is sent. Covers an unanswered send
    waiting for its lookup, one whose lookup found nothing and is about to be
    sent again (not yet claimed: the event is about the first send), and,
    with providers that cannot be searched, one that ended failed as
    ambiguous or interrupted. True if it settled it."""
    unanswered = (
        Q(status=S.UNCERTAIN)
        | Q(status=S.PENDING, reconciled=R.RESEND)
        | Q(status=S.FAILED, reason__startswith=AMBIGUOUS)
        | Q(status=S.FAILED, reason=INTERRUPTED)
    )
    row = Delivery.objects.filter(unanswered, pk=delivery_id).values_list("reason", flat=True).first()
    if row is None:
        return False
    now = timezone.now()
    fields = {"provider_message_id": message_id[:200]} if message_id else {}
    return bool(
        Delivery.objects.filter(unanswered, pk=delivery_id).update(
            status=S.SENT, sent_at=at or now, reason="", next_attempt_at=None, reconciled=R.EVENT,
            updated_at=now, reconcile_note=f"{row[:150] or 'no answer'}; settled by {what}"[:300], **fields,
        )
    )
