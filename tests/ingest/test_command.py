"""``manage.py ingest_papers``: options, one summary line, clear errors, a
progress bar only on a terminal."""

import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command

from newsletter.models import Paper
from tests.fake_sources import Reply, arxiv_paged, atom_entry, hf_item, hf_paged, sources_serving

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(*args, stderr=None):
    out, err = io.StringIO(), stderr or io.StringIO()
    call_command("ingest_papers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def sources(settings):
    with sources_serving(settings, INGEST_HTTP_RETRIES=1, INGEST_HTTP_BACKOFF_SECONDS=0) as pair:
        yield pair


def test_sample_file_ends_with_one_summary_line():
    out, err = run("--source", "file", "--sample")

    assert out == "file sample_daily_papers.json: fetched 91, created 91, updated 0, unchanged 0, skipped 0\n"
    assert err == ""
    assert Paper.objects.count() == 91


def test_file_with_featured_date_and_a_skipped_item(tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text(json.dumps(hf_item("2508.00001")) + "\n" + json.dumps({"paper": {}}) + "\n")
    item = hf_item("2508.00002")
    del item["paper"]["submittedOnDailyAt"]
    path.write_text(path.read_text() + json.dumps(item) + "\n")

    out, err = run("--source", "file", str(path), "--featured-on", "2025-07-01")

    assert err == "skipped item 2: paper has no id\n"
    assert out == (
        "file day.jsonl: fetched 3, created 2, updated 0, unchanged 0, skipped 1 (item 2: paper has no id)\n"
    )
    assert str(Paper.objects.get(arxiv_id="2508.00002").featured_on) == "2025-07-01"


@time_machine.travel(datetime(2025, 8, 6, 9, 0, tzinfo=UTC), tick=False)
def test_hf_since_fetches_every_day_up_to_today(sources):
    hf, _ = sources
    hf.route("/api/daily_papers", hf_paged({
        "2025-08-04": [hf_item("2508.00001", featured="2025-08-04")],
        "2025-08-06": [hf_item("2508.00002", featured="2025-08-06", upvotes=3)],
    }))

    out, _ = run("--source", "hf", "--since", "2025-08-04")

    assert out == "hf 2025-08-04..2025-08-06: fetched 2, created 2, updated 0, unchanged 0, skipped 0\n"
    assert [c["date"] for c in hf.calls("/api/daily_papers")] == ["2025-08-04", "2025-08-05", "2025-08-06"]


@time_machine.travel(datetime(2025, 8, 6, 9, 0, tzinfo=UTC), tick=False)
def test_hf_defaults_to_today_in_utc(sources):
    hf, _ = sources
    hf.route("/api/daily_papers", hf_paged({}))

    out, _ = run("--source", "hf")

    assert out.startswith("hf 2025-08-06: fetched 0, created 0")


def test_arxiv_with_category_and_max(sources):
    _, arxiv = sources
    arxiv.route("/api/query", arxiv_paged([atom_entry(f"2508.0000{n}") for n in range(1, 6)]))

    out, _ = run("--source", "arxiv", "--category", "cs.CL", "--max", "3")

    assert out == "arxiv cs.CL: fetched 3, created 3, updated 0, unchanged 0, skipped 0\n"


def test_source_errors_become_one_clear_command_error(sources):
    hf, _ = sources
    hf.route("/api/daily_papers", [Reply(503, "Service Unavailable")])

    with pytest.raises(CommandError) as error:
        run("--source", "hf", "--date", "2025-08-05")

    assert str(error.value) == (
        "Hugging Face daily papers for 2025-08-05 (page 0): HTTP 503: Service Unavailable; "
        "gave up after 2 attempts"
    )
    assert not Paper.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "hf", "--date", "2025-02-30"], "--date '2025-02-30' is not a date; use YYYY-MM-DD"),
        (["--source", "hf", "--category", "cs.CL"], "--category cannot be used with --source hf"),
        (["--source", "arxiv"], "--source arxiv needs --category (e.g. cs.CL)"),
        (["--source", "arxiv", "--category", "cs CL"], "'cs CL' is not an arXiv category (e.g. cs.CL)"),
        (["--source", "arxiv", "--category", "cs.CL", "--max", "0"], "--max must be at least 1"),
        (["--source", "file"], "--source file needs a PATH (or --sample)"),
        (["--source", "file", "/nonexistent/papers.json"], "file /nonexistent/papers.json: cannot read"),
        (["--source", "file", "--sample", "--date", "2025-08-05"],
         "--date cannot be used with --source file"),
        (["--source", "hf", "--since", "2999-01-01"], "--since 2999-01-01 is in the future"),
    ],
)
def test_bad_options_are_refused_in_words(args, message):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert str(error.value).startswith(message)


def test_progress_bar_on_a_terminal_only(tmp_path):
    terminal = Terminal()
    run("--source", "file", "--sample", stderr=terminal)
    assert "\rstoring" in terminal.getvalue()
    assert "[##############################] 91/91" in terminal.getvalue()

    _, err = run("--source", "file", "--sample")
    assert "\r" not in err
