""""Preview as…" and "Send test to me" on the edition page.

The preview is chosen by query parameters on the edition page itself (a GET
changes nothing), so a preview has a URL an editor can reload or share:

    ?preview=reader&preview_email=ada@example.org
    ?preview=topics&preview_topic=3&preview_topic=7&preview_keywords=LoRA

"Send test to me" POSTs the same parameters (with the CSRF token) and comes
back to that URL with a message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from newsletter.digest.preview import (
    Preview,
    PreviewError,
    digest_test_send,
    preview_for_reader,
    preview_for_topics,
    preview_reader_find,
)
from newsletter.models import Edition, Topic

PARAMS = ("preview", "preview_email", "preview_topic", "preview_keywords")


def _choice(data) -> dict:
    """The editor's choice from GET or POST data, as plain values."""
    return {
        "mode": data.get("preview", ""),
        "email": data.get("preview_email", "").strip(),
        "topic_ids": data.getlist("preview_topic"),
        "keywords": data.get("preview_keywords", "").strip(),
    }


def _query(choice: dict) -> str:
    pairs = [("preview", choice["mode"])]
    if choice["mode"] == "reader":
        pairs.append(("preview_email", choice["email"]))
    else:
        pairs += [("preview_topic", t) for t in choice["topic_ids"]]
        pairs.append(("preview_keywords", choice["keywords"]))
    return urlencode(pairs)


# Previewing as a reader shows (and searches) readers' addresses and what
# they follow: readers' data, so it takes the permission to view readers.
READERS_PERMISSION = "subscribers.view_subscriber"


def preview_make(*, edition: Edition, choice: dict, editor) -> tuple[Preview | None, list]:
    """The preview the editor asked for, or (None, candidates) when their
    search matched several readers or none. Raises PreviewError on bad input
    or when the editor may not view readers and asked for a reader's."""
    if choice["mode"] == "reader":
        if not editor.has_perm(READERS_PERMISSION):
            raise PreviewError("previewing as a reader needs the permission to view readers")
        subscriber, candidates = preview_reader_find(query=choice["email"])
        if subscriber is None:
            return None, candidates
        return preview_for_reader(edition=edition, subscriber=subscriber), []
    if choice["mode"] == "topics":
        try:
            topic_ids = [int(t) for t in choice["topic_ids"]]
        except ValueError:
            raise PreviewError("topics are chosen by their ids") from None
        email = (getattr(editor, "email", "") or "").strip() or "editor@invalid"
        return preview_for_topics(
            edition=edition, topic_ids=topic_ids, keywords=choice["keywords"], email=email
        ), []
    raise PreviewError("choose a reader or a selection of topics to preview")


class EditionPreviewMixin:
    """For EditionAdmin (with EditionPagesMixin): the preview block's context
    and the send-test URL."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:edition_id>/send-test/",
                view(require_POST(self.send_test_view)),
                name="newsletter_edition_send_test",
            ),
            *super().get_urls(),
        ]

    def preview_context(self, request, edition: Edition) -> dict:
        choice = _choice(request.GET)
        context = {
            "preview_choice": choice,
            "preview_topics": list(Topic.objects.filter(active=True).order_by("position", "name")),
            "preview_query": "",
            "preview": None,
            "preview_candidates": [],
            "preview_error": "",
            "preview_readers_allowed": request.user.has_perm(READERS_PERMISSION),
        }
        if not choice["mode"]:
            return context
        try:
            preview, candidates = preview_make(edition=edition, choice=choice, editor=request.user)
        except PreviewError as exc:
            context["preview_error"] = str(exc)
            return context
        page = reverse("admin:newsletter_edition_change", args=[edition.pk])
        context.update(
            preview=preview,
            preview_query=_query(choice),
            preview_candidates=[
                (s.email, f"{page}?{_query({**choice, 'email': s.email})}#preview") for s in candidates
            ],
        )
        if preview is None and not candidates:
            context["preview_error"] = f"no reader’s address contains “{choice['email']}”"
        return context

    def send_test_view(self, request, edition_id: int):
        edition = get_object_or_404(Edition, pk=edition_id)
        if not self.has_view_permission(request, edition):
            raise PermissionDenied
        choice = _choice(request.POST)
        try:
            preview, _ = preview_make(edition=edition, choice=choice, editor=request.user)
            if preview is None:
                raise PreviewError("choose one reader (their full address) before sending a test")
            to = digest_test_send(preview=preview, editor=request.user)
        except PreviewError as exc:
            messages.error(request, f"No test was sent: {exc}.")
        else:
            messages.success(request, f"A test of the digest of {preview.label} was sent to {to}.")
        page = reverse("admin:newsletter_edition_change", args=[edition.pk])
        return redirect(f"{page}?{_query(choice)}#preview")
