"""The Hugging Face Daily Papers API: ``GET {HF_API_URL}/api/daily_papers``.

``hf_item_parse`` turns one item into a PaperRecord (the file source uses it
too); ``hf_day_fetch`` pages through one day; ``papers_ingest_hf`` fetches
every requested day first and only then writes, in one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime

from django.conf import settings

from newsletter.ingest.fetch import http_get
from newsletter.ingest.records import (
    DocumentError,
    IngestReport,
    PaperRecord,
    RecordError,
    text_clean,
    utc_datetime,
)
from newsletter.ingest.store import records_store
from newsletter.models import split_arxiv_id

log = logging.getLogger(__name__)

MAX_TITLE = 500
MAX_TEXT = 20_000
# Counts land in PositiveIntegerFields; anything above is garbage, not fame.
MAX_COUNT = 2_147_483_647


def _text(value, field: str, *, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is not text")
    value = text_clean(value)
    if len(value) > limit:
        raise RecordError(f"{field} is longer than {limit} characters")
    return value


def _int(value, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{field} is not a non-negative whole number")
    if value > MAX_COUNT:
        raise RecordError(f"{field} is absurdly large ({value})")
    return value


def _datetime(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise RecordError(f"{field} is not a date")
    try:
        return utc_datetime(value)
    except ValueError:
        raise RecordError(f"{field} is not a date: {value!r}") from None


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
    """One Daily Papers item -> PaperRecord, or RecordError saying why not.

    Optional fields may be absent or null; unknown fields are ignored. Text
    is whitespace-normalised and stored as text (templates escape it).
    """
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
        keywords = [text_clean(k)[:100] for k in keywords[:50]]
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


def _item_label(item, number: int, prefix: str) -> str:
    paper = item.get("paper") if isinstance(item, dict) else None
    raw_id = paper.get("id") if isinstance(paper, dict) else None
    label = f"{prefix}item {number}"
    if isinstance(raw_id, str) and text_clean(raw_id):
        # Cleaned: the label goes to logs, where a line break could forge a line.
        label += f" ({text_clean(raw_id)[:40]})"
    return label


def hf_items_parse(
    *, items: list, source: str, report: IngestReport, featured_on: date | None = None, prefix: str = ""
) -> list[PaperRecord]:
    """Parse items, skipping (and reporting, by number and id) the malformed
    ones. Items without a featured date get ``featured_on``. Each record
    keeps its item's number: Hugging Face (and the bundled sample) list a
    day's papers in trending order, the order of a day after the counts."""
    records = []
    for number, item in enumerate(items, start=1):
        try:
            record = hf_item_parse(item, source=source)
        except RecordError as exc:
            report.skip(_item_label(item, number, prefix), str(exc))
            continue
        if record.featured_on is None:
            record.featured_on = featured_on
        record.source_position = number
        records.append(record)
    return records


def _item_id(item) -> str | None:
    paper = item.get("paper") if isinstance(item, dict) else None
    raw_id = paper.get("id") if isinstance(paper, dict) else None
    return raw_id if isinstance(raw_id, str) else None


def hf_page_parse(*, body: bytes, content_type: str = "", what: str) -> list:
    """The items of one Daily Papers answer (a JSON array). Anything else,
    including JSON nested too deep to parse or numbers too long to convert,
    raises DocumentError; the items themselves are judged by
    ``hf_items_parse``."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        kind = content_type.split(";")[0] or "unknown type"
        start = body[:60].decode("utf-8", errors="replace").strip()
        raise DocumentError(f"{what}: the answer is not JSON ({kind}, starts {start!r})") from None
    if not isinstance(document, list):
        raise DocumentError(f"{what}: the answer is JSON but not a list of papers")
    return document


def hf_day_fetch(*, day: date, on_page: Callable[[int], None] | None = None) -> list:
    """Every item Hugging Face lists for ``day``, following ``p=`` pages
    until a short page. Raises SourceError or DocumentError naming the date."""
    url = f"{settings.HF_API_URL}/api/daily_papers"
    limit = int(settings.HF_PAGE_SIZE)
    items: list = []
    seen: set[str] = set()
    for page in range(int(settings.HF_MAX_PAGES)):
        what = f"Hugging Face daily papers for {day.isoformat()} (page {page})"
        response = http_get(url=url, params={"date": day.isoformat(), "p": page, "limit": limit}, what=what)
        batch = hf_page_parse(body=response.body, content_type=response.content_type, what=what)
        ids = {i for i in map(_item_id, batch) if i}
        if ids and ids <= seen:
            # A server that ignores ``p`` answers page 0 again: stop, do not loop.
            log.warning("%s repeats earlier papers; stopped paging", what)
            break
        seen |= ids
        items.extend(batch)
        if on_page:
            on_page(len(items))
        if len(batch) < limit:
            break
    else:
        log.warning("Hugging Face daily papers for %s: stopped after %d pages", day, page + 1)
    return items


def papers_ingest_hf(
    *, days: list[date], progress: Callable[[str, int, int | None], None] | None = None
) -> IngestReport:
    """Ingest the Daily Papers of ``days``.

    Every day is fetched before anything is written, and the write is one
    transaction: an unreachable source or a malformed document raises and
    changes nothing. Malformed items are skipped and reported. Idempotent:
    running it again only refreshes counts (upvotes only ever go up).
    """
    report = IngestReport()
    records: list[PaperRecord] = []
    for day in days:
        items = hf_day_fetch(
            day=day, on_page=(lambda n, d=day: progress(f"fetching {d}", n, None)) if progress else None
        )
        report.fetched += len(items)
        records += hf_items_parse(
            items=items, source="hf", report=report, featured_on=day, prefix=f"{day.isoformat()} "
        )
    return records_store(records=records, report=report, progress=progress)
