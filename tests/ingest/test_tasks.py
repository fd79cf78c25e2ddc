"""Beat runs ingestion: Hugging Face every hour, arXiv once a day, from settings."""

from datetime import UTC, datetime

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings as django_settings

from newsletter.models import Paper
from newsletter.tasks import ingest_arxiv_daily, ingest_hf_recent
from tests.fake_sources import Reply, atom_entry, atom_feed, hf_item, hf_paged, sources_serving
from tests.ops.test_config_errors import run_manage

PRINT_SCHEDULE = (
    "from django.conf import settings; s = settings.CELERY_BEAT_SCHEDULE; "
    "print(s.get('ingest-hf-recent', {}).get('schedule'), s.get('ingest-arxiv-daily', {}).get('schedule'))"
)


def test_default_schedule_is_hourly_and_daily():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["ingest-hf-recent"] == {"task": "newsletter.tasks.ingest_hf_recent", "schedule": 3600}
    assert schedule["ingest-arxiv-daily"]["task"] == "newsletter.tasks.ingest_arxiv_daily"
    assert schedule["ingest-arxiv-daily"]["schedule"] == crontab(minute=15, hour=6)


def test_schedule_comes_from_the_environment():
    result = run_manage("shell", "-v0", "-c", PRINT_SCHEDULE,
                        INGEST_HF_EVERY_MINUTES="15", INGEST_ARXIV_HOUR_UTC="22")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("900 <crontab: 15 22 * * *")

    off = run_manage("shell", "-v0", "-c", PRINT_SCHEDULE, INGEST_HF_EVERY_MINUTES="0", ARXIV_CATEGORIES=" ")
    assert off.stdout.strip() == "None None"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"INGEST_ARXIV_HOUR_UTC": "25"}, "INGEST_ARXIV_HOUR_UTC=25 must be an hour from 0 to 23"),
        ({"ARXIV_CATEGORIES": "cs.CL,cs CL"}, "ARXIV_CATEGORIES: 'cs CL' is not an arXiv category"),
        ({"HF_API_URL": "huggingface.co"}, "HF_API_URL='huggingface.co' must start with http://"),
        ({"INGEST_HTTP_RETRIES": "-1"}, "INGEST_HTTP_RETRIES=-1 must be at least 0"),
    ],
)
def test_bad_ingest_setting_is_one_clear_line(overrides, expected):
    result = run_manage("check", **overrides)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def sources(settings):
    with sources_serving(settings, INGEST_HTTP_RETRIES=0) as pair:
        yield pair


@pytest.mark.django_db
@time_machine.travel(datetime(2025, 8, 6, 0, 30, tzinfo=UTC), tick=False)
def test_hf_task_refreshes_yesterday_and_today(sources):
    hf, _ = sources
    hf.route("/api/daily_papers", hf_paged({
        "2025-08-05": [hf_item("2508.00001", featured="2025-08-05", upvotes=30)],
        "2025-08-06": [hf_item("2508.00002", featured="2025-08-06", upvotes=2)],
    }))

    ingest_hf_recent()

    assert [c["date"] for c in hf.calls("/api/daily_papers")] == ["2025-08-05", "2025-08-06"]
    assert dict(Paper.objects.values_list("arxiv_id", "upvotes")) == {"2508.00001": 30, "2508.00002": 2}


@pytest.mark.django_db
def test_arxiv_task_runs_every_category_and_reports_failures(sources, settings):
    _, arxiv = sources
    settings.ARXIV_CATEGORIES = ["cs.CL", "cs.CV"]

    def respond(params):
        if params["search_query"] == "cat:cs.CV":
            return Reply(502, "Bad Gateway")
        return Reply(200, atom_feed([atom_entry("2508.00001")]), content_type="application/atom+xml")

    arxiv.route("/api/query", respond)

    with pytest.raises(RuntimeError, match=r"arXiv ingestion failed for: arXiv cs.CV \(start=0\): HTTP 502"):
        ingest_arxiv_daily()

    assert Paper.objects.filter(arxiv_id="2508.00001").exists()  # cs.CL was stored
