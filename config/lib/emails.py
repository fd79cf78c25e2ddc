"""What every email shares: CSS inlined by premailer, the list headers, and the message object."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from premailer import Premailer

ONE_CLICK = "List-Unsubscribe=One-Click"


def css_inline(html: str) -> str:
    """``html`` with its ``<style>`` rules inlined as style attributes, for
    mail clients that ignore style blocks; ``@media`` rules stay in a
    ``<style>`` block. Takes milliseconds: run it once per template or
    edition, never once per reader."""
    inlined = Premailer(
        html,
        base_url=None,
        remove_classes=False,  # the dark-mode and phone @media rules select by class
        strip_important=False,
        disable_validation=True,
        allow_network=False,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    # lxml drops a doctype not written as it writes them ("<!doctype html>");
    # without one some clients render in quirks mode.
    if _has_doctype(html) and not _has_doctype(inlined):
        inlined = "<!doctype html>\n" + inlined
    return inlined


def _has_doctype(html: str) -> bool:
    return html.lstrip()[:9].lower() == "<!doctype"


def list_id() -> str:
    """The List-Id of every list email (the digests and the welcome): the site's
    name and a list address under its host, e.g. ``Daily Papers <digest.papers.example.org>``."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"{settings.SITE_NAME} <digest.{host}>"


def list_unsubscribe_mailbox() -> str:
    """The address in the List-Unsubscribe ``mailto:`` (``LIST_UNSUBSCRIBE_MAILTO``)."""
    return settings.LIST_UNSUBSCRIBE_MAILTO


def list_headers(*, unsubscribe_url: str, token: str, mailbox: str, list_id: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 / RFC 2919 headers every list email carries:
    the one-click HTTPS address first, a ``mailto:`` fallback whose subject
    names the reader's unsubscribe ``token`` (none in a preview), the
    one-click POST, and the list's id. Plain string work: the digest calls
    it once per reader, with ``mailbox`` and ``list_id`` read once per edition."""
    # Tokens are URL-safe (base64url, "." and ":"), so only the space needs encoding.
    subject = f"unsubscribe%20{token}" if token else "unsubscribe"
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:{mailbox}?subject={subject}>",
        "List-Unsubscribe-Post": ONE_CLICK,
        "List-Id": list_id,
    }


def message_build(
    *,
    subject: str,
    text: str,
    html: str,
    to: str,
    from_email: str,
    headers: dict[str, str] | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, str] | None = None,
    options: Iterable[tuple[str, object]] = (),
) -> EmailMultiAlternatives:
    """One email as the backends take it: the text body with the HTML as its
    alternative, extra headers, anymail's ``tags`` and ``metadata`` (left
    unset when None) and per-provider attributes (``options``, e.g.
    ``config.mail.bulk_message_options().items()``). Sends nothing."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_email, to=[to], headers=headers
    )
    message.attach_alternative(html, "text/html")
    if tags is not None:
        message.tags = tags
    if metadata is not None:
        message.metadata = metadata
    for name, value in options:
        setattr(message, name, value)
    return message
