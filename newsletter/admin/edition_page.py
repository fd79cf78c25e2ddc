"""The edition page: one page per date with its papers in digest order, the
editor's note, pin/hide buttons, and where the edition stands (ingested,
curated, sending, sent) with its delivery counts."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from newsletter import curation
from newsletter.editions import edition_progress
from newsletter.models import Delivery, Edition, Paper
from newsletter.selectors import edition_papers

PAPER_OPS = {
    "pin": (curation.paper_pin, "pinned"),
    "unpin": (curation.paper_unpin, "unpinned"),
    "hide": (curation.paper_hide, "hidden"),
    "unhide": (curation.paper_unhide, "shown again"),
}


class EditionPagesMixin:
    """For EditionAdmin: extra URLs and the papers on the change page."""

    change_form_template = "admin/newsletter/edition/change_form.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("on/<str:day>/", view(self.edition_on_view), name="newsletter_edition_on"),
            path(
                "<int:edition_id>/paper/<int:paper_id>/<str:op>/",
                view(require_POST(self.paper_op_view)),
                name="newsletter_edition_paper_op",
            ),
            *super().get_urls(),
        ]

    def edition_on_view(self, request, day: str):
        """The edition of a date: its page if it exists, else the add form
        with the date filled in (a GET never creates anything)."""
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise Http404(f"{day!r} is not a date (YYYY-MM-DD)") from None
        edition = Edition.objects.filter(date=when).first()
        if edition:
            return redirect("admin:newsletter_edition_change", edition.pk)
        return redirect(reverse("admin:newsletter_edition_add") + f"?date={when.isoformat()}")

    def paper_op_view(self, request, edition_id: int, paper_id: int, op: str):
        edition = get_object_or_404(Edition, pk=edition_id)
        paper = get_object_or_404(Paper, pk=paper_id, featured_on=edition.date)
        if op not in PAPER_OPS:
            raise Http404(f"unknown operation {op!r}")
        paper_admin = self.admin_site.get_model_admin(Paper)
        if not paper_admin.has_change_permission(request, paper):
            raise PermissionDenied
        func, done = PAPER_OPS[op]
        if func(paper=paper, by=request.user):
            messages.success(request, f"“{paper.title[:80]}” {done}.")
        return redirect(reverse("admin:newsletter_edition_change", args=[edition.pk]) + "#papers")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        edition = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if edition is not None:
            delivery_list = reverse("admin:newsletter_delivery_changelist")
            progress = edition_progress(edition=edition)
            counts = progress.deliveries
            extra.update(
                progress=progress,
                papers=list(edition_papers(day=edition.date)),
                hidden_papers=list(
                    Paper.objects.filter(featured_on=edition.date, hidden=True).order_by(
                        "-upvotes", "arxiv_id"
                    )
                ),
                delivery_counts=[
                    (
                        label,
                        counts.get(status, 0),
                        f"{delivery_list}?edition__id__exact={edition.pk}&status__exact={status}",
                    )
                    for status, label in Delivery.Status.choices
                ],
                deliveries_url=f"{delivery_list}?edition__id__exact={edition.pk}",
                can_curate=self.admin_site.get_model_admin(Paper).has_change_permission(request),
                **self.preview_context(request, edition),
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)
