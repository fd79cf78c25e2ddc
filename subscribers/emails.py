"""The emails a reader gets about the subscription itself.

One email kind = three templates (``emails/<name>-subject.txt``,
``<name>-body.txt``, ``<name>-body.html``) and one small send function.
The HTML part is inlined by premailer once per process and template, with
placeholders where per-reader values go; each send only fills them in.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from config.lib.emails import css_inline, list_headers, list_id, list_unsubscribe_mailbox, message_build
from config.mail import bulk_message_options
from newsletter.digest.schedule import first_digest_at, reader_zone
from subscribers.choices import WEEKDAYS
from subscribers.models import Subscriber
from subscribers.suppression import is_blocked_for_signup, is_suppressed
from subscribers.tokens import CONFIRM_MAX_AGE, token_make

logger = logging.getLogger(__name__)

# Values that differ per reader, filled into the inlined HTML.
PERSONAL_FIELDS = {
    "confirm": ("confirm_url",),
    "welcome": ("preferences_url", "unsubscribe_url", "schedule", "topics"),
    "preferences-link": ("preferences_url", "unsubscribe_url"),
}


def site_url(path: str) -> str:
    return settings.SITE_URL + path


def confirm_url(subscriber: Subscriber) -> str:
    return site_url(reverse("confirm", args=[token_make(subscriber=subscriber, purpose="confirm")]))


def preferences_url(subscriber: Subscriber) -> str:
    return site_url(reverse("preferences", args=[token_make(subscriber=subscriber, purpose="preferences")]))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return site_url(reverse("unsubscribe", args=[token_make(subscriber=subscriber, purpose="unsubscribe")]))


def list_unsubscribe_headers(*, subscriber: Subscriber) -> dict[str, str]:
    """The list headers of a reader's list email (``config.lib.emails.list_headers``)."""
    token = token_make(subscriber=subscriber, purpose="unsubscribe")
    return list_headers(unsubscribe_url=site_url(reverse("unsubscribe", args=[token])), token=token,
                        mailbox=list_unsubscribe_mailbox(), list_id=list_id())


def _placeholder(field: str) -> str:
    return f"__DP_{field.upper()}__"


def _site_context() -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "POSTAL_ADDRESS": settings.POSTAL_ADDRESS,
        "confirm_days": CONFIRM_MAX_AGE.days,
    }


@functools.lru_cache(maxsize=32)
def _inlined_html(name: str, site_key: tuple) -> str:
    # site_key carries the settings the template reads, so a change of them
    # (tests, reloads) never serves a stale copy.
    context = {**_site_context(), **{field: _placeholder(field) for field in PERSONAL_FIELDS[name]}}
    html = render_to_string(f"emails/{name}-body.html", context)
    return css_inline(html)


def render_email(name: str, *, personal: dict[str, str]) -> tuple[str, str, str]:
    """Subject, text body and inlined HTML body of one email."""
    context = {**_site_context(), **personal}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    site_key = tuple(sorted((k, str(v)) for k, v in _site_context().items()))
    html = _inlined_html(name, site_key)
    for field in PERSONAL_FIELDS[name]:
        html = html.replace(_placeholder(field), escape(personal[field]))
    return subject, text, html


def _send(*, name: str, subscriber: Subscriber, personal: dict[str, str], headers: dict[str, str],
          bulk: bool) -> None:
    subject, text, html = render_email(name, personal=personal)
    message_build(
        subject=subject, text=text, html=html, to=subscriber.email, from_email=settings.DEFAULT_FROM_EMAIL,
        headers=headers, options=bulk_message_options().items() if bulk else (),
    ).send()


def confirmation_send(*, subscriber: Subscriber) -> bool:
    """Send the double opt-in email (transactional: no List-Unsubscribe).

    Returns False without sending if the address is suppressed for a reason
    a new signup may not override. Erased or unsubscribed addresses do get
    it: the reader asked to come back. Callers own at-most-once
    (``confirmations.confirmation_deliver``)."""
    if is_blocked_for_signup(subscriber.email):
        logger.info("confirmation not sent: subscriber %s is suppressed", subscriber.pk)
        return False
    _send(name="confirm", subscriber=subscriber, personal={"confirm_url": confirm_url(subscriber)},
          headers={}, bulk=False)
    return True


def welcome_send(*, subscriber: Subscriber) -> bool:
    """Send the welcome email (a list email, with List-Unsubscribe headers).
    Returns False without sending if the address is suppressed or the reader
    is not active."""
    if subscriber.status != Subscriber.Status.ACTIVE or is_suppressed(subscriber.email):
        logger.info("welcome not sent: subscriber %s is not mailable", subscriber.pk)
        return False
    personal = {
        "preferences_url": preferences_url(subscriber),
        "unsubscribe_url": unsubscribe_url(subscriber),
        "schedule": schedule_text(subscriber),
        "topics": ", ".join(t.name for t in subscriber.topics.all()) or "none yet",
    }
    _send(name="welcome", subscriber=subscriber, personal=personal,
          headers=list_unsubscribe_headers(subscriber=subscriber), bulk=True)
    return True


# Readers a fresh preferences link may go to: an unsubscribed reader may
# still want to download or delete their data (their links expire).
PREFERENCES_LINK_STATUSES = (Subscriber.Status.ACTIVE, Subscriber.Status.UNSUBSCRIBED)


def preferences_link_send(*, subscriber: Subscriber) -> bool:
    """Send a reader a fresh link to their preferences page (the reader asked
    for it: transactional, no List-Unsubscribe headers; the unsubscribe link
    is in the footer). Returns False without sending unless the reader is
    active or unsubscribed and the address is not blocked (a bounce, a
    complaint, an editor; a reader's own unsubscribe does not block, as for
    a confirmation). Callers own at-most-once
    (``confirmations.preferences_link_deliver``)."""
    if subscriber.status not in PREFERENCES_LINK_STATUSES or is_blocked_for_signup(subscriber.email):
        logger.info("preferences link not sent: subscriber %s is not mailable", subscriber.pk)
        return False
    personal = {"preferences_url": preferences_url(subscriber),
                "unsubscribe_url": unsubscribe_url(subscriber)}
    _send(name="preferences-link", subscriber=subscriber, personal=personal, headers={}, bulk=False)
    return True


def first_digest_text(subscriber: Subscriber, *, now: datetime) -> str:
    """"tomorrow, Saturday, at 08:00 (Europe/Berlin)": when a confirmed
    reader's first digest comes, in their own time zone. Empty once it has
    come, or while the reader is paused."""
    first = first_digest_at(subscriber=subscriber)
    if first is None or first < now or subscriber.paused:
        return ""
    local = first.astimezone(reader_zone(subscriber.timezone))
    days = (local.date() - now.astimezone(local.tzinfo).date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = f"tomorrow, {local:%A},"
    else:
        day = f"on {local:%A}, {local.day} {local:%B},"
    return f"{day} at {local:%H:%M} ({subscriber.timezone})"


def schedule_text(subscriber: Subscriber) -> str:
    """"every day at 07:00 (Europe/Paris)" or "every Monday at 07:00 (UTC)"."""
    when = (
        f"every {dict(WEEKDAYS)[subscriber.weekday]}"
        if subscriber.frequency == Subscriber.Frequency.WEEKLY
        else "every day"
    )
    return f"{when} at {subscriber.send_hour:02d}:00 ({subscriber.timezone})"
