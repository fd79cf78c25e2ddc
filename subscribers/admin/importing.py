"""The admin page that imports readers from an uploaded CSV file, and shows
an import's progress and report while a worker runs it."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from subscribers.importing import (
    CONSENT_SOURCES,
    IMPORT_MAX_BYTES,
    ImportFileError,
    subscriber_import_create,
)
from subscribers.models import SubscriberImport
from subscribers.tasks import import_enqueue

RECENT_IMPORTS = 10


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
    """GET shows the form and recent imports, or with ``?run=<id>`` one
    import's progress and report; POST stores the file, hands it to a worker
    and redirects to its progress (importing the same file again is
    harmless, so a resubmitted POST does no damage)."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    if "run" in request.GET:
        return _run_page(model_admin, request, request.GET["run"])
    form = ImportForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > IMPORT_MAX_BYTES:  # before reading it
                raise ImportFileError(f"the file is larger than {IMPORT_MAX_BYTES // 2**20} MB; split it")
            run = subscriber_import_create(
                data=upload.read(), filename=upload.name,
                consent_source=form.cleaned_data["consent_source"], by=request.user,
            )
        except ImportFileError as exc:
            error = f"Nothing was imported: {exc}."
        else:
            import_enqueue(import_id=run.pk)
            response = redirect(f"{request.path}?run={run.pk}")
            response.status_code = 303
            return response
    context = {
        **_context(model_admin, request),
        "form": form,
        "error": error,
        "recent": SubscriberImport.objects.select_related("by").defer("content").order_by("-pk")[
            :RECENT_IMPORTS
        ],
    }
    return TemplateResponse(request, "admin/subscribers/subscriber/import.html", context)


def _run_page(model_admin, request, run_id: str):
    run = (
        SubscriberImport.objects.select_related("by").defer("content").filter(pk=run_id).first()
        if run_id.isdigit() else None
    )
    if run is None:
        raise Http404("No such import.")
    finished = run.status in (SubscriberImport.Status.DONE, SubscriberImport.Status.STOPPED)
    pending = not CONSENT_SOURCES[run.consent_source].activates
    context = {
        **_context(model_admin, request),
        "run": run,
        "finished": finished,
        "percent": int(100 * run.rows_done / run.rows_total) if run.rows_total else 100,
        "more_problems": max(0, run.problem_count - len(run.problems)),
        "confirmations": run.created if pending else 0,
        "sweep_batch": settings.SUBSCRIBERS_SWEEP_BATCH,
        "sweep_minutes": max(1, settings.SUBSCRIBERS_SWEEP_EVERY_SECONDS // 60),
    }
    return TemplateResponse(request, "admin/subscribers/subscriber/import.html", context)


def _context(model_admin, request) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "title": "Import readers from CSV",
        "opts": model_admin.model._meta,
    }
