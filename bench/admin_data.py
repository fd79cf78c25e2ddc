"""Benchmark data for the admin: many readers and deliveries, quickly.

Rows are marked so they can be removed again: readers' addresses end in
``@bench.invalid``, papers' ids start with ``bench/`` and editions created
here have a note starting with ``[bench]``. On PostgreSQL rows go in with COPY
(a million deliveries in well under a minute); elsewhere with bulk_create, for
small runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH
from newsletter.models import Delivery, Edition, Paper, PaperTopic, Topic
from subscribers.models import ConsentRecord, Subscriber

DOMAIN = "@bench.invalid"
PAPER_PREFIX = "bench/"
EDITION_MARK = "[bench]"
SEED_FILE = SAMPLE_PATH.with_name("daily_papers_seed.json")  # the same papers as plain records
TIMEZONES = [
    "UTC", "Europe/Paris", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata",
    "Australia/Sydney",
]
SURNAMES = [
    "Müller", "Zhang", "García", "Nguyen", "Okafor", "Kowalski", "Smith", "Tanaka", "Rossi", "Ivanova",
]
GIVEN = ["Ana", "Wei", "Liam", "Priya", "Jonas", "Sofia", "Kenji", "Amara", "Lucas", "Mei"]
# Reader statuses, with their share of the list.
STATUS_MIX = [("active", 75), ("pending", 10), ("unsubscribed", 10), ("bounced", 3), ("complained", 2)]
SKIP_REASONS = ["suppressed", "no papers for the reader's topics", "paused"]
FAIL_REASONS = ["provider rejected: invalid recipient", "provider error after 3 attempts"]


@dataclass
class BenchReport:
    papers: int = 0
    editions: int = 0
    readers: int = 0
    reader_topics: int = 0
    consents: int = 0
    deliveries: int = 0


def bench_present() -> bool:
    return Subscriber.objects.filter(email__endswith=DOMAIN).exists() or Paper.objects.filter(
        arxiv_id__startswith=PAPER_PREFIX
    ).exists()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _delete(model, where: str, params: list) -> None:
    # Only table and column names from the models are formatted into SQL;
    # values go as parameters.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table(model)} WHERE {where}", params)  # noqa: S608


def bench_remove() -> None:
    """Delete every marked row (and the deliveries and records hanging on
    them) with set-based SQL; Django's cascade would load a million rows."""
    readers = f"SELECT id FROM {_table(Subscriber)} WHERE email LIKE %s"  # noqa: S608
    papers = f"SELECT id FROM {_table(Paper)} WHERE arxiv_id LIKE %s"  # noqa: S608
    editions, deliveries = _table(Edition), _table(Delivery)
    reader_rows = "subscriber_id IN (" + readers + ")"
    paper_rows = "paper_id IN (" + papers + ")"
    unused_edition = f"NOT EXISTS (SELECT 1 FROM {deliveries} d WHERE d.edition_id = {editions}.id)"  # noqa: S608
    with transaction.atomic():
        for model in (Delivery, ConsentRecord, Subscriber.topics.through):
            _delete(model, reader_rows, ["%" + DOMAIN])
        _delete(Subscriber, "email LIKE %s", ["%" + DOMAIN])
        for model in (PaperTopic, Paper.excluded_topics.through):
            _delete(model, paper_rows, [PAPER_PREFIX + "%"])
        _delete(Paper, "arxiv_id LIKE %s", [PAPER_PREFIX + "%"])
        _delete(Edition, "note LIKE %s AND " + unused_edition, [EDITION_MARK + "%"])


def _row_values(fields, row: dict) -> dict:
    return {f.attname: row[f.attname] if f.attname in row else f.get_default() for f in fields}


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format (faster than adapting value by value)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | dict):
        value = json.dumps(value)
    elif isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def rows_insert(model, rows: Iterable[dict]) -> int:
    """Insert dict rows (attnames -> values); fields a row lacks get their
    default. COPY on PostgreSQL, bulk_create elsewhere (which stamps
    auto_now_add fields with the current time). Returns the count."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    count = 0
    if connection.vendor == "postgresql":
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cursor, cursor.copy(
            f"COPY {_table(model)} ({columns}) FROM STDIN"
        ) as copy:
            lines = []
            for row in rows:
                lines.append("\t".join(_copy_text(v) for v in _row_values(fields, row).values()))
                count += 1
                if len(lines) == 10_000:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
        return count
    batch: list = []
    for row in rows:
        batch.append(model(**_row_values(fields, row)))
        if len(batch) == 2000:
            model.objects.bulk_create(batch)
            count, batch = count + len(batch), []
    model.objects.bulk_create(batch)
    return count + len(batch)


def _ids(model: type[models.Model], **filters) -> list[int]:
    return list(model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True))


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=timezone.get_current_timezone())


def _papers_seed(*, days: Sequence[date], per_day: int, topics: list[Topic], rng: random.Random) -> int:
    source = json.loads(SEED_FILE.read_text(encoding="utf-8"))["papers"]
    rows = []
    for d_index, day in enumerate(days):
        for i in range(per_day):
            item = source[(d_index * per_day + i) % len(source)]
            rows.append(
                Paper(
                    arxiv_id=f"{PAPER_PREFIX}{d_index * per_day + i:07d}",
                    title=f"{item['title']} ({day:%b %d} #{i + 1})",
                    abstract=item.get("summary", ""),
                    authors=[f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(rng.randint(1, 8))],
                    featured_on=day,
                    upvotes=rng.randint(0, 300),
                    num_comments=rng.randint(0, 20),
                    github_repo=f"https://github.com/bench/repo{i}" if i % 3 == 0 else "",
                    pinned=i < 2,
                    hidden=i == per_day - 1,
                    source=Paper.Source.FILE,
                    sources=["file"],
                )
            )
    papers = Paper.objects.bulk_create(rows, batch_size=1000)
    links = [
        PaperTopic(paper_id=p.pk, topic=topic, score=1.0)
        for p in papers
        for topic in rng.sample(topics, rng.randint(1, 3))
    ]
    PaperTopic.objects.bulk_create(links, batch_size=2000)
    return len(papers)


def bench_seed(*, readers: int, deliveries: int, days: int = 30, papers_per_day: int = 100,
               seed: int = 7, today: date | None = None) -> BenchReport:
    """Seed ``readers`` readers (with topics and consent records), ``days``
    editions ending today with their papers, and ``deliveries`` deliveries
    spread over those editions among active readers. Deterministic for a
    given ``seed``. Call :func:`bench_remove` first to seed again."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    report = BenchReport()
    topics = list(Topic.objects.filter(active=True))
    dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    with transaction.atomic():
        report.papers = _papers_seed(days=dates, per_day=papers_per_day, topics=topics, rng=rng)
        editions = []
        for day in dates:
            edition, created = Edition.objects.get_or_create(
                date=day, defaults={"note": f"{EDITION_MARK} benchmark edition"}
            )
            editions.append(edition)
            report.editions += created

        statuses = [s for s, share in STATUS_MIX for _ in range(share)]
        now = timezone.now()

        def reader_rows():
            for i in range(readers):
                # 37 is prime to 100: every run of readers gets the whole mix.
                status = statuses[(i * 37) % len(statuses)]
                created = now - timedelta(days=rng.randint(0, 540), minutes=rng.randint(0, 1439))
                confirmed = created + timedelta(minutes=rng.randint(1, 600)) if status != "pending" else None
                left = min(now, created + timedelta(days=rng.randint(1, 400))) if status not in (
                    "active", "pending") else None
                if left is not None and confirmed is not None and left < confirmed:
                    left = confirmed
                yield {
                    "email": f"reader{i:06d}{DOMAIN}", "status": status,
                    "frequency": "weekly" if i % 7 == 0 else "daily", "weekday": i % 7,
                    "timezone": TIMEZONES[i % len(TIMEZONES)], "send_hour": 5 + i % 5, "paused": i % 50 == 0,
                    "keywords": "", "confirmed_at": confirmed,
                    "unsubscribed_at": left if status == "unsubscribed" else None,
                    "confirmation_sent_at": created, "created_at": created,
                    "updated_at": left or confirmed or created,
                }

        report.readers = rows_insert(Subscriber, reader_rows())
        reader_ids = _ids(Subscriber, email__endswith=DOMAIN)
        active_ids = _ids(Subscriber, email__endswith=DOMAIN, status="active")
        topic_ids = [t.pk for t in topics]
        report.reader_topics = rows_insert(
            Subscriber.topics.through,
            ({"subscriber_id": rid, "topic_id": tid} for rid in reader_ids
             for tid in rng.sample(topic_ids, rng.randint(1, 4))),
        )
        report.consents = rows_insert(
            ConsentRecord,
            ({"subscriber_id": rid, "kind": "signup", "source": "web", "wording": "I want the daily digest.",
              "wording_version": "2025-07", "created_at": now, "ip": None} for rid in reader_ids),
        )

        per_edition = -(-deliveries // len(editions))

        def delivery_rows():
            made = 0
            for index, edition in enumerate(editions):
                chosen = rng.sample(active_ids, min(per_edition, len(active_ids), deliveries - made))
                latest = index == len(editions) - 1
                for rid in chosen:
                    roll = rng.random()
                    due = _at(edition.date, 5 + rid % 5, rng)
                    if latest and roll < 0.05:
                        status, reason, sent = "pending", "", None
                    elif roll < 0.93:
                        status, reason, sent = "sent", "", due + timedelta(seconds=rng.randint(1, 900))
                    elif roll < 0.97:
                        status, reason, sent = "skipped", rng.choice(SKIP_REASONS), None
                    else:
                        status, reason, sent = "failed", rng.choice(FAIL_REASONS), None
                    yield {
                        "subscriber_id": rid, "edition_id": edition.pk, "status": status, "reason": reason,
                        "attempts": 0 if status == "pending" else 1,
                        "provider_message_id": f"bench-{edition.pk}-{rid}" if sent else "",
                        "error": "", "paper_ids": [], "due_at": due, "claimed_at": sent, "sent_at": sent,
                        "created_at": due, "updated_at": sent or due,
                    }
                made += len(chosen)

        report.deliveries = rows_insert(Delivery, delivery_rows())
    if connection.vendor == "postgresql":
        # Fresh statistics and visibility maps, as autovacuum would leave them
        # (VACUUM cannot run inside a transaction, ANALYZE can).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for model in (Paper, PaperTopic, Edition, Subscriber, Subscriber.topics.through, ConsentRecord,
                          Delivery):
                cursor.execute(f"{command} {_table(model)}")
    return report
