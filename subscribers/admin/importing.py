"""The admin page that imports readers from an uploaded CSV file."""

from __future__ import annotations

import io

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from subscribers.importing import CONSENT_SOURCES, ImportFileError, subscribers_import_csv

# The page lists this many problems; the rest are counted.
SHOWN_PROBLEMS = 500


class ImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header line; only 'email' is required. "
                           "Other columns: topics (slugs separated by ;), keywords, frequency, weekday, "
                           "timezone, send_hour, confirmed_at.")
    consent_source = forms.ChoiceField(
        choices=[(s.key, s.label) for s in CONSENT_SOURCES.values()],
        initial="none",
        help_text="How these readers agreed to receive the digest. Only a double opt-in elsewhere "
        "makes them active; otherwise they stay pending until they confirm.",
    )


def subscriber_import_view(model_admin, request):
    """GET shows the form; POST imports and shows the report (importing the
    same file again is harmless, so a resubmitted POST does no damage)."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report = error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        lines = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
        try:
            report = subscribers_import_csv(
                lines=lines,
                consent_source=form.cleaned_data["consent_source"],
                by=request.user,
                filename=upload.name,
            )
        except ImportFileError as exc:
            error = f"Nothing was imported: {exc}."
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Import readers from CSV",
        "opts": opts,
        "form": form,
        "report": report,
        "error": error,
        "problems": report.problems[:SHOWN_PROBLEMS] if report else [],
        "more_problems": max(0, len(report.problems) - SHOWN_PROBLEMS) if report else 0,
    }
    return TemplateResponse(request, "admin/subscribers/subscriber/import.html", context)
