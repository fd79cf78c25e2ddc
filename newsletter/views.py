"""A reader's web copy of a digest, and the health check. The public pages
are in ``newsletter.site``."""

from datetime import date

from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from newsletter.digest.build import reader_page
from subscribers.tokens import TokenInvalid, token_read


@require_safe
def digest_reader(request, day: date, token: str):
    """A reader's web copy of their digest ("view in browser")."""
    try:
        subscriber = token_read(token=token, purpose="digest")
    except TokenInvalid:
        return render(request, "newsletter/digest_link_invalid.html", {"day": day}, status=404)
    # The web copy's link never expires, so "Manage preferences" emails the
    # reader a preferences link rather than opening one (those expire).
    context = {**reader_page(subscriber=subscriber, day=day),
               "new_link_path": reverse("preferences-new-link", args=["digest", token])}
    response = render(request, "newsletter/digest_reader.html", context)
    # Personal pages: keep them out of search engines and other sites' logs.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def healthz(request):
    """Liveness for load balancers and compose: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
