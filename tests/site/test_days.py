"""A day's edition: its order, the way to the days around it, the sort switch."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, file_items_read, papers_ingest_file
from newsletter.models import Edition
from tests.factories import DAY, paper_make
from tests.site_support import listed

pytestmark = pytest.mark.django_db


def test_a_day_is_ordered_pins_upvotes_comments_then_the_sources_own_list(client):
    # arXiv ids in the opposite order of the source's list: they must not matter.
    paper_make("2507.00005", source_position=1)
    paper_make("2507.00004", source_position=2)
    paper_make("2507.00003", source_position=3, num_comments=4)
    paper_make("2507.00002", source_position=4, upvotes=9)
    paper_make("2507.00001", source_position=5, pinned=True)
    paper_make("2201.00001")  # no place in any list: after those that have one

    assert listed(client.get("/digests/2025-07-10/")) == [
        "2507.00001", "2507.00002", "2507.00003", "2507.00005", "2507.00004", "2201.00001",
    ]


def test_the_ingested_sample_keeps_the_order_it_was_listed_in(client):
    today = timezone.localdate()
    papers_ingest_file(path=SAMPLE_PATH, featured_on=today)
    in_file = [item["paper"]["id"] for item in file_items_read(SAMPLE_PATH)]

    assert listed(client.get("/")) == in_file
    assert listed(client.get(f"/digests/{today}/")) == in_file
    assert in_file != sorted(in_file)  # the arXiv id order would be another


def test_newest_sorts_a_day_by_arxiv_date(client):
    paper_make("2507.00001", published_on=date(2025, 7, 1), upvotes=50)
    paper_make("2507.00002", published_on=date(2025, 7, 9))
    paper_make("2507.00003", published_on=None, upvotes=5)

    assert listed(client.get("/digests/2025-07-10/?sort=new")) == ["2507.00002", "2507.00001", "2507.00003"]
    trending = ["2507.00001", "2507.00003", "2507.00002"]
    assert listed(client.get("/digests/2025-07-10/?sort=nonsense")) == trending


def test_previous_and_next_skip_days_without_visible_papers(client):
    paper_make("2507.00001", day=DAY - timedelta(days=7))
    paper_make("2507.00002", day=DAY - timedelta(days=2), hidden=True)  # hidden: no edition
    paper_make("2507.00003", day=DAY)
    paper_make("2507.00004", day=DAY + timedelta(days=3))

    html = client.get("/digests/2025-07-10/").content.decode()

    assert 'rel="prev" href="/digests/2025-07-03/"' in html
    assert 'rel="next" href="/digests/2025-07-13/"' in html
    assert "/digests/2025-07-08/" not in html
    first = client.get("/digests/2025-07-03/").content.decode()
    assert 'rel="prev"' not in first and 'rel="next" href="/digests/2025-07-10/"' in first


def test_a_day_links_its_week_and_month_and_shows_the_note(client):
    paper_make("2507.00001")
    Edition.objects.create(date=DAY, note="A <b>quiet</b> day.")

    html = client.get("/digests/2025-07-10/").content.decode()

    assert 'href="/week/2025-W28/"' in html and "Week 28 of 2025" in html
    assert 'href="/month/2025-07/"' in html and "July 2025" in html
    assert "A &lt;b&gt;quiet&lt;/b&gt; day." in html
    assert "<title>Papers of 10 July 2025 · Daily Papers</title>" in html


def test_a_day_with_only_hidden_or_withdrawn_papers_has_no_page(client):
    paper_make("2507.00001", hidden=True)
    paper_make("2507.00002", withdrawn_at=timezone.now())

    assert client.get("/digests/2025-07-10/").status_code == 404


def test_the_front_page_is_the_newest_day_not_after_today(client):
    today = timezone.localdate()
    paper_make("2507.00001", day=today - timedelta(days=1))
    paper_make("2507.00002", day=today + timedelta(days=1))  # tomorrow's, early

    assert listed(client.get("/")) == ["2507.00001"]
    assert listed(client.get(f"/digests/{today + timedelta(days=1)}/")) == ["2507.00002"]
