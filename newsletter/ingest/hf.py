"""The Hugging Face ``/api/daily_papers`` item format."""

from __future__ import annotations

from datetime import date, datetime

from newsletter.ingest.records import PaperRecord, RecordError
from newsletter.models import split_arxiv_id

MAX_TITLE = 500
MAX_TEXT = 20_000


def _text(value, field: str, *, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is not text")
    value = " ".join(value.split())
    if len(value) > limit:
        raise RecordError(f"{field} is longer than {limit} characters")
    return value


def _int(value, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{field} is not a non-negative whole number")
    return value


def _datetime(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is not a date")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{field} is not a date: {value[:40]!r}") from None


def _date(value, field: str) -> date | None:
    parsed = _datetime(value, field)
    return parsed.date() if parsed else None


def _url(value, field: str) -> str | None:
    text = _text(value, field, limit=500)
    if not text:
        return text
    # Only web links ever become links; anything else is dropped.
    if not text.lower().startswith(("http://", "https://")):
        return ""
    return text


def hf_item_parse(item, *, source: str = "hf") -> PaperRecord:
    """One Daily Papers item -> PaperRecord, or RecordError saying why not."""
    if not isinstance(item, dict):
        raise RecordError("item is not an object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("item has no 'paper' object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise RecordError("paper has no id")
    try:
        arxiv_id, version = split_arxiv_id(raw_id)
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    title = _text(paper.get("title") or item.get("title"), "title", limit=MAX_TITLE)
    if not title:
        raise RecordError("paper has no title")
    authors = paper.get("authors")
    names = None
    if authors is not None:
        if not isinstance(authors, list):
            raise RecordError("authors is not a list")
        names = []
        for author in authors:
            if isinstance(author, dict) and not author.get("hidden"):
                name = _text(author.get("name"), "author name", limit=200)
                if name:
                    names.append(name)
    keywords = paper.get("ai_keywords")
    if keywords is not None:
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise RecordError("ai_keywords is not a list of text")
        keywords = [" ".join(k.split())[:100] for k in keywords[:50]]
    organization = paper.get("organization")
    org_name = None
    if isinstance(organization, dict):
        org_name = _text(organization.get("fullname") or organization.get("name"), "organization",
                         limit=200)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        source=source,
        title=title,
        abstract=_text(paper.get("summary") or item.get("summary"), "summary"),
        authors=names,
        published_on=_date(paper.get("publishedAt"), "publishedAt"),
        featured_on=_date(paper.get("submittedOnDailyAt"), "submittedOnDailyAt"),
        upvotes=_int(paper.get("upvotes"), "upvotes"),
        num_comments=_int(item.get("numComments"), "numComments"),
        github_repo=_url(paper.get("githubRepo"), "githubRepo"),
        github_stars=_int(paper.get("githubStars"), "githubStars"),
        project_page=_url(paper.get("projectPage"), "projectPage"),
        thumbnail=_url(item.get("thumbnail"), "thumbnail"),
        ai_summary=_text(paper.get("ai_summary"), "ai_summary"),
        ai_keywords=keywords,
        organization=org_name,
        withdrawn_at=_datetime(paper.get("withdrawnAt"), "withdrawnAt"),
    )
