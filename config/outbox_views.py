"""Browse the local outbox (``EMAIL_PROVIDER=file``) while DEBUG is on."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render


def _messages_dir() -> Path:
    return Path(settings.EMAIL_OUTBOX_DIR)


def _parse(path: Path) -> email.message.EmailMessage:
    with path.open("rb") as fh:
        return email.message_from_binary_file(fh, policy=policy.default)


def outbox_list(request):
    folder = _messages_dir()
    files = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.exists() else []
    rows = []
    for path in files:
        msg = _parse(path)
        rows.append({"name": path.stem, "subject": msg["Subject"], "to": msg["To"], "date": msg["Date"]})
    return render(request, "outbox/list.html", {"rows": rows, "folder": folder})


def outbox_message(request, name: str):
    path = _messages_dir() / f"{name}.eml"
    # The name comes from the URL: refuse anything that is not a plain file
    # name inside the outbox.
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise Http404("No such message")
    msg = _parse(path)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    return render(
        request,
        "outbox/message.html",
        {
            "name": name,
            "headers": list(msg.items()),
            "text": text_part.get_content() if text_part else "",
            "html": html_part.get_content() if html_part else "",
        },
    )
