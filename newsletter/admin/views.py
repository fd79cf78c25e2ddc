from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods

from newsletter.admin import dashboard
from newsletter.admin.charts import format_value, legend, scale, svg_bars
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
    return "–" if rate is None else format_value(rate, percent=True)


@dataclass(frozen=True)
class Chart:
    figure: dashboard.Figure
    svg: str
    legend: str


def _cell(figure: dashboard.Figure, day: dashboard.DayStats) -> str:
    value = figure.value(day)
    if value is None:
        return "–"
    return format_value(value, percent=True) if figure.percent else f"{value:,}"


@staff_member_required
@require_GET
def dashboard_view(request):
    """Readers, sends, bounces and complaints over the last 30 days: a chart
    per figure with a unit, and every figure in the day-by-day table."""
    stats = dashboard.dashboard_stats()
    labels = [f"{d.day:%m-%d}" for d in stats.days]
    charts = []
    for figure in (f for f in dashboard.FIGURES if f.unit):
        values = [figure.value(d) for d in stats.days]
        top = scale(values=values, thresholds=figure.thresholds, percent=figure.percent)[-1]
        charts.append(Chart(
            figure=figure,
            svg=svg_bars(
                values=values, labels=labels, title=figure.title, unit=figure.unit, percent=figure.percent,
                thresholds=figure.thresholds, color=figure.color, gap=figure.gap or "no data",
            ),
            legend=legend(figure.thresholds, gap=figure.gap, top=top),
        ))
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
        "figures": dashboard.FIGURES,
        "rows": [(d.day, [_cell(f, d) for f in dashboard.FIGURES]) for d in reversed(stats.days)],
        "bounce_pct": _percent(stats.bounce_rate),
        "complaint_pct": _percent(stats.complaint_rate),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
