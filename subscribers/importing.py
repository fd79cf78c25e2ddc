"""Readers in from CSV (the columns an export writes, ``subscribers/exporting.py``).

Import creates readers who are ``pending`` unless the importer names a consent
source that carries a confirmed opt-in over; it never touches a reader who is
already there, so importing the same file twice changes nothing the second
time. Every cell is checked by the signup form's own field for that column.

An import is stored (``SubscriberImport``) and run a chunk of rows at a time
by a worker, or by the ``import_subscribers`` command in its own process;
each chunk's readers and the import's progress are committed together, so a
run that stops resumes after the last whole chunk, two runs at once share the
work, and no row is ever half-applied. Pending readers are owed a
confirmation email (``confirmation_requested_at``), which the confirmation
sweep sends a batch at a time (``subscribers/confirmations.py``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.lib.audit import editorial_log_summary
from newsletter.models import Topic
from subscribers.exporting import EXPORT_COLUMNS, FORMULA_START
from subscribers.forms import SubscribeForm
from subscribers.models import ConsentRecord, Subscriber, SubscriberImport
from subscribers.suppression import suppressed_among

logger = logging.getLogger(__name__)

# Columns an import reads; the other export columns describe this service's
# state (status, dates) and are ignored, so an export can be imported as is.
IMPORT_COLUMNS = {
    "email", "topics", "keywords", "frequency", "weekday", "timezone", "send_hour", "confirmed_at",
}
IGNORED_COLUMNS = set(EXPORT_COLUMNS) - IMPORT_COLUMNS
CONSENT_WORDING_VERSION = "import-1"
CHUNK_ROWS = 500
# About 700,000 rows; the file waits in the database until its import ends.
IMPORT_MAX_BYTES = 64 * 1024 * 1024
# An import keeps this many problems to show; the rest are counted.
PROBLEMS_KEPT = 500
# A running import whose progress has not moved for this long lost its worker.
IMPORT_STALLED_AFTER = timedelta(minutes=10)


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
class _Row:
    line: int
    email: str
    values: dict
    topic_ids: list[int]
    confirmed_at: datetime | None


def _cell(value: str | None) -> str:
    value = (value or "").strip()
    # Undo the export's guard against spreadsheet formulas.
    if value.startswith("'") and value[1:2] in FORMULA_START:
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


def _header_read(reader) -> list[str]:
    """The column names, or ImportFileError."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"cannot read the header: {exc}") from None
    if not header:
        raise ImportFileError("the file is empty; the first line must name the columns, e.g. email,topics")
    columns = [name.strip().lower() for name in header]
    if "email" not in columns:
        raise ImportFileError(f"no 'email' column in the header (found: {', '.join(map(repr, columns))})")
    unknown = [c for c in columns if c not in IMPORT_COLUMNS | IGNORED_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(EXPORT_COLUMNS)}"
        )
    return columns


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """(line, values) of each row with a value, after the header. A row's
    line is the one it starts on (a quoted value may span lines)."""
    end = reader.line_num
    try:
        for values in reader:
            start, end = end + 1, reader.line_num
            if any(value.strip() for value in values):
                yield start, values
    except csv.Error as exc:
        raise ImportFileError(f"cannot read the file after line {end}: {exc}") from None


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"cannot read line {line}: the file is not UTF-8 text (save it as “CSV UTF-8”)"
        ) from None


def _reader(data: bytes):
    return csv.reader(io.StringIO(_text(data), newline=""))


Item = _Row | tuple[int, str]  # a row to import, or (line, why it is not imported)


def _items_read(data: bytes) -> list[Item]:
    """Every row of the file with a value, checked, in line order."""
    reader = _reader(data)
    columns = _header_read(reader)
    topics = {t.slug: t for t in Topic.objects.all()}
    offered = set(SubscribeForm.base_fields["topics"].queryset.values_list("slug", flat=True))
    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, values in _records(reader):
        if len(values) > len(columns):
            items.append((line, f"{len(values)} values for {len(columns)} columns"))
            continue
        try:
            email, fields, topic_ids, confirmed_at = _row_parse(
                dict(zip(columns, values, strict=False)), topics=topics, offered=offered
            )
        except ValueError as exc:
            items.append((line, str(exc)))
            continue
        key = email.lower()
        if key in first_line:
            items.append((line, f"the same address as line {first_line[key]}"))
            continue
        first_line[key] = line
        items.append(_Row(line, email, fields, topic_ids, confirmed_at))
    return items


def _existing_emails(emails: list[str]) -> set[str]:
    return set(
        Subscriber.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=[e.lower() for e in emails])
        .values_list("email_lower", flat=True)
    )


def _readers_create(rows: list[_Row], *, source: ConsentSource, now: datetime) -> int:
    """Create the rows' readers, their topics and consent records, all or
    none (a savepoint). Raises IntegrityError if one of them appeared meanwhile."""
    status = Subscriber.Status.ACTIVE if source.activates else Subscriber.Status.PENDING
    with transaction.atomic():
        readers = Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=row.email,
                    status=status,
                    confirmed_at=(row.confirmed_at or now) if source.activates else None,
                    # Owed a confirmation email, sent by the sweep a batch at a time.
                    confirmation_requested_at=None if source.activates else now,
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


@dataclass
class _Chunk:
    created: int = 0
    already_present: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def _chunk_import(items: list[Item], *, source: ConsentSource) -> _Chunk:
    """Import one chunk of checked rows, inside the caller's transaction."""
    rows = [item for item in items if isinstance(item, _Row)]
    result = _Chunk(problems=[item for item in items if not isinstance(item, _Row)])
    existing = _existing_emails([row.email for row in rows])
    suppressed = suppressed_among(row.email for row in rows)
    fresh = []
    for row in rows:
        if row.email.lower() in existing:
            result.already_present += 1
        elif row.email in suppressed:
            result.problems.append((row.line, "the address is on the suppression list"))
        else:
            fresh.append(row)
    now = timezone.now()
    try:
        result.created = _readers_create(fresh, source=source, now=now)
    except IntegrityError:
        # Someone subscribed during the import: go row by row so that one
        # address does not hold back the rest of the chunk.
        for row in fresh:
            try:
                result.created += _readers_create([row], source=source, now=now)
            except IntegrityError:
                result.already_present += 1
    result.problems.sort()
    return result


def subscriber_import_create(*, data: bytes, filename: str, consent_source: str = "none",
                             by=None) -> SubscriberImport:
    """Check a CSV file as a whole and store it as a queued import, with its
    number of rows. ImportFileError, and nothing stored, for an unknown
    consent source, a file over IMPORT_MAX_BYTES, text that is not UTF-8,
    a missing header or ``email`` column, unknown columns or broken CSV.
    Rows are checked when the import runs (``subscriber_import_run``, which
    the caller runs or enqueues). Sends no email."""
    if consent_source not in CONSENT_SOURCES:
        raise ImportFileError(
            f"unknown consent source {consent_source!r}; choose one of {', '.join(CONSENT_SOURCES)}"
        )
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportFileError(f"the file is larger than {IMPORT_MAX_BYTES // 2**20} MB; split it")
    reader = _reader(data)
    _header_read(reader)
    rows = sum(1 for _ in _records(reader))
    return SubscriberImport.objects.create(
        filename="".join(char for char in filename if char.isprintable())[:200],
        consent_source=consent_source, by=by, content=data, rows_total=rows,
    )


def subscriber_import_run(
    *, import_id: int, on_chunk: Callable[[SubscriberImport, list[tuple[int, str]]], None] | None = None
) -> SubscriberImport | None:
    """Run a stored import to its end and return it (None if there is no
    such import); ``on_chunk`` hears of each committed chunk and its problems.

    Guarantees: a bad row is reported with its line and reason while the
    good rows are imported; an address that is already a reader (any case) is
    left untouched and counted; suppressed addresses are refused; readers are
    ``pending`` and owed a confirmation email unless the consent source
    activates them, each with a signup consent record (and a confirmation
    record when activated). Each chunk's readers are committed with the
    import's progress, under a lock on the import: safe to run twice, even
    at once, and to resume after a crash.
    An error stops the import where it is (the rows before it stay imported)
    and is raised again. Ends with an admin log entry under the importer.
    Sends no email itself: the confirmation sweep sends what is owed, a
    batch at a time, so a large import never floods the broker or the
    provider."""
    found = SubscriberImport.objects.filter(pk=import_id).first()
    if found is None or found.status in (SubscriberImport.Status.DONE, SubscriberImport.Status.STOPPED):
        return found
    SubscriberImport.objects.filter(pk=import_id, status=SubscriberImport.Status.QUEUED).update(
        status=SubscriberImport.Status.RUNNING, updated_at=timezone.now()
    )
    source = CONSENT_SOURCES[found.consent_source]
    try:
        items = _items_read(bytes(found.content))
        for start in range(0, len(items), CHUNK_ROWS):
            with transaction.atomic():
                # Never the file: it is read once, above, not with every chunk.
                job = SubscriberImport.objects.select_for_update().defer("content").get(pk=import_id)
                if job.status != SubscriberImport.Status.RUNNING:
                    return job  # finished or stopped by another run
                todo = [item for item in items[start : start + CHUNK_ROWS] if _line(item) > job.line_done]
                if not todo:
                    continue
                result = _chunk_import(todo, source=source)
                job.created += result.created
                job.already_present += result.already_present
                job.problem_count += len(result.problems)
                room = PROBLEMS_KEPT - len(job.problems)
                job.problems = [*job.problems, *([line, why] for line, why in result.problems[:max(room, 0)])]
                job.rows_done += len(todo)
                job.line_done = _line(todo[-1])
                job.save(update_fields=_PROGRESS_FIELDS)
            if on_chunk is not None:
                on_chunk(job, result.problems)
    except ImportFileError as exc:
        return subscriber_import_stop(import_id=import_id, why=f"nothing was imported: {exc}")
    except Exception as exc:
        subscriber_import_stop(import_id=import_id, why=f"stopped by an error ({type(exc).__name__})")
        raise
    return _finish(import_id, status=SubscriberImport.Status.DONE)


def subscriber_import_stop(*, import_id: int, why: str) -> SubscriberImport | None:
    """Stop an import where it is: the rows before ``line_done`` stay
    imported (importing the file again adds the rest). Idempotent."""
    return _finish(import_id, status=SubscriberImport.Status.STOPPED, why=why)


def _finish(import_id: int, *, status: str, why: str = "") -> SubscriberImport | None:
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status in (SubscriberImport.Status.DONE, SubscriberImport.Status.STOPPED):
            return job
        job.status, job.error, job.content, job.finished_at = status, why[:500], b"", timezone.now()
        job.save()
        stopped = f" Stopped after line {job.line_done}: {why}." if why else ""
        editorial_log_summary(
            by=job.by,
            model=Subscriber,
            title=f"CSV import {job.filename}".strip(),
            message=f"Imported readers from {job.filename or 'a CSV file'} with consent source "
            f"“{job.consent_source}”: {job.summary()}.{stopped}",
        )
    logger.info("CSV import %s %s: %s", job.pk, job.status, job.summary())
    return job


def imports_stalled(*, now: datetime | None = None) -> list[int]:
    """Imports whose run was lost (never started, or its worker died): the
    ids the sweep hands to a worker again. Queued ones get the sweep's
    grace period first."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS)
    return list(
        SubscriberImport.objects.filter(
            Q(status=SubscriberImport.Status.QUEUED, updated_at__lte=now - grace)
            | Q(status=SubscriberImport.Status.RUNNING, updated_at__lte=now - IMPORT_STALLED_AFTER)
        ).values_list("pk", flat=True)
    )


_PROGRESS_FIELDS = ["created", "already_present", "problem_count", "problems", "rows_done", "line_done",
                    "updated_at"]


def _line(item: Item) -> int:
    return item.line if isinstance(item, _Row) else item[0]
