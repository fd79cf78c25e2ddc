from django.shortcuts import render
from django.views.decorators.http import require_safe

from newsletter.selectors import edition_fingerprint, edition_papers, latest_edition_date


@require_safe
def home(request):
    day = latest_edition_date()
    context = {"day": day}
    if day:
        # The list is rendered once per change of the day's papers (the
        # template caches it under this fingerprint); the queryset stays lazy
        # so a cache hit costs two small queries.
        context["papers"] = edition_papers(day=day)
        context["fingerprint"] = edition_fingerprint(day=day)
    return render(request, "newsletter/home.html", context)


@require_safe
def healthz(request):
    """Liveness for load balancers and compose: the database answers."""
    from django.db import connection
    from django.http import HttpResponse

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
