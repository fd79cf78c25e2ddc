from django.shortcuts import render

from newsletter.selectors import edition_papers, latest_edition_date


def home(request):
    day = latest_edition_date()
    papers = list(edition_papers(day=day)) if day else []
    return render(request, "newsletter/home.html", {"day": day, "papers": papers})


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
