"""Readers in and out as CSV.

Import creates readers who are ``pending`` unless the importer names a consent
source that carries a confirmed opt-in over; it never touches a reader who is
already there, so importing the same file twice changes nothing the second
time. Confirmation emails are not sent here: pending readers without one get it
from the confirmation sweep.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.lib.audit import editorial_log_summary
from newsletter.models import Topic
from subscribers.forms import SubscribeForm
from subscribers.models import ConsentRecord, Subscriber
from subscribers.suppression import suppressed_among

EXPORT_COLUMNS = [
    "email", "status", "topics", "keywords", "frequency", "weekday", "timezone", "send_hour",
    "paused", "created_at", "confirmed_at", "unsubscribed_at",
]
# Columns an import reads; the other export columns describe this service's
# state (status, dates) and are ignored, so an export can be imported as is.
IMPORT_COLUMNS = {
    "email", "topics", "keywords", "frequency", "weekday", "timezone", "send_hour", "confirmed_at",
}
IGNORED_COLUMNS = set(EXPORT_COLUMNS) - IMPORT_COLUMNS
CONSENT_WORDING_VERSION = "import-1"
_CHUNK = 500
# Spreadsheets run cells starting with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ConsentSource:
    key: str
    label: str
    activates: bool
    wording: str


CONSENT_SOURCES: dict[str, ConsentSource] = {
    source.key: source
    for source in [
        ConsentSource(
            "none",
            "No record of consent: readers must confirm",
            False,
            "Imported without a record of consent. The reader gets a confirmation email and no "
            "digest until they confirm.",
        ),
        ConsentSource(
            "single-opt-in",
            "Signed up elsewhere without confirming: readers must confirm",
            False,
            "Imported from a list the reader joined without confirming their address (single "
            "opt-in). The reader gets a confirmation email and no digest until they confirm.",
        ),
        ConsentSource(
            "double-opt-in",
            "Confirmed elsewhere by double opt-in: readers are active",
            True,
            "Imported from a list where the reader confirmed their address by double opt-in for "
            "the same newsletter; that confirmation is carried over.",
        ),
    ]
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass
class ImportReport:
    created: int = 0
    already_present: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.created} imported, {self.already_present} already readers (left as they were), "
            f"{len(self.problems)} rows not imported"
        )


@dataclass
class _Row:
    line: int
    email: str
    values: dict
    topic_ids: list[int]
    confirmed_at: datetime | None


def _cell(value: str | None) -> str:
    value = (value or "").strip()
    # Undo the export's guard against spreadsheet formulas.
    if value.startswith("'") and value[1:2] in _FORMULA_START:
        value = value[1:]
    return value


def _checked(name: str, text: str, *, quote: bool = True):
    """The cell as the signup form's own field ``name`` cleans it (one
    definition of each rule), or ValueError naming the column and the form's
    reason. Addresses are not quoted: reports are kept."""
    try:
        return SubscribeForm.base_fields[name].clean(text)
    except ValidationError as error:
        shown = f" {text[:40]!r}" if quote else ""
        raise ValueError(f"{name}{shown}: {' '.join(error.messages)}") from None


def _row_parse(raw: dict, *, topics: dict[str, Topic], offered: set[str]
               ) -> tuple[str, dict, list[int], datetime | None]:
    """Validate one row; raises ValueError with the reason in words. An empty
    cell keeps the reader's default; topics and keywords may both be empty
    (such a reader follows everything). ``offered``: the slugs the signup
    form offers."""
    email = _checked("email", _cell(raw.get("email")), quote=False)
    values: dict = {"keywords": _checked("keywords", _cell(raw.get("keywords")))}
    for name in ("frequency", "weekday", "timezone", "send_hour"):
        text = _cell(raw.get(name))
        if name == "frequency":
            text = text.lower()
        elif text.isdigit():
            text = str(int(text))  # "07", as spreadsheets may write it
        if text:
            values[name] = _checked(name, text)
    topic_ids = []
    for slug in _cell(raw.get("topics")).replace(";", " ").replace(",", " ").replace("|", " ").split():
        topic = topics.get(slug.lower())
        if topic is None:
            raise ValueError(f"topic {slug[:40]!r} does not exist (use topic slugs such as 'reasoning')")
        if topic.slug not in offered:
            raise ValueError(f"topic {slug!r} is retired")
        topic_ids.append(topic.pk)
    confirmed_text = _cell(raw.get("confirmed_at"))
    confirmed_at = None
    if confirmed_text:
        try:
            confirmed_at = parse_datetime(confirmed_text)
        except ValueError:
            confirmed_at = None
        if confirmed_at is None:
            raise ValueError(
                f"confirmed_at {confirmed_text[:40]!r} is not a date and time (2025-07-01T08:00:00Z)"
            )
        if timezone.is_naive(confirmed_at):
            confirmed_at = timezone.make_aware(confirmed_at, UTC)
    return email, values, list(dict.fromkeys(topic_ids)), confirmed_at


def _rows_read(lines: Iterable[str], *, report: ImportReport) -> list[_Row]:
    """Parse and validate the whole file before anything is written."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read the header: {exc}") from None
    if not header:
        raise ImportFileError("the file is empty; the first line must name the columns, e.g. email,topics")
    columns = [name.strip().lower() for name in header]
    if "email" not in columns:
        raise ImportFileError(f"no 'email' column in the header (found: {', '.join(columns)})")
    unknown = [c for c in columns if c not in IMPORT_COLUMNS | IGNORED_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(EXPORT_COLUMNS)}"
        )
    topics = {t.slug: t for t in Topic.objects.all()}
    offered = set(SubscribeForm.base_fields["topics"].queryset.values_list("slug", flat=True))
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    end = reader.line_num
    try:
        for values in reader:
            # A row's number is the line it starts on (a quoted value may span lines).
            start, end = end + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(columns):
                report.problems.append((start, f"{len(values)} values for {len(columns)} columns"))
                continue
            raw = dict(zip(columns, values, strict=False))
            try:
                email, fields, topic_ids, confirmed_at = _row_parse(raw, topics=topics, offered=offered)
            except ValueError as exc:
                report.problems.append((start, str(exc)))
                continue
            key = email.lower()
            if key in first_line:
                report.problems.append((start, f"the same address as line {first_line[key]}"))
                continue
            first_line[key] = start
            rows.append(_Row(start, email, fields, topic_ids, confirmed_at))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read the file after line {end}: {exc}") from None
    return rows


def _existing_emails(emails: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(emails), 1000):
        chunk = [e.lower() for e in emails[i : i + 1000]]
        found.update(
            Subscriber.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("email_lower", flat=True)
        )
    return found


def _chunk_create(rows: list[_Row], *, source: ConsentSource, now: datetime) -> int:
    """Create the chunk's readers, their topics and consent records in one
    transaction. Raises IntegrityError if one of them appeared meanwhile."""
    status = Subscriber.Status.ACTIVE if source.activates else Subscriber.Status.PENDING
    with transaction.atomic():
        readers = Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=row.email,
                    status=status,
                    confirmed_at=(row.confirmed_at or now) if source.activates else None,
                    **row.values,
                )
                for row in rows
            ]
        )
        Through = Subscriber.topics.through
        Through.objects.bulk_create(
            [
                Through(subscriber_id=reader.pk, topic_id=topic_id)
                for reader, row in zip(readers, rows, strict=True)
                for topic_id in row.topic_ids
            ]
        )
        kinds = [ConsentRecord.Kind.SIGNUP] + ([ConsentRecord.Kind.CONFIRMATION] if source.activates else [])
        ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    subscriber_id=r.pk, kind=kind, source=ConsentRecord.Source.IMPORT,
                    wording=source.wording, wording_version=CONSENT_WORDING_VERSION,
                )
                for r in readers
                for kind in kinds
            ]
        )
    return len(readers)


def subscribers_import_csv(
    *, lines: Iterable[str], consent_source: str = "none", by=None, filename: str = ""
) -> ImportReport:
    """Import readers from CSV text (an iterable of lines, header first).

    Guarantees: a file-level problem (no header, no email column, unknown
    columns, undecodable text) raises ImportFileError before anything is
    written; a bad row is reported with its line number and reason while the
    good rows are imported; an address that is already a reader (any case) is
    left untouched and counted; suppressed addresses are refused. Readers are
    ``pending`` unless ``consent_source`` activates them. Each new reader gets
    a signup ConsentRecord with source "import" (and a confirmation record
    when activated). Safe to repeat. Sends no email. Logged under ``by``.
    """
    source = CONSENT_SOURCES.get(consent_source)
    if source is None:
        raise ImportFileError(
            f"unknown consent source {consent_source!r}; choose one of {', '.join(CONSENT_SOURCES)}"
        )
    report = ImportReport()
    rows = _rows_read(lines, report=report)
    existing = _existing_emails([row.email for row in rows])
    suppressed = suppressed_among(row.email for row in rows)
    fresh = []
    for row in rows:
        if row.email.lower() in existing:
            report.already_present += 1
        elif row.email in suppressed:
            report.problems.append((row.line, "the address is on the suppression list"))
        else:
            fresh.append(row)
    now = timezone.now()
    for i in range(0, len(fresh), _CHUNK):
        chunk = fresh[i : i + _CHUNK]
        try:
            report.created += _chunk_create(chunk, source=source, now=now)
        except IntegrityError:
            # Someone subscribed during the import: go row by row so that one
            # address does not hold back the rest of the chunk.
            for row in chunk:
                try:
                    report.created += _chunk_create([row], source=source, now=now)
                except IntegrityError:
                    report.already_present += 1
    report.problems.sort()
    editorial_log_summary(
        by=by,
        model=Subscriber,
        title=f"CSV import {filename}".strip(),
        message=f"Imported readers from {filename or 'a CSV file'} with consent source "
        f"“{source.key}”: {report.summary()}.",
    )
    return report


def _export_cell(value) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def subscribers_csv_rows(*, subscribers: QuerySet[Subscriber]) -> Iterator[list[str]]:
    """The header, then one row per reader, in constant memory (chunks of 2000)."""
    yield EXPORT_COLUMNS
    # The caller's prefetches are replaced by the one this export needs.
    queryset = subscribers.order_by("pk").prefetch_related(None).prefetch_related(
        Prefetch("topics", queryset=Topic.objects.only("pk", "slug").order_by("slug"))
    )
    for reader in queryset.iterator(chunk_size=2000):
        yield [
            _export_cell(reader.email),
            reader.status,
            ";".join(t.slug for t in reader.topics.all()),
            _export_cell(reader.keywords),
            reader.frequency,
            str(reader.weekday),
            _export_cell(reader.timezone),
            str(reader.send_hour),
            _export_cell(reader.paused),
            _export_cell(reader.created_at),
            _export_cell(reader.confirmed_at),
            _export_cell(reader.unsubscribed_at),
        ]


def csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def subscribers_export_csv(*, subscribers: QuerySet[Subscriber], out) -> int:
    """Write readers as CSV to a text stream; returns how many readers."""
    writer = csv.writer(out)
    rows = subscribers_csv_rows(subscribers=subscribers)
    writer.writerow(next(rows))
    count = 0
    for values in rows:
        writer.writerow(values)
        count += 1
    return count
