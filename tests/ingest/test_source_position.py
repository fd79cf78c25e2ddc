"""A paper keeps its place in the source's list of its day: Hugging Face
lists a day's papers in trending order, and that order is the day's after
the counts."""

from datetime import date

import pytest

from newsletter.ingest.arxiv import papers_ingest_arxiv
from newsletter.ingest.hf import papers_ingest_hf
from newsletter.ingest.records import PaperRecord
from newsletter.ingest.store import records_store
from newsletter.models import Paper
from newsletter.selectors import edition_papers
from tests.fake_sources import Reply, atom_entry, atom_feed, hf_item
from tests.ingest.test_store import sources  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 5)


def positions() -> dict[str, int | None]:
    return dict(Paper.objects.values_list("arxiv_id", "source_position"))


def test_hugging_faces_list_order_is_kept_across_pages_and_orders_the_day(sources, settings):  # noqa: F811
    hf, _ = sources
    settings.HF_PAGE_SIZE = 2
    hf.route("/api/daily_papers", [
        Reply(200, [hf_item("2508.00009"), hf_item("2508.00001")]),
        Reply(200, [hf_item("2508.00005")]),
    ])

    papers_ingest_hf(days=[DAY])

    assert positions() == {"2508.00009": 1, "2508.00001": 2, "2508.00005": 3}
    assert [p.arxiv_id for p in edition_papers(day=DAY)] == ["2508.00009", "2508.00001", "2508.00005"]


def test_a_later_list_of_the_same_day_moves_a_paper_and_other_sources_do_not(sources):  # noqa: F811
    hf, arxiv = sources
    hf.route("/api/daily_papers", [
        Reply(200, [hf_item("2508.00001"), hf_item("2508.00002")]),
        Reply(200, [hf_item("2508.00002"), hf_item("2508.00001")]),
    ])
    arxiv.route("/api/query", [Reply(200, atom_feed([atom_entry("2508.00001", version=2)]),
                                     content_type="application/atom+xml")])

    papers_ingest_hf(days=[DAY])
    papers_ingest_arxiv(category="cs.CL", max_results=10)  # knows no list position
    assert positions() == {"2508.00001": 1, "2508.00002": 2}

    papers_ingest_hf(days=[DAY])  # upvotes moved the second one up
    assert positions() == {"2508.00001": 2, "2508.00002": 1}


def test_a_place_in_another_days_list_leaves_the_papers_own_alone():
    records_store(records=[PaperRecord(arxiv_id="2508.00001", source="hf", title="T", featured_on=DAY,
                                       source_position=4)])
    records_store(records=[PaperRecord(arxiv_id="2508.00001", source="hf", title="T",
                                       featured_on=date(2025, 8, 6), source_position=1)])

    paper = Paper.objects.get()
    assert (paper.featured_on, paper.source_position) == (DAY, 4)
