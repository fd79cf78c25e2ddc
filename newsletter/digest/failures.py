"""What a failed send means, and how it is written down: the vocabulary that
sending one digest (``send``) and many at a time (``sender_pool``) share.

* transient failure   -> back to pending with ``next_attempt_at`` (exponential
  (network, timeout,     backoff with jitter, at least the provider's
  429, 5xx)              Retry-After); after DIGEST_MAX_ATTEMPTS, failed
* recipient refused   -> failed ("rejected: <provider's reason>"), address suppressed
* anything else       -> failed with the error; never retried blindly

A read timeout, or a connection dropped after the request was written, is
ambiguous: the provider may have accepted the message and failed to answer
(the fault tests show it: a retry then sends a second digest). The provider
API has no idempotency key, and its message search is not immediately
consistent, so nothing can tell a retry at once that it is safe: such a
digest is "ambiguous: ..." (it may have gone out), like an interrupted one.
Where the provider can be searched it waits ``uncertain`` and is looked up
later (``reconcile``); elsewhere it ends ``failed``. Only failures where the
request certainly never left (connection refused, connect timeout) and
answers the provider did give (429, 5xx) are retried at once.
"""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone
from urllib3.exceptions import ClosedPoolError, MaxRetryError, NewConnectionError

from config.lib.http import backoff_seconds, retry_after_seconds
from newsletter.digest.history import REFUSED_PREFIX
from newsletter.models import Delivery
from subscribers.models import Suppression
from subscribers.suppression import suppression_add

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
AMBIGUOUS = "ambiguous"
RECORD_SENT_ATTEMPTS = 6  # about 17 s of waiting in all
S = Delivery.Status


@dataclass(frozen=True)
class Verdict:
    kind: str  # "transient", "rejected" or "failed"
    reason: str
    retry_after: float | None = None
    stop_chunk: bool = False  # the provider wants us to slow down
    suppress: str | None = None  # Suppression.Reason for a refused recipient
    unanswered: bool = False  # the request left and no answer came: it may have been delivered


def _provider_message(exc: AnymailError) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            return (response.text or "")[:300]
        if isinstance(body, list) and body:
            body = body[0]
        if isinstance(body, dict):
            code = body.get("ErrorCode")
            message = str(body.get("Message", ""))
            return f"ErrorCode {code}: {message}" if code is not None else message
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def _retry_after(exc: AnymailError) -> float | None:
    response = getattr(exc, "response", None)
    return retry_after_seconds(response.headers.get("Retry-After") if response is not None else None)


def _never_sent(cause: BaseException) -> bool:
    """True when requests failed before the request could reach the
    provider: no connection was made, so a retry cannot duplicate."""
    if isinstance(cause, requests.ConnectTimeout):
        return True
    inner = cause.args[0] if isinstance(cause, requests.ConnectionError) and cause.args else None
    if isinstance(inner, ClosedPoolError):
        return True
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError)


def failure_classify(*, exc: Exception, message, email: str) -> Verdict:
    """What a send exception means for the Delivery."""
    if isinstance(exc, AnymailRecipientsRefused):
        status = getattr(getattr(message, "anymail_status", None), "recipients", {}).get(email)
        kind = getattr(status, "status", "rejected")
        suppress = Suppression.Reason.INVALID if kind == "invalid" else Suppression.Reason.BOUNCED
        return Verdict("rejected", f"{REFUSED_PREFIX}: {_provider_message(exc)}", suppress=suppress)
    if isinstance(exc, AnymailInvalidAddress):
        return Verdict("rejected", f"{REFUSED_PREFIX}: invalid address", suppress=Suppression.Reason.INVALID)
    if isinstance(exc, AnymailAPIError):
        code = exc.status_code
        if code is None:  # network error or timeout: the request never got an answer
            cause = exc.__cause__ or exc
            if _never_sent(cause):
                return Verdict("transient", f"network: {cause.__class__.__name__}")
            # No email twice beats a digest lost: see the module docstring.
            return Verdict("failed", f"{AMBIGUOUS}: {cause.__class__.__name__} after the request was sent "
                                     "(may have been delivered; not retried)", unanswered=True)
        if code == 429:
            return Verdict(
                "transient", f"rate limited: {_provider_message(exc)}",
                retry_after=_retry_after(exc), stop_chunk=True,
            )
        if code >= 500 or code == 408:
            return Verdict("transient", f"provider error {code}", retry_after=_retry_after(exc))
        if 200 <= code < 300:
            # Accepted, but the answer made no sense: it may have gone out.
            reason = f"unreadable provider answer (may have been sent): {_provider_message(exc)}"
            return Verdict("failed", reason)
        return Verdict("failed", f"{REFUSED_PREFIX} by provider ({code}): {_provider_message(exc)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return Verdict("rejected", f"{REFUSED_PREFIX}: {exc.recipients}", suppress=Suppression.Reason.INVALID)
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)):
        return Verdict("transient", f"network: {exc.__class__.__name__}")
    return Verdict("failed", f"could not send: {exc.__class__.__name__}: {exc}")


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half to full), never sooner than the
    provider's Retry-After."""
    return backoff_seconds(
        attempt=attempts, base=settings.DIGEST_RETRY_BASE_SECONDS, ceiling=settings.DIGEST_RETRY_MAX_SECONDS,
        retry_after=retry_after, jitter=True,
    )


def delivery_finish(*, row, status: str, reason: str = "", error: str = "", **extra) -> bool:
    """Move a row (a Delivery, or sending's plain copy of one) to a final
    state, only from the state we left it in. False: someone else moved it."""
    frm = S.SENDING if row.status == S.SENDING else S.PENDING
    return bool(
        Delivery.objects.filter(pk=row.pk, status=frm).update(
            status=status, reason=reason[:200], error=error[:4000], updated_at=timezone.now(), **extra
        )
    )


def failure_record(*, row, verdict: Verdict, exc: Exception, attempts: int, outcome) -> datetime | None:
    """Write down a failed send of a claimed row: back to pending for a
    later retry (transient, attempts left) or failed with the reason (and
    the address suppressed when the recipient was refused). Notes the row
    in ``outcome`` (send.ChunkOutcome). Returns the time the whole chunk
    must wait for when the provider asked to slow down, else None."""
    error = f"{verdict.reason}\n{exc}"
    if verdict.kind == "transient" and attempts < settings.DIGEST_MAX_ATTEMPTS:
        delay = retry_delay(attempts=attempts, retry_after=verdict.retry_after)
        retry_at = timezone.now() + timedelta(seconds=delay)
        Delivery.objects.filter(pk=row.pk, status=S.SENDING).update(
            status=S.PENDING, next_attempt_at=retry_at, error=error[:4000], updated_at=timezone.now()
        )
        outcome.deferred[row.pk] = retry_at
        log.info("delivery %s: %s; retry at %s", row.pk, verdict.reason, retry_at)
        return retry_at if verdict.stop_chunk else None
    reason = verdict.reason
    if verdict.kind == "transient":
        reason = f"gave up after {attempts} attempts: {verdict.reason}"
    if delivery_finish(row=row, status=S.FAILED, reason=reason, error=error):
        outcome.failed.append(row.pk)
    if verdict.suppress:
        suppression_add(email=row.email, reason=verdict.suppress, detail=verdict.reason)
    log.warning("delivery %s failed: %s", row.pk, reason)
    return None


def database_retrying(write, *, what: str) -> None:
    """Run ``write`` (an idempotent database write), riding out a database
    restart of a few seconds: were the record of an accepted digest lost,
    the sweep would end a delivered digest as interrupted (the
    Postgres-restart fault test showed it)."""
    for attempt in range(RECORD_SENT_ATTEMPTS):
        try:
            write()
            return
        except (OperationalError, InterfaceError):
            # Inside a transaction a fresh connection would lose it: give up.
            if attempt == RECORD_SENT_ATTEMPTS - 1 or db_connection.in_atomic_block:
                raise
            log.warning("%s: the database is away, writing it again", what)
            db_connection.close()  # the next query opens a fresh connection
            time.sleep(min(0.5 * 2**attempt, 5.0))
