"""The delivery benchmark runs end to end at a small size and reports what
docs/performance.md's table is made of; its dedicated database is dropped again."""

import json
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from bench.delivery import Command

pytestmark = pytest.mark.django_db(transaction=True)

REQUIRED = {"subscribers", "latency_ms", "limit_per_s", "pipeline_per_s", "ratio", "p95_s",
            "worker_peak_rss_mb", "queries_per_delivery", "duplicates", "losses"}


def _databases() -> set[str]:
    db = connection.settings_dict
    with psycopg.connect(dbname="postgres", user=db["USER"], password=db["PASSWORD"] or None,
                         host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432) as admin:
        return {row[0] for row in admin.execute("SELECT datname FROM pg_database")}


def test_a_small_run_reports_every_figure_with_nothing_lost(require_postgres, require_redis):
    out = StringIO()
    call_command(Command(), subscribers=300, latency_ms=[0.0], workers=1, concurrency=4,
                 limit_messages=150, timeout=120, json=True, stdout=out, stderr=StringIO())
    (result,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert set(result) >= REQUIRED
    assert result["subscribers"] == 300
    assert result["sent"] + result["skipped"] + result["failed"] == 300
    assert result["sent"] > 250 and result["failed"] == 0
    assert result["duplicates"] == 0 and result["losses"] == 0
    assert result["limit_per_s"] > 0 and result["pipeline_per_s"] > 0
    assert result["limit_per_s"] == pytest.approx(
        (result["limit_before_per_s"] + result["limit_after_per_s"]) / 2, rel=1e-3
    )
    assert 0 < result["queries_per_delivery"] <= 3
    assert set(result["pipeline_cpu_others_ms"]) == {"provider", "postgres", "redis"}
    assert f"{connection.settings_dict['NAME']}_bench_delivery" not in _databases()
