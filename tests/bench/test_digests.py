"""The digest benchmark at a tiny size (the real run is 100,000 readers)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench.digests import Command
from newsletter.models import Paper

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


def test_bench_digests_reports_its_figures_for_both_formats_and_leaves_the_database_unchanged():
    before = Paper.objects.count()
    out = StringIO()
    call_command(Command(), "--subscribers", "300", "--naive-sample", "3", "--json",
                 stdout=out, stderr=StringIO())
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["digest_format"] for r in results] == ["full", "compact"]
    for result in results:
        assert result["subscribers"] == 300 and result["papers"] == 91
        for key in ("assembly_per_s", "assembly_per_cpu_s", "naive_per_s", "ratio", "peak_rss_mb_10k",
                    "peak_rss_mb_100k"):
            assert result[key] > 0
        assert result["ratio"] == pytest.approx(result["assembly_per_s"] / result["naive_per_s"], rel=0.01)
        assert 0 < result["max_html_bytes"] < 100_000
    # The compact layout is the smaller email.
    assert results[1]["max_html_bytes"] < results[0]["max_html_bytes"]
    assert Paper.objects.count() == before


def test_bench_digests_measures_one_format_when_asked():
    out = StringIO()
    call_command(Command(), "--subscribers", "50", "--naive-sample", "2", "--format", "compact", "--json",
                 stdout=out, stderr=StringIO())
    [result] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert result["digest_format"] == "compact" and result["subscribers"] == 50
