"""Hugging Face Daily Papers ingestion against a local server speaking the API."""

import json
import logging
from datetime import UTC, date, datetime

import pytest

from newsletter.ingest.hf import hf_item_parse, papers_ingest_hf
from newsletter.ingest.records import DocumentError, RecordError, SourceError
from newsletter.models import Paper
from tests.fake_sources import DATA, FakeSource, Reply, hf_item, hf_paged

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 5)
PATH = "/api/daily_papers"


@pytest.fixture
def hf(settings):
    source = FakeSource().start()
    settings.HF_API_URL = source.url
    settings.INGEST_HTTP_RETRIES = 2
    settings.INGEST_HTTP_BACKOFF_SECONDS = 0
    settings.INGEST_HTTP_TIMEOUT_SECONDS = 5
    yield source
    source.stop()


def test_recorded_page_maps_every_field(hf):
    recorded = json.loads((DATA / "hf_daily_papers_2025-08-05.json").read_text())
    hf.route(PATH, hf_paged({"2025-08-05": recorded}))

    report = papers_ingest_hf(days=[DAY])

    assert (report.fetched, report.created, report.skipped) == (2, 2, [])
    paper = Paper.objects.get(arxiv_id="2508.00819")
    assert paper.title == "Beyond Fixed: Variable-Length Denoising for Diffusion Large Language Models"
    assert paper.authors == ["Jinsong Li", "Xiaoyi Dong", "Jiaqi Wang"]  # the hidden author is left out
    assert paper.published_on == date(2025, 8, 1)  # arXiv date
    assert paper.featured_on == DAY  # submittedOnDailyAt, not the item's publishedAt
    assert (paper.upvotes, paper.num_comments, paper.github_stars) == (41, 3, 57)
    assert paper.github_repo == "https://github.com/Li-Jinsong/DAEDAL"
    assert paper.organization == "Shanghai AI Laboratory"
    assert paper.ai_keywords[:2] == ["Diffusion Large Language Models", "DLLMs"]
    assert paper.ai_summary.startswith("DAEDAL lets diffusion language models")
    assert paper.thumbnail.endswith("/2508.00819.png")
    assert paper.source == "hf" and paper.sources == ["hf"]
    assert paper.withdrawn_at is None
    assert "diffusion-lm" in set(paper.topics.values_list("slug", flat=True))
    other = Paper.objects.get(arxiv_id="2507.06607")  # nulls and an unknown field are fine
    assert (other.github_stars, other.ai_summary, other.organization) == (None, "", "")
    assert other.project_page == "https://aka.ms/sambay"


def test_pages_with_p_and_limit_until_a_short_page(hf, settings):
    settings.HF_PAGE_SIZE = 2
    items = [hf_item(f"2508.0000{n}") for n in range(1, 6)]
    hf.route(PATH, hf_paged({"2025-08-05": items}))

    report = papers_ingest_hf(days=[DAY])

    assert report.created == 5
    assert [(c["date"], c["p"], c["limit"]) for c in hf.calls(PATH)] == [
        ("2025-08-05", "0", "2"), ("2025-08-05", "1", "2"), ("2025-08-05", "2", "2"),
    ]


def test_a_server_that_ignores_the_page_does_not_loop(hf, settings):
    settings.HF_PAGE_SIZE = 2
    hf.route(PATH, [Reply(200, [hf_item("2508.00001"), hf_item("2508.00002")])])

    report = papers_ingest_hf(days=[DAY])

    assert report.created == 2
    assert len(hf.calls(PATH)) == 2  # page 1 repeated page 0: stop


def test_a_rejected_date_is_a_clear_error_naming_source_and_date(hf):
    hf.route(PATH, hf_paged({}, rejected=("2099-01-01",)))

    with pytest.raises(SourceError) as error:
        papers_ingest_hf(days=[date(2099, 1, 1)])

    assert str(error.value) == (
        "Hugging Face daily papers for 2099-01-01 (page 0): the server refused the request "
        "(HTTP 400: Invalid date: 2099-01-01)"
    )
    assert len(hf.calls(PATH)) == 1  # a 400 is not retried
    assert not Paper.objects.exists()


def test_429_is_retried_then_succeeds(hf):
    hf.route(PATH, [
        Reply(429, "Too Many Requests", headers={"Retry-After": "0"}),
        Reply(200, [hf_item("2508.00001", upvotes=7)]),
    ])

    report = papers_ingest_hf(days=[DAY])

    assert report.created == 1
    assert len(hf.calls(PATH)) == 2
    assert Paper.objects.get().upvotes == 7


def test_500_until_retries_run_out_fails_and_writes_nothing(hf):
    hf.route(PATH, [Reply(500, "<html>Internal Server Error</html>", content_type="text/html")])

    with pytest.raises(SourceError) as error:
        papers_ingest_hf(days=[DAY])

    assert "Hugging Face daily papers for 2025-08-05" in str(error.value)
    assert "HTTP 500" in str(error.value)
    assert "gave up after 3 attempts" in str(error.value)
    assert len(hf.calls(PATH)) == 3
    assert not Paper.objects.exists()


def test_a_slow_server_times_out_and_is_retried(hf, settings, caplog):
    # The first answer is held until the server stops: only the client's
    # timeout can end that attempt, however slow the machine. The retry is
    # answered at once, under the fixture's generous timeout again.
    settings.INGEST_HTTP_TIMEOUT_SECONDS = 0.2
    replies = [Reply(200, [], delay=3600), Reply(200, [hf_item("2508.00001")])]

    def answer(params):
        settings.INGEST_HTTP_TIMEOUT_SECONDS = 5
        return replies.pop(0)

    hf.route(PATH, answer)
    with caplog.at_level(logging.INFO, logger="newsletter.ingest.fetch"):
        report = papers_ingest_hf(days=[DAY])

    assert report.created == 1
    assert len(hf.calls(PATH)) == 2
    assert "no answer (TimeoutError: timed out); retry 1 of 2" in caplog.text


def test_a_malformed_item_is_skipped_with_its_reason(hf):
    hf.route(PATH, [Reply(200, [
        hf_item("2508.00001"),
        hf_item("2508.00002", upvotes="many"),
        {"paper": {"title": "No id"}},
        "not an object",
        hf_item("2508.00005", title="x" * 501),
        hf_item("2508.00006", publishedAt="last tuesday"),
        hf_item("2508.00007"),
    ])])

    report = papers_ingest_hf(days=[DAY])

    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2508.00001", "2508.00007"]
    assert (report.fetched, report.created) == (7, 2)
    assert report.skipped == [
        ("2025-08-05 item 2 (2508.00002)", "upvotes is not a non-negative whole number"),
        ("2025-08-05 item 3", "paper has no id"),
        ("2025-08-05 item 4", "item is not an object"),
        ("2025-08-05 item 5 (2508.00005)", "title is longer than 500 characters"),
        ("2025-08-05 item 6 (2508.00006)", "publishedAt is not a date: 'last tuesday'"),
    ]
    assert "skipped 5 (2025-08-05 item 2 (2508.00002): upvotes is not" in report.summary()


def test_a_body_that_is_not_json_fails_and_writes_nothing(hf):
    hf.route(PATH, [Reply(200, "<!doctype html><h1>Maintenance</h1>", content_type="text/html")])

    with pytest.raises(DocumentError) as error:
        papers_ingest_hf(days=[DAY])

    assert str(error.value).startswith(
        "Hugging Face daily papers for 2025-08-05 (page 0): the answer is not JSON (text/html"
    )
    assert not Paper.objects.exists()


def test_one_bad_day_means_no_day_is_written(hf):
    good = [hf_item("2508.00001")]

    def respond(params):
        return Reply(200, good) if params["date"] == "2025-08-04" else Reply(200, {"error": "oops"})

    hf.route(PATH, respond)

    with pytest.raises(DocumentError, match=r"2025-08-05 .* not a list of papers"):
        papers_ingest_hf(days=[date(2025, 8, 4), DAY])

    assert not Paper.objects.exists()


def test_duplicate_ids_with_different_versions_are_one_paper_with_the_latest_text(hf):
    hf.route(PATH, [Reply(200, [
        hf_item("2508.00001v2", title="Second version", upvotes=3),
        hf_item("2508.00001v1", title="First version", upvotes=9),
    ])])

    report = papers_ingest_hf(days=[DAY])

    paper = Paper.objects.get()
    assert (paper.arxiv_id, paper.version, paper.title) == ("2508.00001", 2, "Second version")
    assert paper.upvotes == 9
    assert (report.fetched, report.created, report.updated) == (2, 1, 0)


def test_reingest_refreshes_counts_but_keeps_editor_decisions(hf):
    hf.route(PATH, [Reply(200, [hf_item("2508.00001", title="Original", upvotes=10, comments=1)])])
    papers_ingest_hf(days=[DAY])
    Paper.objects.filter(arxiv_id="2508.00001").update(
        hidden=True, pinned=True, title="Edited by an editor", title_edited=True
    )

    hf.route(PATH, [Reply(200, [hf_item("2508.00001", title="Source title v2", upvotes=25, comments=4)])])
    report = papers_ingest_hf(days=[DAY])

    paper = Paper.objects.get()
    assert (paper.hidden, paper.pinned, paper.title) == (True, True, "Edited by an editor")
    assert (paper.upvotes, paper.num_comments) == (25, 4)
    assert report.updated == 1

    # A stale page with fewer upvotes never lowers the count.
    hf.route(PATH, [Reply(200, [hf_item("2508.00001", title="Source title v2", upvotes=5, comments=4)])])
    assert papers_ingest_hf(days=[DAY]).unchanged == 1
    assert Paper.objects.get().upvotes == 25


def test_item_without_featured_date_gets_the_requested_day(hf):
    item = hf_item("2508.00001")
    del item["paper"]["submittedOnDailyAt"]
    hf.route(PATH, [Reply(200, [item])])

    papers_ingest_hf(days=[date(2025, 8, 3)])

    assert Paper.objects.get().featured_on == date(2025, 8, 3)


def test_html_in_a_title_is_stored_as_text(hf):
    hf.route(PATH, [Reply(200, [hf_item("2508.00001", title="<script>alert(1)</script> Attention")])])

    papers_ingest_hf(days=[DAY])

    assert Paper.objects.get().title == "<script>alert(1)</script> Attention"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": "not-an-id"}, "not an arXiv id: 'not-an-id'"),
        ({"id": 2508.00001}, "paper has no id"),
        ({"upvotes": -1}, "upvotes is not a non-negative whole number"),
        ({"upvotes": True}, "upvotes is not a non-negative whole number"),
        ({"upvotes": 10**12}, "upvotes is absurdly large (1000000000000)"),
        ({"authors": "Author One"}, "authors is not a list"),
        ({"ai_keywords": [1, 2]}, "ai_keywords is not a list of text"),
        ({"submittedOnDailyAt": "2025-13-45T00:00:00Z"},
         "submittedOnDailyAt is not a date: '2025-13-45T00:00:00Z'"),
        ({"summary": "word " * 5000}, "summary is longer than 20000 characters"),
    ],
)
def test_item_parse_names_what_is_wrong(change, reason):
    item = hf_item("2508.00001")
    item["paper"].update(change)
    item["summary"] = item["paper"].get("summary")

    with pytest.raises(RecordError) as error:
        hf_item_parse(item)

    assert str(error.value) == reason


def test_item_parse_ignores_non_web_links_and_reads_withdrawal():
    item = hf_item("2508.00001", githubRepo="javascript:alert(1)", withdrawnAt="2025-08-06T10:00:00Z")

    record = hf_item_parse(item)

    assert record.github_repo == ""
    assert record.withdrawn_at == datetime(2025, 8, 6, 10, tzinfo=UTC)
