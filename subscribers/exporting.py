"""Readers out as CSV: the admin's download and the ``export_subscribers``
command. An export can be imported again as it is (``subscribers/importing.py``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from newsletter.models import Topic
from subscribers.models import Subscriber

EXPORT_COLUMNS = [
    "email", "status", "topics", "keywords", "frequency", "weekday", "timezone", "send_hour",
    "paused", "created_at", "confirmed_at", "unsubscribed_at",
]
# Spreadsheets run cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _export_cell(value) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    if text.startswith(FORMULA_START):
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
