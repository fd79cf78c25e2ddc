from datetime import date

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from newsletter.digest.build import edition_page, reader_page
from newsletter.selectors import edition_fingerprint, edition_papers, latest_edition_date
from subscribers.tokens import TokenInvalid, token_read


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
def digest_edition(request, day: date):
    """The public page of an edition: every visible paper, pins first."""
    context = edition_page(day=day)
    if context is None:
        raise Http404("no papers on that day")
    return render(request, "newsletter/digest.html", context)


@require_safe
def digest_reader(request, day: date, token: str):
    """A reader's web copy of their digest ("view in browser")."""
    try:
        subscriber = token_read(token=token, purpose="digest")
    except TokenInvalid:
        return render(request, "newsletter/digest_link_invalid.html", {"day": day}, status=404)
    response = render(request, "newsletter/digest_reader.html", reader_page(subscriber=subscriber, day=day))
    # Personal pages: keep them out of search engines and other sites' logs.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


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
