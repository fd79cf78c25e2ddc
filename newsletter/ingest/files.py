"""JSON / JSON Lines files of Hugging Face Daily Papers items."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from newsletter.ingest.hf import hf_items_parse
from newsletter.ingest.records import DocumentError, IngestReport
from newsletter.ingest.store import records_store

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "sample_daily_papers.json"


def file_items_read(path: Path) -> list:
    """Items from a JSON array, a ``{"papers": [...]}`` object, or JSON Lines."""
    try:
        # utf-8-sig: a byte-order mark (some editors write one) is not an error.
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"cannot read {path}: {exc}") from None
    # Besides syntax errors, json raises ValueError for numbers too long to
    # convert and RecursionError for nesting too deep: the same verdict.
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        items = []
        # Only \n ends a line: U+2028 and friends may sit inside JSON strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except (ValueError, RecursionError):
                raise DocumentError(f"{path} is neither JSON nor JSON Lines (line {number})") from None
        return items
    if isinstance(document, dict) and isinstance(document.get("papers"), list):
        return document["papers"]
    if isinstance(document, list):
        return document
    raise DocumentError(f"{path} holds no list of papers (a JSON array or {{\"papers\": [...]}})")


def papers_ingest_file(*, path: Path, featured_on: date | None = None, progress=None) -> IngestReport:
    """Ingest a file. Items without a featured date get ``featured_on``.

    A malformed item is skipped with its number, id and reason; an unreadable
    document raises DocumentError before anything is written; the rest is
    stored in one transaction. Idempotent.
    """
    items = file_items_read(path)
    report = IngestReport(fetched=len(items))
    records = hf_items_parse(items=items, source="file", report=report, featured_on=featured_on)
    return records_store(records=records, report=report, progress=progress)
