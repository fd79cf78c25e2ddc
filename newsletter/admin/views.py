from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods

from newsletter.admin import dashboard
from newsletter.admin.charts import Threshold, svg_bars
from newsletter.models import Delivery, Edition, WorkerPing
from newsletter.selectors import worker_last_seen
from newsletter.tasks import worker_ping_request


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


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.2f}%"


@staff_member_required
@require_GET
def dashboard_view(request):
    """Readers, sends, bounces and complaints over the last 30 days."""
    stats = dashboard.dashboard_stats()
    labels = [f"{d.day:%m-%d}" for d in stats.days]

    def chart(title, values, **kwargs):
        return svg_bars(values=values, labels=labels, title=title, **kwargs)

    charts = [
        chart("Active readers", [d.active for d in stats.days]),
        chart("New confirmations", [d.confirmations for d in stats.days], color="#2e7d32"),
        chart("Unsubscribes", [d.unsubscribes for d in stats.days], color="#8d6e63"),
        chart("Emails sent", [d.sent for d in stats.days]),
        chart(
            "Bounce rate", [d.bounce_rate for d in stats.days], percent=True, color="#ef6c00",
            thresholds=[
                Threshold(dashboard.BOUNCE_WARN, "2% keep under", "#ef6c00"),
                Threshold(dashboard.BOUNCE_MAX, "5% provider review", "#c62828"),
            ],
        ),
        chart(
            "Complaint rate", [d.complaint_rate for d in stats.days], percent=True, color="#ad1457",
            thresholds=[
                Threshold(dashboard.COMPLAINT_WARN, "0.1% keep under", "#ef6c00"),
                Threshold(dashboard.COMPLAINT_MAX, "0.3% never reach", "#c62828"),
            ],
        ),
    ]
    last_edition = (
        Edition.objects.filter(Exists(Delivery.objects.filter(edition=OuterRef("pk"))))
        .order_by("-date")
        .first()
    )
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "last_edition": last_edition,
        "top_clicked": dashboard.top_clicked_papers(edition=last_edition) if last_edition else [],
        "stats": stats,
        "charts": charts,
        "bounce_pct": _percent(stats.bounce_rate),
        "complaint_pct": _percent(stats.complaint_rate),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
