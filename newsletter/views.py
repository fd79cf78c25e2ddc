from datetime import date

from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from newsletter.digest.build import edition_page, reader_page
from newsletter.selectors import edition_papers, front_page_state
from subscribers.tokens import TokenInvalid, token_read

# A short life as well: topic renames do not change the fingerprint.
FRONT_PAGE_CACHE_SECONDS = 60


@require_safe
def home(request):
    # The front page is the same for every visitor: it is rendered once per
    # change of the day's papers and served from the cache, so a visit costs
    # one small query. A visitor with a flash message gets a fresh render.
    day, fingerprint = front_page_state()
    context = {"day": day, "papers": edition_papers(day=day) if day else []}
    if len(messages.get_messages(request)):
        return render(request, "newsletter/home.html", context)
    key = f"front-page:{day}:{fingerprint}"
    html = cache.get(key)
    if html is None:
        html = render_to_string("newsletter/home.html", context)
        cache.set(key, html, timeout=FRONT_PAGE_CACHE_SECONDS)
    return HttpResponse(html)


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
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
