"""The pages behind a digest's feedback links and the preferences page's
"what we learned" buttons: parse, call one function, render.

Mail scanners open every link in a message, so a GET never votes: it shows
the paper with a button, and the POST (CSRF-protected, rate-limited per
client address like the other forms) records the vote.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.lib.ratelimit import rate_limit_hit
from config.security import client_ip
from newsletter.feedback.learning import suggestion_follow, taste_reset
from newsletter.feedback.links import VOTES
from newsletter.feedback.votes import VoteRefused, digest_papers, votes_record
from newsletter.models import PaperVote
from subscribers.models import Subscriber
from subscribers.tokens import TokenInvalid, token_read
from subscribers.views import private_page


def _over_limit(request: HttpRequest) -> bool:
    ip = client_ip(request) or "unknown"
    if ip in settings.RATE_LIMIT_EXEMPT_IPS:
        return False
    return rate_limit_hit(
        scope="feedback-ip", key=ip, limit=settings.FEEDBACK_RATE_PER_IP,
        window=settings.SUBSCRIBE_RATE_WINDOW_SECONDS,
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "subscribers/rate_limited.html", status=429)
    response["Retry-After"] = str(settings.SUBSCRIBE_RATE_WINDOW_SECONDS)
    return response


def _reader(token: str, day: date) -> Subscriber | None:
    try:
        return token_read(token=token, purpose="feedback", scope=day.isoformat())
    except TokenInvalid:
        return None


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "newsletter/feedback/invalid.html", status=400)


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def paper_vote(request: HttpRequest, day: date, token: str, arxiv_id: str, vote: str) -> HttpResponse:
    """One paper's "More like this" / "Less like this": a button, then the vote."""
    if _over_limit(request):
        return _too_many(request)
    subscriber = _reader(token, day)
    if subscriber is None or vote not in VOTES:
        return _invalid(request)
    papers = {p.arxiv_id: p for p in digest_papers(subscriber=subscriber, day=day)}
    paper = papers.get(arxiv_id)
    if paper is None:
        return _invalid(request)
    context = {"paper": paper, "vote": vote, "day": day, "token": token}
    if request.method == "POST":
        votes_record(
            subscriber=subscriber, day=day, votes={arxiv_id: VOTES[vote]}, source=PaperVote.Source.LINK
        )
        return render(request, "newsletter/feedback/voted.html", context)
    return render(request, "newsletter/feedback/vote.html", context)


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def digest_rate(request: HttpRequest, day: date, token: str) -> HttpResponse:
    """Every paper of the digest with "more", "less" or "no opinion"."""
    if _over_limit(request):
        return _too_many(request)
    subscriber = _reader(token, day)
    if subscriber is None:
        return _invalid(request)
    papers = digest_papers(subscriber=subscriber, day=day)
    status = 200
    if request.method == "POST":
        choices = {"more": 1, "less": -1, "": 0}
        votes = {}
        for paper in papers:
            raw = request.POST.get(f"vote-{paper.arxiv_id}")
            if raw is not None:
                votes[paper.arxiv_id] = choices.get(raw, 2)  # 2: refused below
        try:
            votes_record(subscriber=subscriber, day=day, votes=votes, source=PaperVote.Source.PAGE)
        except VoteRefused:
            messages.error(request, "Some choices could not be read; nothing was saved. Please try again.")
            status = 400
        else:
            messages.success(request, "Thank you: your next digests will take your ratings into account.")
            response = redirect("feedback-rate", day, token)
            response.status_code = 303
            return response
    current = dict(PaperVote.objects.filter(subscriber=subscriber, paper__in=papers).values_list(
        "paper__arxiv_id", "value"
    ))
    items = [{"paper": p, "vote": {1: "more", -1: "less"}.get(current.get(p.arxiv_id), "")} for p in papers]
    return render(request, "newsletter/feedback/rate.html", {"items": items, "day": day}, status=status)


def _preferences_reader(token: str) -> Subscriber | None:
    try:
        return token_read(token=token, purpose="preferences")
    except TokenInvalid:
        return None


def _back_to_preferences(token: str) -> HttpResponse:
    response = redirect("preferences", token)
    response.status_code = 303
    return response


@private_page
@require_POST
def learned_reset(request: HttpRequest, token: str) -> HttpResponse:
    """Forget the reader's votes and what they taught (the preferences page)."""
    subscriber = _preferences_reader(token)
    if subscriber is None:
        return _invalid(request)
    taste_reset(subscriber=subscriber)
    messages.success(request, "What we learned from your ratings is forgotten.")
    return _back_to_preferences(token)


@private_page
@require_POST
def suggestion_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Follow one suggested topic or keyword: the reader's own click."""
    subscriber = _preferences_reader(token)
    if subscriber is None:
        return _invalid(request)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    if suggestion_follow(subscriber=subscriber, kind=kind, value=value):
        messages.success(request, f"You now follow “{value}”.")
    else:
        messages.error(request, "That suggestion is no longer on offer; nothing changed.")
    return _back_to_preferences(token)
