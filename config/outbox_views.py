"""Browse the local outbox (``EMAIL_PROVIDER=file``) while DEBUG is on."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import path


def _messages_dir() -> Path:
    return Path(settings.EMAIL_OUTBOX_DIR)


def _parse(path: Path) -> email.message.EmailMessage:
    with path.open("rb") as fh:
        return email.message_from_binary_file(fh, policy=policy.default)


_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_BASE = '<base target="_blank">'


def html_links_leave_the_frame(html: str) -> str:
    """The email's HTML with every link opening a new tab: inside the frame
    a link would load the page there, and this site (like most) refuses to
    be framed. Goes after <head> (or <html>), so a doctype stays first."""
    match = _HEAD.search(html) or _HTML.search(html)
    if match is None:
        return _BASE + html
    return html[: match.end()] + _BASE + html[match.end() :]


def outbox_list(request):
    folder = _messages_dir()
    files = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.exists() else []
    rows = []
    for file in files:
        msg = _parse(file)
        sent = msg["Date"].datetime if msg["Date"] else None
        rows.append({"name": file.stem, "subject": msg["Subject"], "to": msg["To"], "date": sent})
    return render(request, "outbox/list.html", {"rows": rows, "folder": folder})


def outbox_message(request, name: str):
    file = _messages_dir() / f"{name}.eml"
    # The name comes from the URL: refuse anything that is not a plain file
    # name inside the outbox.
    if "/" in name or "\\" in name or name.startswith(".") or not file.is_file():
        raise Http404("No such message")
    msg = _parse(file)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    return render(
        request,
        "outbox/message.html",
        {
            "name": name,
            "headers": list(msg.items()),
            "text": text_part.get_content() if text_part else "",
            "html": html_links_leave_the_frame(html_part.get_content()) if html_part else "",
        },
    )


urlpatterns = [
    path("", outbox_list, name="outbox"),
    path("<str:name>/", outbox_message, name="outbox-message"),
]
