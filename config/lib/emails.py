"""What every email shares: CSS inlined by premailer, and the message object."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.mail import EmailMultiAlternatives
from premailer import Premailer


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
