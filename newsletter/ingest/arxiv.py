"""The arXiv export API (Atom): ``{ARXIV_API_URL}/api/query``.

``arxiv_feed_parse`` reads one Atom page; ``arxiv_category_fetch`` pages
through a category newest first with ``start``, never faster than one request
every ``ARXIV_REQUEST_INTERVAL_SECONDS`` (arXiv's terms: 3 s);
``papers_ingest_arxiv`` fetches everything, then writes in one transaction.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from newsletter.ingest.fetch import Throttle, http_get
from newsletter.ingest.records import (
    DocumentError,
    IngestReport,
    PaperRecord,
    RecordError,
    SourceError,
    text_clean,
    utc_datetime,
)
from newsletter.ingest.store import records_store
from newsletter.models import split_arxiv_id

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$")
TOTAL_RE = re.compile(r"[0-9]{1,9}")
MAX_TITLE = 500
MAX_TEXT = 20_000

# One throttle per process: consecutive categories share arXiv's interval.
ARXIV_THROTTLE = Throttle()


@dataclass
class ArxivEntry:
    """One Atom entry, normalised."""

    arxiv_id: str
    version: int | None
    title: str
    summary: str
    authors: list[str]
    published: datetime
    updated: datetime | None
    primary_category: str
    categories: list[str]
    abs_url: str
    pdf_url: str

    def record(self) -> PaperRecord:
        return PaperRecord(
            arxiv_id=self.arxiv_id,
            version=self.version,
            source="arxiv",
            title=self.title,
            abstract=self.summary or None,
            authors=self.authors or None,
            published_on=self.published.astimezone(UTC).date(),
            arxiv_categories=self.categories or None,
            primary_category=self.primary_category or None,
        )


@dataclass
class ArxivPage:
    total: int | None
    entries: int
    parsed: list[ArxivEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class _NoDoctype(ET.TreeBuilder):
    """expat expands internal entities; a feed never needs a DTD, so one is
    refused as the parser meets it, whatever the document's encoding. That
    rules out entity-expansion bombs without defusedxml."""

    def doctype(self, name, pubid, system):
        raise DocumentError("the document declares a DTD or entities; refused")


def _normalised(element: ET.Element | None) -> str:
    return text_clean(element.text or "") if element is not None else ""


def _when(entry: ET.Element, tag: str, *, required: bool) -> datetime | None:
    raw = _normalised(entry.find(ATOM + tag))
    if not raw:
        if required:
            raise RecordError(f"no <{tag}> date")
        return None
    try:
        return utc_datetime(raw)
    except ValueError:
        raise RecordError(f"<{tag}> is not a date: {raw[:40]!r}") from None


def _entry_parse(entry: ET.Element) -> ArxivEntry:
    raw_id = _normalised(entry.find(ATOM + "id"))
    if "/abs/" not in raw_id:
        raise RecordError(f"<id> {raw_id[:80]!r} is not an arXiv abstract address")
    try:
        arxiv_id, version = split_arxiv_id(raw_id.split("/abs/", 1)[1])
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    title = _normalised(entry.find(ATOM + "title"))
    if not title:
        raise RecordError("no title")
    if len(title) > MAX_TITLE:
        raise RecordError(f"title is longer than {MAX_TITLE} characters")
    summary = _normalised(entry.find(ATOM + "summary"))
    if len(summary) > MAX_TEXT:
        raise RecordError(f"summary is longer than {MAX_TEXT} characters")
    authors = []
    for author in entry.findall(ATOM + "author"):
        name = _normalised(author.find(ATOM + "name"))
        if len(name) > 200:
            raise RecordError("an author name is longer than 200 characters")
        if name:
            authors.append(name)
    primary_element = entry.find(ARXIV + "primary_category")
    primary = (primary_element.get("term") or "").strip() if primary_element is not None else ""
    categories = []
    for term in [primary, *(c.get("term", "").strip() for c in entry.findall(ATOM + "category"))]:
        if term and term not in categories and len(term) <= 32:
            categories.append(term)
    abs_url, pdf_url = "", ""
    for link in entry.findall(ATOM + "link"):
        href = (link.get("href") or "").strip()
        if not href.startswith(("http://", "https://")):
            continue
        if link.get("rel") == "alternate" and not abs_url:
            abs_url = href
        elif link.get("title") == "pdf" and not pdf_url:
            pdf_url = href
    return ArxivEntry(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        summary=summary,
        authors=authors,
        published=_when(entry, "published", required=True),
        updated=_when(entry, "updated", required=False),
        primary_category=primary if len(primary) <= 32 else "",
        categories=categories,
        abs_url=abs_url,
        pdf_url=pdf_url,
    )


def arxiv_feed_parse(document: bytes | str, *, what: str = "arXiv feed") -> ArxivPage:
    """Parse one Atom page. A document that is not an Atom feed raises
    DocumentError; arXiv's own error entry raises SourceError; a malformed
    entry is skipped with its reason."""
    try:
        data = document.encode() if isinstance(document, str) else document
    except UnicodeEncodeError:
        raise DocumentError(f"{what}: not an Atom document (the text cannot be encoded)") from None
    try:
        root = ET.fromstring(data, parser=ET.XMLParser(target=_NoDoctype()))  # noqa: S314 - no DTDs
    except DocumentError as exc:
        raise DocumentError(f"{what}: {exc}") from None
    except (ET.ParseError, LookupError, ValueError) as exc:
        # LookupError: an XML declaration naming an unknown encoding.
        start = data[:60].decode("utf-8", errors="replace").strip()
        raise DocumentError(f"{what}: not an Atom document ({exc}; starts {start!r})") from None
    if root.tag != ATOM + "feed":
        raise DocumentError(f"{what}: the root element is <{text_clean(root.tag)[:80]}>, not an Atom <feed>")
    total_text = _normalised(root.find(OPENSEARCH + "totalResults"))
    # Only ASCII digits, and few of them: int() refuses "²" and 5,000-digit numbers.
    page = ArxivPage(total=int(total_text) if TOTAL_RE.fullmatch(total_text) else None, entries=0)
    for number, entry in enumerate(root.findall(ATOM + "entry"), start=1):
        page.entries += 1
        raw_id = _normalised(entry.find(ATOM + "id"))
        if "/api/errors" in raw_id:
            # arXiv reports a bad query as a feed with one "Error" entry.
            message = _normalised(entry.find(ATOM + "summary")) or "unknown error"
            raise SourceError(f"{what}: arXiv answered with an error: {message}")
        try:
            page.parsed.append(_entry_parse(entry))
        except RecordError as exc:
            label = f"entry {number}" + (f" ({raw_id.rsplit('/', 1)[-1][:40]})" if raw_id else "")
            page.skipped.append((label, str(exc)))
    return page


def arxiv_category_fetch(
    *,
    category: str,
    max_results: int,
    throttle: Throttle | None = None,
    on_page: Callable[[int], None] | None = None,
) -> tuple[list[ArxivEntry], list[tuple[str, str]]]:
    """The newest ``max_results`` submissions of ``category``, page by page."""
    if not CATEGORY_RE.match(category):
        raise ValueError(f"{category!r} is not an arXiv category (e.g. cs.CL)")
    throttle = throttle or ARXIV_THROTTLE
    url = f"{settings.ARXIV_API_URL}/api/query"
    page_size = max(1, min(int(settings.ARXIV_PAGE_SIZE), max_results))
    entries: list[ArxivEntry] = []
    skipped: list[tuple[str, str]] = []
    start = 0
    while start < max_results:
        wanted = min(page_size, max_results - start)
        what = f"arXiv {category} (start={start})"
        response = http_get(
            url=url,
            params={
                "search_query": f"cat:{category}",
                "sortBy": "submittedDate",
                "sortOrder": "descending",
                "start": start,
                "max_results": wanted,
            },
            what=what,
            before_request=throttle.wait,
        )
        page = arxiv_feed_parse(response.body, what=what)
        entries += page.parsed
        skipped += [(f"{category} start={start} {label}", reason) for label, reason in page.skipped]
        if on_page:
            on_page(len(entries) + len(skipped))
        start += page.entries
        if page.entries < wanted or (page.total is not None and start >= page.total):
            break
    return entries, skipped


def papers_ingest_arxiv(
    *,
    category: str,
    max_results: int,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> IngestReport:
    """Ingest the newest submissions of one category.

    Every page is fetched before anything is written, and the write is one
    transaction; an unreachable API or a document that is not Atom raises and
    changes nothing. Papers from arXiv alone have no upvotes and no featured
    date. Idempotent.
    """
    entries, skipped = arxiv_category_fetch(
        category=category,
        max_results=max_results,
        on_page=(lambda n: progress(f"fetching {category}", n, max_results)) if progress else None,
    )
    report = IngestReport(fetched=len(entries) + len(skipped))
    for label, reason in skipped:
        report.skip(label, reason)
    return records_store(records=[e.record() for e in entries], report=report, progress=progress)


def papers_ingest_arxiv_categories(
    *, categories: list[str], max_results: int
) -> tuple[IngestReport, list[str]]:
    """Ingest several categories, each its own all-or-nothing run, so one
    unreachable category does not hold back the others. Returns the merged
    report and one error line per failed category."""
    total = IngestReport()
    errors: list[str] = []
    for category in categories:
        try:
            total.merge(papers_ingest_arxiv(category=category, max_results=max_results))
        except (SourceError, DocumentError, ValueError) as exc:
            log.error("arXiv %s: %s", category, exc)
            errors.append(str(exc))
    return total, errors
