"""arXiv export API ingestion: Atom parsing and paging against a local server."""

from datetime import UTC, date, datetime

import pytest

from newsletter.ingest.arxiv import (
    arxiv_category_fetch,
    arxiv_feed_parse,
    papers_ingest_arxiv,
    papers_ingest_arxiv_categories,
)
from newsletter.ingest.fetch import Throttle
from newsletter.ingest.records import DocumentError, SourceError
from newsletter.models import Paper
from tests.fake_sources import DATA, FakeSource, Reply, arxiv_paged, atom_entry, atom_feed

pytestmark = pytest.mark.django_db

PATH = "/api/query"


@pytest.fixture
def arxiv(settings):
    source = FakeSource().start()
    settings.ARXIV_API_URL = source.url
    settings.ARXIV_REQUEST_INTERVAL_SECONDS = 0
    settings.INGEST_HTTP_RETRIES = 2
    settings.INGEST_HTTP_BACKOFF_SECONDS = 0
    yield source
    source.stop()


def atom(entries, **kwargs) -> Reply:
    return Reply(200, atom_feed(entries, **kwargs), content_type="application/atom+xml; charset=utf-8")


def test_parses_a_realistic_atom_page():
    page = arxiv_feed_parse((DATA / "arxiv_cs_cl_page.atom").read_bytes())

    assert page.total == 1234
    assert page.entries == 4
    assert page.skipped == []
    dimple, hamburger, daedal, old = page.parsed
    assert (dimple.arxiv_id, dimple.version) == ("2505.16990", 2)
    # A title wrapped over two lines is one line of text.
    assert dimple.title == "Dimple: Discrete Diffusion Multimodal Large Language Model with Parallel Decoding"
    assert dimple.summary.startswith("In this work, we propose Dimple, the first Discrete Diffusion")
    assert "\n" not in dimple.summary
    assert dimple.authors == ["Runpeng Yu", "Xinyin Ma", "Xinchao Wang"]
    assert dimple.published == datetime(2025, 5, 22, 17, 55, 4, tzinfo=UTC)
    assert dimple.updated == datetime(2025, 6, 3, 9, 12, 44, tzinfo=UTC)
    assert dimple.primary_category == "cs.CV"
    assert dimple.categories == ["cs.CV", "cs.CL", "cs.LG"]
    assert dimple.abs_url == "http://arxiv.org/abs/2505.16990v2"
    assert dimple.pdf_url == "http://arxiv.org/pdf/2505.16990v2"
    assert hamburger.authors == ["Jingyu Liu", "Ce Zhang"]
    assert hamburger.pdf_url == "http://arxiv.org/pdf/2505.20438v1"  # not the DOI link
    assert (daedal.arxiv_id, daedal.version) == ("2508.00819", 3)  # https ids too
    assert daedal.authors == ["Jinsong Li", "Xiaoyi Dong", "Yuhang Zang", "Jiaqi Wang"]
    assert (old.arxiv_id, old.version) == ("cs/0112017", 1)
    assert old.title == "Statistical Language Models & Their Evaluation"
    assert old.summary == "An old-style identifier, an ampersand & angle brackets <b>kept as text</b>."
    record = dimple.record()
    assert (record.source, record.published_on, record.upvotes) == ("arxiv", date(2025, 5, 22), None)


def test_ingests_a_category_newest_first_paging_with_start(arxiv, settings):
    settings.ARXIV_PAGE_SIZE = 2
    entries = [atom_entry(f"2508.0000{n}", title=f"Paper {n}") for n in range(1, 8)]
    arxiv.route(PATH, arxiv_paged(entries))

    report = papers_ingest_arxiv(category="cs.CL", max_results=5)

    assert (report.fetched, report.created) == (5, 5)
    calls = arxiv.calls(PATH)
    assert [(c["start"], c["max_results"]) for c in calls] == [("0", "2"), ("2", "2"), ("4", "1")]
    assert {c["search_query"] for c in calls} == {"cat:cs.CL"}
    assert {(c["sortBy"], c["sortOrder"]) for c in calls} == {("submittedDate", "descending")}
    paper = Paper.objects.get(arxiv_id="2508.00001")
    assert (paper.source, paper.upvotes, paper.featured_on) == ("arxiv", 0, None)
    assert paper.arxiv_categories == ["cs.CL"]


def test_stops_when_the_results_run_out(arxiv, settings):
    settings.ARXIV_PAGE_SIZE = 2
    arxiv.route(PATH, arxiv_paged([atom_entry(f"2508.0000{n}") for n in (1, 2, 3)]))

    report = papers_ingest_arxiv(category="cs.CL", max_results=100)

    assert report.created == 3
    assert [c["start"] for c in arxiv.calls(PATH)] == ["0", "2"]


def test_waits_between_requests_retries_included():
    clock = [100.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock[0] += seconds

    throttle = Throttle(3.0, clock=lambda: clock[0], sleep=sleep)
    throttle.wait()  # the first request goes at once
    clock[0] += 1.0  # one second of parsing
    throttle.wait()
    clock[0] += 5.0  # a slow page
    throttle.wait()

    assert waits == [2.0]


def test_the_default_interval_is_three_seconds():
    assert Throttle().interval == 3.0


def test_every_attempt_goes_through_the_throttle(arxiv):
    arxiv.route(PATH, [Reply(503, "Rate exceeded."), atom([atom_entry("2508.00001")])])
    waited = []

    class Counting(Throttle):
        def wait(self):
            waited.append(len(arxiv.requests))
            super().wait()

    entries, _ = arxiv_category_fetch(category="cs.CL", max_results=10, throttle=Counting(0))

    assert [e.arxiv_id for e in entries] == ["2508.00001"]
    assert waited == [0, 1]  # before the first request and before the retry


def test_arxiv_error_feed_is_a_clear_error(arxiv):
    error_entry = """  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2025-08-05T00:00:00-04:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
"""
    arxiv.route(PATH, [Reply(400, atom_feed([error_entry]))])

    with pytest.raises(SourceError, match="HTTP 400"):
        papers_ingest_arxiv(category="cs.CL", max_results=10)

    arxiv.route(PATH, [atom([error_entry])])
    with pytest.raises(SourceError) as error:
        papers_ingest_arxiv(category="cs.CL", max_results=10)
    assert str(error.value) == (
        "arXiv cs.CL (start=0): arXiv answered with an error: incorrect id format for 1234.12345"
    )


def test_500_until_retries_run_out_names_the_source(arxiv):
    arxiv.route(PATH, [Reply(500, "boom")])

    with pytest.raises(SourceError) as error:
        papers_ingest_arxiv(category="cs.LG", max_results=10)

    assert str(error.value) == "arXiv cs.LG (start=0): HTTP 500: boom; gave up after 3 attempts"
    assert len(arxiv.calls(PATH)) == 3
    assert not Paper.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html><body>Service unavailable</body></html>", "the root element is <html>, not an Atom <feed>"),
        ("Rate exceeded.", "not an Atom document (syntax error: line 1, column 0"),
        ('{"papers": []}', "not an Atom document"),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            "<feed xmlns='http://www.w3.org/2005/Atom'><title>&lol2;</title></feed>",
            "the document declares a DTD or entities; refused",
        ),
    ],
)
def test_a_document_that_is_not_atom_fails_and_writes_nothing(arxiv, settings, body, message):
    settings.ARXIV_PAGE_SIZE = 1
    arxiv.route(PATH, [atom([atom_entry("2508.00001")], total=2), Reply(200, body)])

    with pytest.raises(DocumentError) as error:
        papers_ingest_arxiv(category="cs.CL", max_results=2)

    assert str(error.value).startswith("arXiv cs.CL (start=1): ")
    assert message in str(error.value)
    assert not Paper.objects.exists()  # page 0 was good, but the run is all or nothing


def test_a_malformed_entry_is_skipped_with_its_reason(arxiv):
    arxiv.route(PATH, [atom([
        atom_entry("2508.00001"),
        atom_entry("2508.00002", published="yesterday"),
        atom_entry("2508.00003", title="   "),
        atom_entry("2508.00004", authors=("x" * 300,)),
        atom_entry("2508.00005"),
    ])])

    report = papers_ingest_arxiv(category="cs.CL", max_results=10)

    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2508.00001", "2508.00005"]
    assert report.skipped == [
        ("cs.CL start=0 entry 2 (2508.00002v1)", "<published> is not a date: 'yesterday'"),
        ("cs.CL start=0 entry 3 (2508.00003v1)", "no title"),
        ("cs.CL start=0 entry 4 (2508.00004v1)", "an author name is longer than 200 characters"),
    ]
    assert (report.fetched, report.created) == (5, 2)


def test_duplicate_ids_keep_the_latest_version_text(arxiv):
    arxiv.route(PATH, [atom([
        atom_entry("2508.00001", version=3, title="Third version", authors=("A", "B", "C")),
        atom_entry("2508.00001", version=1, title="First version", authors=("A",)),
    ])])

    papers_ingest_arxiv(category="cs.CL", max_results=10)
    arxiv.route(PATH, [atom([atom_entry("2508.00001", version=2, title="Second version")])])
    report = papers_ingest_arxiv(category="cs.CL", max_results=10)

    paper = Paper.objects.get()
    assert (paper.version, paper.title, paper.authors) == (3, "Third version", ["A", "B", "C"])
    assert report.unchanged == 1


def test_bad_category_is_refused_before_any_request(arxiv):
    with pytest.raises(ValueError, match=r"'cs.CL; DROP' is not an arXiv category"):
        papers_ingest_arxiv(category="cs.CL; DROP", max_results=10)
    assert arxiv.requests == []


def test_categories_run_independently(arxiv):
    def respond(params):
        if params["search_query"] == "cat:cs.LG":
            return Reply(500, "down")
        return atom([atom_entry("2508.00001")])

    arxiv.route(PATH, respond)

    report, errors = papers_ingest_arxiv_categories(categories=["cs.CL", "cs.LG"], max_results=10)

    assert report.created == 1
    assert errors == ["arXiv cs.LG (start=0): HTTP 500: down; gave up after 3 attempts"]
    assert Paper.objects.filter(arxiv_id="2508.00001").exists()
