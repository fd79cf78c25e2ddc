"""Upsert PaperRecords by arXiv id without ever undoing an editor's decision.

Merge rules (one row per arXiv id, whatever the source):

- text (title, abstract, authors) comes from the latest version seen; a
  record without a version (Hugging Face, files) only replaces text that came
  without a version either, so arXiv's v3 is not overwritten by an older copy;
- counts (upvotes, comments, stars) only go up;
- the arXiv date comes from arXiv when it has spoken, else from whoever knows;
- the featured date is set once; the place in the source's list of that
  day follows the latest list of that day;
- other fields are replaced when the source knows them (None never erases);
- ``hidden``, ``pinned``, edited titles/abstracts and editor topic choices
  are never touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction

from newsletter.ingest.records import IngestReport, PaperRecord
from newsletter.models import Paper, Topic
from newsletter.tagging import paper_tag

# Fields a newer source value simply replaces (when the source knows it).
_REPLACED = (
    "github_repo", "project_page", "thumbnail", "ai_summary", "ai_keywords",
    "arxiv_categories", "primary_category", "organization", "withdrawn_at",
)
# Counts only ever go up: a late, lower count from another source or a stale
# page must not erase attention the paper already had.
_MAXED = ("upvotes", "num_comments", "github_stars")
# What the tagger reads: a change re-tags the paper.
_TAGGED = {"title", "abstract", "ai_keywords"}
# An outcome already reported for an id is not downgraded by a duplicate.
_RANK = {"unchanged": 0, "updated": 1, "created": 2}


def _text_wins(paper: Paper, record: PaperRecord) -> bool:
    if record.version is None:
        return paper.version is None
    return paper.version is None or record.version >= paper.version


def _merge(paper: Paper, record: PaperRecord) -> list[str]:
    changed: list[str] = []

    def put(field: str, value) -> None:
        if getattr(paper, field) != value:
            setattr(paper, field, value)
            changed.append(field)

    if _text_wins(paper, record):
        if record.version is not None:
            put("version", record.version)
        if record.title and not paper.title_edited:
            put("title", record.title)
        if record.abstract and not paper.abstract_edited:
            put("abstract", record.abstract)
        if record.authors:
            put("authors", record.authors)
    elif not paper.authors and record.authors:
        put("authors", record.authors)
    if record.published_on and (record.source == Paper.Source.ARXIV or not paper.published_on):
        put("published_on", record.published_on)
    for field in _REPLACED:
        value = getattr(record, field)
        if value is not None and value not in ("", []):
            put(field, value)
    for field in _MAXED:
        value = getattr(record, field)
        if value is not None and (getattr(paper, field) is None or value > getattr(paper, field)):
            put(field, value)
    # The featured date is set once: the day a paper trended is a fact about
    # the edition it belongs to.
    if record.featured_on and not paper.featured_on:
        put("featured_on", record.featured_on)
    # A place in the list of another day (a later page that lists it again)
    # says nothing about the paper's own day.
    if record.source_position is not None and record.featured_on == paper.featured_on:
        put("source_position", record.source_position)
    if record.source not in paper.sources:
        put("sources", [*paper.sources, record.source])
    return changed


def _create(record: PaperRecord) -> Paper | None:
    fields = {
        k: v for k, v in dataclasses.asdict(record).items()
        if v is not None and k not in ("arxiv_id", "source")
    }
    try:
        # A savepoint: if a concurrent run inserted the same id first, only
        # this insert is undone and the caller merges into that row instead.
        with transaction.atomic():
            return Paper.objects.create(
                arxiv_id=record.arxiv_id, source=record.source, sources=[record.source], **fields
            )
    except IntegrityError:
        if not Paper.objects.filter(arxiv_id=record.arxiv_id).exists():
            raise  # not a concurrent insert: a real constraint failed
        return None


def paper_upsert(*, record: PaperRecord, topics: list[Topic] | None = None) -> str:
    """Create or update one paper; returns "created", "updated" or "unchanged".

    Idempotent: storing the same record twice changes nothing the second time.
    Locks the row so two concurrent ingests of one paper cannot both write it.
    Tags the paper when it is new or its text changed.
    """
    with transaction.atomic():
        paper = Paper.objects.select_for_update().filter(arxiv_id=record.arxiv_id).first()
        if paper is None:
            paper = _create(record)
            if paper is not None:
                paper_tag(paper=paper, topics=topics)
                return "created"
            paper = Paper.objects.select_for_update().get(arxiv_id=record.arxiv_id)
        changed = _merge(paper, record)
        if not changed:
            return "unchanged"
        paper.save(update_fields=[*changed, "updated_at"])
        if _TAGGED & set(changed):
            paper_tag(paper=paper, topics=topics)
        return "updated"


def records_store(
    *,
    records: Iterable[PaperRecord],
    report: IngestReport | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> IngestReport:
    """Upsert many records in ONE transaction: all are stored or none.

    Rows are locked in arXiv-id order so two concurrent runs cannot deadlock;
    several records for one id (versions, sources) are merged in their order.
    Each id counts once in the report, by its strongest outcome.
    """
    report = report or IngestReport()
    ordered = sorted(records, key=lambda r: r.arxiv_id)  # stable: keeps each id's order
    outcomes: dict[str, str] = {}
    with transaction.atomic():
        topics = list(Topic.objects.filter(active=True))
        for done, record in enumerate(ordered, start=1):
            outcome = paper_upsert(record=record, topics=topics)
            previous = outcomes.get(record.arxiv_id)
            if previous is None or _RANK[outcome] > _RANK[previous]:
                outcomes[record.arxiv_id] = outcome
            if progress:
                progress("storing", done, len(ordered))
    for outcome in outcomes.values():
        report.add(outcome)
    return report
