"""Upsert PaperRecords by arXiv id without ever undoing an editor's decision."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from django.db import transaction

from newsletter.ingest.records import IngestReport, PaperRecord
from newsletter.models import Paper
from newsletter.tagging import paper_tag

# Fields a newer source value simply replaces (when the source knows it).
_REPLACED = (
    "published_on", "github_repo", "project_page", "thumbnail", "ai_summary", "ai_keywords",
    "arxiv_categories", "primary_category", "organization", "withdrawn_at", "authors",
)
# Counts only ever go up: a late, lower count from another source or a stale
# page must not erase attention the paper already had.
_MAXED = ("upvotes", "num_comments", "github_stars")


def _merge(paper: Paper, record: PaperRecord) -> list[str]:
    changed: list[str] = []

    def put(field: str, value) -> None:
        if getattr(paper, field) != value:
            setattr(paper, field, value)
            changed.append(field)

    newer_or_same = record.version is None or paper.version is None or record.version >= paper.version
    if record.version is not None and (paper.version is None or record.version > paper.version):
        put("version", record.version)
    if newer_or_same:
        if record.title and not paper.title_edited:
            put("title", record.title)
        if record.abstract and not paper.abstract_edited:
            put("abstract", record.abstract)
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
    if record.source not in paper.sources:
        put("sources", [*paper.sources, record.source])
    return changed


def paper_upsert(*, record: PaperRecord) -> str:
    """Create or update one paper; returns "created", "updated" or "unchanged".

    Idempotent: storing the same record twice changes nothing the second time.
    Locks the row so two concurrent ingests of one paper cannot both insert.
    """
    with transaction.atomic():
        paper = Paper.objects.select_for_update().filter(arxiv_id=record.arxiv_id).first()
        if paper is None:
            fields = {
                k: v for k, v in dataclasses.asdict(record).items()
                if v is not None and k not in ("arxiv_id", "source")
            }
            paper = Paper.objects.create(
                arxiv_id=record.arxiv_id, source=record.source, sources=[record.source], **fields
            )
            paper_tag(paper=paper)
            return "created"
        changed = _merge(paper, record)
        if not changed:
            return "unchanged"
        paper.save(update_fields=[*changed, "updated_at"])
        if {"title", "abstract", "ai_keywords"} & set(changed):
            paper_tag(paper=paper)
        return "updated"


def records_store(*, records: Iterable[PaperRecord], report: IngestReport | None = None) -> IngestReport:
    """Upsert many records; duplicates within one batch are merged in order."""
    report = report or IngestReport()
    for record in records:
        report.add(paper_upsert(record=record))
    return report
