from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

# Control characters other than whitespace (C0, DEL, C1): never part of a
# title or a name, and NUL cannot be stored in PostgreSQL text or jsonb.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Lone surrogates come from JSON escapes like "\ud800"; no database (and no
# UTF-8 encoder) accepts them.
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def surrogates_replaced(value: str) -> str:
    """``value`` with every lone surrogate as U+FFFD: storable and encodable."""
    return _SURROGATE_RE.sub("\ufffd", value)


def text_clean(value: str) -> str:
    """Text as it can be stored and shown: runs of whitespace become one
    space, other control characters are dropped, lone surrogates become
    U+FFFD. Markup is kept as text (templates escape it)."""
    value = _CONTROL_RE.sub(lambda m: " " if m.group().isspace() else "", value)
    return " ".join(surrogates_replaced(value).split())


def utc_datetime(raw: str) -> datetime:
    """An ISO 8601 time in UTC ("Z" allowed; no offset means UTC). ValueError
    if it is not one."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        # Near year 1 or 9999 an offset pushes the UTC time out of range.
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(str(exc)) from None


class RecordError(ValueError):
    """One source record cannot be used; the rest of the run goes on."""


class DocumentError(ValueError):
    """A whole source document is unusable (not JSON, not Atom): nothing is written."""


class SourceError(RuntimeError):
    """A source could not be reached or refused the request, even after the
    bounded retries: nothing is written. The message names the source and date."""


@dataclasses.dataclass
class PaperRecord:
    """A paper as one source reports it, normalised. ``None`` means "this
    source does not know", so it never erases what another source said."""

    arxiv_id: str
    source: str
    version: int | None = None
    title: str | None = None
    abstract: str | None = None
    authors: list[str] | None = None
    published_on: date | None = None
    featured_on: date | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    arxiv_categories: list[str] | None = None
    primary_category: str | None = None
    organization: str | None = None
    withdrawn_at: datetime | None = None
    # Place in the source's list of the featured day (its trending order).
    source_position: int | None = None


@dataclasses.dataclass
class IngestReport:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def skip(self, key: str, reason: str) -> None:
        self.skipped.append((key, reason))

    def merge(self, other: IngestReport) -> None:
        self.fetched += other.fetched
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped.extend(other.skipped)

    def summary(self) -> str:
        line = (
            f"fetched {self.fetched}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}"
        )
        if self.skipped:
            reasons = "; ".join(f"{key}: {reason}" for key, reason in self.skipped[:5])
            more = f" (+{len(self.skipped) - 5} more)" if len(self.skipped) > 5 else ""
            line += f" ({reasons}{more})"
        return line
