from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from newsletter.models import WorkerPing
from newsletter.ops import worker_last_seen, worker_ping_request


@staff_member_required
@require_http_methods(["GET", "POST"])
def worker_status(request):
    """Shows when a Celery worker last answered; POST sends a fresh ping."""
    if request.method == "POST":
        worker_ping_request()
        return redirect("admin-worker")
    context = {
        **admin.site.each_context(request),
        "title": "Background worker",
        "last_seen": worker_last_seen(),
        "recent": WorkerPing.objects.all()[:10],
    }
    return TemplateResponse(request, "admin/worker_status.html", context)
