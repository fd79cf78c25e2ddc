"""The CSV import benchmark: a synthetic file of new readers, stored as the
upload request stores it, then run to its end as a worker runs it, inside a
transaction that is rolled back (the database is left as it was).

    python -m bench.importing [--rows 100000] [--json]

Prints the request's share (checking and storing the file) and the run's
(checking every cell, creating readers, topics and consent records a chunk
at a time) separately: only the first happens inside the upload request.
"""

from __future__ import annotations

import json
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

import bench.bootstrap
from subscribers.importing import subscriber_import_create, subscriber_import_run

TOPICS = ("reasoning", "code", "agents-tools", "multimodal", "inference-serving", "long-context", "surveys")
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/Berlin")
KEYWORDS = ("", "Mamba, KV cache", "RLHF", "LoRA, DPO, GRPO")


def csv_synthetic(rows: int, *, seed: int = 7) -> bytes:
    """A file of ``rows`` new readers with every column the import reads."""
    rng = random.Random(seed)
    lines = ["email,topics,keywords,frequency,weekday,timezone,send_hour"]
    for i in range(rows):
        topics = ";".join(rng.sample(TOPICS, rng.randint(0, 3)))
        lines.append(
            f'bench-import-{i:07d}@bench.invalid,{topics},"{rng.choice(KEYWORDS)}",'
            f"{rng.choice(('daily', 'weekly'))},{rng.randint(0, 6)},{rng.choice(ZONES)},{rng.randint(0, 23)}"
        )
    return ("\n".join(lines) + "\n").encode()


class _RolledBack(Exception):
    pass


def import_bench(*, rows: int) -> dict:
    data = csv_synthetic(rows)
    result: dict = {"rows": rows, "megabytes": round(len(data) / 2**20, 1)}
    try:
        with transaction.atomic():
            start = time.perf_counter()
            stored = subscriber_import_create(data=data, filename="bench.csv")
            result["request_s"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            finished = subscriber_import_run(import_id=stored.pk)
            result["run_s"] = round(time.perf_counter() - start, 2)
            result["created"] = finished.created
            result["rows_per_s"] = round(rows / result["run_s"]) if result["run_s"] else 0
            raise _RolledBack
    except _RolledBack:
        pass
    return result


class Command(BaseCommand):
    help = "Time a CSV import of synthetic new readers (rolled back afterwards)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, rows: int, json: bool, **options):
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        result = import_bench(rows=rows)
        if json:
            self.stdout.write(_json.dumps(result))
        else:
            self.stdout.write(
                f"{result['rows']:,} rows ({result['megabytes']} MB): request {result['request_s']} s, "
                f"run {result['run_s']} s ({result['rows_per_s']:,} rows/s), {result['created']:,} created"
            )


_json = json

if __name__ == "__main__":
    bench.bootstrap.command_main(module="bench.importing", commands={"importing": Command})
