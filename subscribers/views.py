"""Pages for joining, tuning and leaving: parse the request, call one service,
render. No accounts: every page after signup is reached through a signed link.

Links in email are fetched by mail scanners, so a GET never changes anything:
it shows a page with a button, and the POST acts. The one exception is the
RFC 8058 one-click unsubscribe POST, which mailbox providers send without
cookies or a CSRF token.
"""

from __future__ import annotations

import functools
import json
import logging
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from config.lib.ratelimit import rate_limit_hit
from config.security import address_log_key, client_ip
from newsletter.selectors import topics_version
from subscribers import services
from subscribers.consent import consent_wording
from subscribers.emails import first_digest_text, schedule_text
from subscribers.forms import AddressForm, PreferencesForm, SubscribeForm, honeypot_filled, topics_asked
from subscribers.models import ConsentRecord, Subscriber
from subscribers.tasks import owed_enqueue, welcome_enqueue
from subscribers.tokens import TokenExpired, TokenInvalid, preferences_max_age, token_make, token_read

logger = logging.getLogger(__name__)


def user_agent(request: HttpRequest) -> str:
    raw = request.META.get("HTTP_USER_AGENT", "")
    return "".join(char for char in raw if char.isprintable())[:500]


UNREADABLE = "Some of the text could not be read (it was not valid UTF-8). Please type it again."


def body_is_utf8(request: HttpRequest) -> bool:
    """Whether a form-encoded body decodes as UTF-8. Django's parser quietly
    turns undecodable bytes into replacement characters (caught by the forms)
    or, for raw bytes, into Latin-1 text; this catches the latter."""
    if request.content_type != "application/x-www-form-urlencoded":
        return True
    try:
        unquote_to_bytes(request.body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _bound_form(form_class, request: HttpRequest):
    """The form bound to the POST, valid only if the body was readable."""
    form = form_class(request.POST)
    if form.is_valid() and not body_is_utf8(request):
        form.add_error(None, UNREADABLE)
    return form


def _see_other(to: str, *args) -> HttpResponse:
    # 303: after a POST, the browser GETs the answer page.
    response = redirect(to, *args)
    response.status_code = 303
    return response


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "subscribers/rate_limited.html", status=429)
    response["Retry-After"] = str(settings.SUBSCRIBE_RATE_WINDOW_SECONDS)
    return response


def _ip_over_limit(request: HttpRequest) -> bool:
    ip = client_ip(request) or "unknown"
    # Operators can exempt their own load-test or monitoring addresses.
    if ip in settings.RATE_LIMIT_EXEMPT_IPS:
        return False
    return rate_limit_hit(
        scope="subscribe-ip", key=ip,
        limit=settings.SUBSCRIBE_RATE_PER_IP, window=settings.SUBSCRIBE_RATE_WINDOW_SECONDS,
    )


def _address_over_limit(email: str, *, asking: str) -> bool:
    """Whether a request for ``email`` goes over the per-address limit; if so
    the visitor still gets the usual answer (the form must not tell who is
    subscribed) and the log says so, without the address."""
    limit, window = settings.SUBSCRIBE_RATE_PER_ADDRESS, settings.SUBSCRIBE_RATE_WINDOW_SECONDS
    if not rate_limit_hit(scope="subscribe-address", key=email, limit=limit, window=window):
        return False
    logger.warning("%s for %s not acted on: over the limit of %s requests per address in %s s",
                   asking, address_log_key(email), limit, window)
    return True


def _duration(seconds: int) -> str:
    """"an hour", "2 hours", "5 minutes", "30 seconds"."""
    unit, size = next((unit, size) for unit, size in (("hour", 3600), ("minute", 60), ("second", 1))
                      if seconds % size == 0)
    count = seconds // size
    if count == 1:
        return "an hour" if unit == "hour" else f"a {unit}"
    return f"{count} {unit}s"


def private_page(view):
    """Pages reached through a personal link: never cached, never indexed."""

    uncached = never_cache(view)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = uncached(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


def _link_problem(request: HttpRequest, error: TokenInvalid, *, purpose: str = "",
                  token: str = "") -> HttpResponse:
    expired = isinstance(error, TokenExpired)
    context = {"expired": expired, "form": AddressForm()}
    if expired and purpose == "preferences":
        # Genuine but old: one button emails the reader a fresh link.
        context.update(preferences_expired=True, preferences_days=preferences_max_age().days,
                       new_link_path=reverse("preferences-new-link", args=[purpose, token]))
    return render(request, "subscribers/link_problem.html", context, status=410 if expired else 400)


def token_required(purpose: str):
    """For pages reached through a signed link made for ``purpose``: the view
    gets the reader the token names as ``subscriber``; a tampered, foreign or
    stale token gets the link-problem page (400, or 410 when expired)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            try:
                subscriber = token_read(token=token, purpose=purpose)
            except TokenInvalid as error:
                return _link_problem(request, error, purpose=purpose, token=token)
            return view(request, token, subscriber=subscriber)

        return wrapper

    return decorator


def masked(email: str) -> str:
    """"a•••@example.org": enough for a reader to recognise the address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if _ip_over_limit(request):
            return _too_many(request)
        if honeypot_filled(request.POST):
            logger.info("signup honeypot filled; ignored")
            return _see_other("subscribe-done")
        form = _bound_form(SubscribeForm, request)
        if form.is_valid():
            data = form.cleaned_data
            # Over the per-address limit the visitor gets the usual answer and
            # nothing is sent: the form must not become a mail bomb.
            if not _address_over_limit(data["email"], asking="signup"):
                signup = services.subscriber_signup(
                    email=data["email"], choices=form.choices(), topic_rows=data["topics"],
                    ip=client_ip(request), user_agent=user_agent(request), source=ConsentRecord.Source.WEB,
                )
                owed_enqueue(owed=signup.owed, subscriber_id=signup.subscriber_id)
            return _see_other("subscribe-done")
        status = 400
    else:
        picked = topics_asked(request.GET.getlist("topics"))
        form = SubscribeForm(initial={"topics": picked})
        status = 200
    context = {
        "form": form,
        "consent": consent_wording(),
        "detect_timezone": not form.is_bound,
        "topics_version": None if form.is_bound else topics_version(),
        "picked_topics": "" if form.is_bound else ",".join(picked),
    }
    return render(request, "subscribers/subscribe.html", context, status=status)


@require_safe
def subscribe_done(request: HttpRequest) -> HttpResponse:
    # The same answer whether or not the address is known, and whether or
    # not a limit swallowed the request: the page says what the limits are.
    cooldown = settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS
    context = {
        "per_address": settings.SUBSCRIBE_RATE_PER_ADDRESS,
        "window": _duration(settings.SUBSCRIBE_RATE_WINDOW_SECONDS),
        "cooldown": _duration(cooldown) if cooldown else "",
    }
    return render(request, "subscribers/subscribe_done.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def confirm_resend(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if _ip_over_limit(request):
            return _too_many(request)
        if honeypot_filled(request.POST):
            return _see_other("subscribe-done")
        form = _bound_form(AddressForm, request)
        if form.is_valid():
            if not _address_over_limit(form.cleaned_data["email"], asking="new link request"):
                asked = services.subscriber_link_request(email=form.cleaned_data["email"])
                owed_enqueue(owed=asked.owed, subscriber_id=asked.subscriber_id)
            return _see_other("subscribe-done")
        status = 400
    else:
        form = AddressForm()
        status = 200
    return render(request, "subscribers/resend.html", {"form": form}, status=status)


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
@token_required("confirm")
def confirm(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    activated = False
    if request.method == "POST":
        activated = services.subscriber_confirm(
            subscriber=subscriber, ip=client_ip(request), user_agent=user_agent(request),
            source=ConsentRecord.Source.WEB,
        )
        if activated:
            welcome_enqueue(subscriber_id=subscriber.pk)
    elif services.confirmation_outstanding(subscriber):
        return render(request, "subscribers/confirm.html", {"consent": consent_wording(),
                                                            "email": masked(subscriber.email)})
    if subscriber.status != Subscriber.Status.ACTIVE:
        # e.g. unsubscribed since: this old link must not bring them back.
        return _link_problem(request, TokenInvalid("this link was already used"))
    # Only the click that confirms opens the preferences: a used confirmation
    # link must not hand out fresh preferences links (they reach the
    # reader's data); it offers to email one instead.
    context = {"email": masked(subscriber.email), "schedule": schedule_text(subscriber),
               "first_digest": first_digest_text(subscriber, now=timezone.now()),
               "preferences_path": reverse("preferences", args=[_token(subscriber, "preferences")])
               if activated else "",
               "new_link_path": reverse("preferences-new-link", args=["confirm", token])}
    return render(request, "subscribers/confirmed.html", context)


def _token(subscriber: Subscriber, purpose: str) -> str:
    return token_make(subscriber=subscriber, purpose=purpose)


def _choices_initial(subscriber: Subscriber) -> dict:
    return {
        "topics": list(subscriber.topics.filter(active=True)),
        "keywords": subscriber.keywords,
        "frequency": subscriber.frequency,
        "weekday": subscriber.weekday,
        "timezone": subscriber.timezone,
        "send_hour": subscriber.send_hour,
        "digest_format": subscriber.digest_format,
        "paused": subscriber.paused,
    }


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
@token_required("preferences")
def preferences(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        form = _bound_form(PreferencesForm, request)
        if form.is_valid():
            services.subscriber_update_preferences(
                subscriber=subscriber, choices=form.choices(), paused=form.cleaned_data["paused"]
            )
            messages.success(request, "Your preferences are saved.")
            return _see_other("preferences", token)
        status = 400
    else:
        form = PreferencesForm(initial=_choices_initial(subscriber))
        status = 200
    context = {
        "form": form,
        "subscriber": subscriber,
        "email": subscriber.email,
        "token": token,
        "unsubscribe_path": reverse("unsubscribe", args=[_token(subscriber, "unsubscribe")]),
        "feed_path": reverse("feed-reader", args=[_token(subscriber, "feed")]),
    }
    return render(request, "subscribers/preferences.html", context, status=status)


@private_page
@require_POST
@token_required("preferences")
def preferences_export(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    data = services.subscriber_export(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="daily-papers-my-data.json"'
    return response


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
@token_required("preferences")
def preferences_erase(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        services.subscriber_erase(subscriber=subscriber)
        return render(request, "subscribers/erased.html")
    return render(request, "subscribers/erase.html", {"email": subscriber.email, "token": token})


def is_one_click(request: HttpRequest) -> bool:
    """An RFC 8058 one-click POST: ``List-Unsubscribe=One-Click`` in a
    form-encoded or multipart body."""
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


@csrf_exempt
@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    # One URL serves two callers. Mailbox providers POST the one-click body
    # with no cookies and no CSRF token; the signed token in the URL is the
    # proof, exactly as RFC 8058 intends. Everything else, including the
    # button on our own page, goes through the normal CSRF check.
    if is_one_click(request):
        return _unsubscribe_one_click(request, token)
    return _unsubscribe_page(request, token)


@token_required("unsubscribe")
def _unsubscribe_one_click(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_unsubscribe_and_suppress(subscriber=subscriber, via="one-click")
    # 200 with the answer itself: providers do not follow redirects.
    return render(request, "subscribers/unsubscribed.html", {"one_click": True})


# The CSRF check comes before the token is read, so a forged POST is refused
# whatever its token.
@csrf_protect
@token_required("unsubscribe")
def _unsubscribe_page(request: HttpRequest, token: str, *, subscriber: Subscriber) -> HttpResponse:
    # An unsubscribe link never expires, so it offers to email a preferences
    # link rather than showing one (preferences links expire).
    context = {
        "email": masked(subscriber.email),
        "new_link_path": reverse("preferences-new-link", args=["unsubscribe", token]),
    }
    if request.method == "POST":
        services.subscriber_unsubscribe_and_suppress(subscriber=subscriber, via="unsubscribe page")
        return render(request, "subscribers/unsubscribed.html", context)
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        return render(request, "subscribers/unsubscribed.html", {**context, "already": True})
    return render(request, "subscribers/unsubscribe.html", context)


# Links whose reader may ask for a fresh preferences link by email: an
# expired preferences link, and the pages of links that do not open the
# preferences themselves.
NEW_LINK_PURPOSES = ("preferences", "confirm", "unsubscribe", "digest")


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def preferences_link_request(request: HttpRequest, purpose: str, token: str) -> HttpResponse:
    """"Email me a link to my preferences": a button (GET), then the email
    (POST) to the reader the token names, whatever the token's age. The link
    goes to the reader's own inbox, so holding an old link gives nothing more."""
    if purpose not in NEW_LINK_PURPOSES:
        return _link_problem(request, TokenInvalid("unknown link"))
    try:
        subscriber = token_read(token=token, purpose=purpose, any_age=True)
    except TokenInvalid as error:
        return _link_problem(request, error)
    context = {"email": masked(subscriber.email), "days": preferences_max_age().days}
    if request.method == "POST":
        if _ip_over_limit(request):
            return _too_many(request)
        # Over the per-address limit the answer is the same and nothing is sent.
        if not _address_over_limit(subscriber.email, asking="preferences link"):
            owed = services.subscriber_preferences_link_request(subscriber=subscriber)
            owed_enqueue(owed=owed, subscriber_id=subscriber.pk)
        return render(request, "subscribers/preferences_link.html", {**context, "sent": True})
    return render(request, "subscribers/preferences_link.html", context)
