"""Error answers in words: every 4xx says what went wrong and that nothing
changed. Django's own handlers render ``404.html``, ``403.html``,
``403_csrf.html`` and ``500.html`` from ``templates/``; these two cover what
Django leaves bare."""

from __future__ import annotations

from django.shortcuts import render


def bad_request(request, exception=None):
    """``handler400``: Django's default renders without the request, so the
    page would lack the site's name."""
    return render(request, "400.html", status=400)


class MethodNotAllowedMiddleware:
    """Django answers a method a view does not take with an empty 405; this
    fills in a page naming the methods it does take."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
            page = render(
                request, "405.html",
                {"method": request.method, "allowed": response.get("Allow", "")},
                status=405,
            )
            if "Allow" in response:
                page["Allow"] = response["Allow"]
            return page
        return response
