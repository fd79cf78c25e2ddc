"""Weeks and months: ISO weeks across the year change, the trending score,
the days that have papers, the way to the periods around, page limits."""

import math
import re
from datetime import date

import pytest
from django.db.models import F

from newsletter.digest.ranking import paper_attention
from newsletter.models import Paper
from newsletter.site import listing
from tests.factories import paper_make
from tests.site_support import listed, papers_on

pytestmark = pytest.mark.django_db


def test_iso_week_53_spans_the_year_change(client):
    paper_make("2012.00001", day=date(2020, 12, 28))  # Monday of 2020-W53
    paper_make("2101.00002", day=date(2021, 1, 3), upvotes=5)  # its Sunday
    paper_make("2101.00003", day=date(2021, 1, 4))  # Monday of 2021-W01

    week = client.get("/week/2020-W53/")
    html = week.content.decode()

    assert listed(week) == ["2101.00002", "2012.00001"]
    assert "Week 53 of 2020" in html and "28 December 2020 – 3 January 2021" in html
    assert 'rel="next" href="/week/2021-W01/"' in html
    assert listed(client.get("/week/2021-W01/")) == ["2101.00003"]
    assert listed(client.get("/month/2020-12/")) == ["2012.00001"]
    assert listed(client.get("/month/2021-01/")) == ["2101.00002", "2101.00003"]


@pytest.mark.parametrize("path", ["/week/2021-W53/", "/week/2025-W00/", "/week/2025-W54/", "/month/2025-13/",
                                  "/month/2025-00/", "/week/2025-28/", "/month/2025-7/"])
def test_weeks_and_months_that_do_not_exist_are_404(client, path):
    paper_make("2507.00001")
    assert client.get(path).status_code == 404


def test_a_period_without_visible_papers_is_404(client):
    paper_make("2507.00001", hidden=True)
    assert client.get("/week/2025-W28/").status_code == 404
    assert client.get("/month/2025-07/").status_code == 404


def test_previous_and_next_skip_empty_weeks_and_months(client):
    paper_make("2505.00001", day=date(2025, 5, 20))
    paper_make("2507.00001", day=date(2025, 7, 10))
    paper_make("2509.00001", day=date(2025, 9, 2))

    week = client.get("/week/2025-W28/").content.decode()
    month = client.get("/month/2025-07/").content.decode()

    assert 'rel="prev" href="/week/2025-W21/"' in week and 'rel="next" href="/week/2025-W36/"' in week
    assert 'rel="prev" href="/month/2025-05/"' in month and 'rel="next" href="/month/2025-09/"' in month


def test_a_month_lists_its_days_with_papers_and_their_counts(client):
    papers_on(date(2025, 7, 1), 2, prefix="2507.1")
    papers_on(date(2025, 7, 15), 3, prefix="2507.2")

    html = client.get("/month/2025-07/").content.decode()

    days = re.findall(r'<a href="/digests/([\d-]+)/"><span class="day-name">([^<]+)</span> '
                      r'<span class="count">(\d+)</span>', html)
    assert days == [("2025-07-01", "Tue 1 Jul", "2"), ("2025-07-15", "Tue 15 Jul", "3")]
    assert "5 papers" in html
    assert "<title>Best papers of July 2025 · Daily Papers</title>" in html


def test_a_month_is_ordered_by_the_trending_score_or_newest(client):
    paper_make("2507.00001", day=date(2025, 7, 1), upvotes=10)
    paper_make("2507.00002", day=date(2025, 7, 2), num_comments=30)  # 0.5 ln 31 = 1.72 < ln 11 = 2.40
    paper_make("2507.00003", day=date(2025, 7, 3), github_stars=100_000)  # 0.25 ln 100001 = 2.88
    paper_make("2507.00004", day=date(2025, 7, 4))

    assert listed(client.get("/month/2025-07/")) == ["2507.00003", "2507.00001", "2507.00002", "2507.00004"]
    assert listed(client.get("/month/2025-07/?sort=new")) == [
        "2507.00004", "2507.00003", "2507.00002", "2507.00001",
    ]


def test_the_trending_score_is_the_digests_attention():
    values = [(0, 0, None), (1, 0, 0), (10, 3, 5), (250, 40, 12_000), (0, 7, None)]
    for n, (upvotes, comments, stars) in enumerate(values):
        paper_make(f"2507.{n:05d}", upvotes=upvotes, num_comments=comments, github_stars=stars)

    scored = Paper.objects.annotate(score=listing.attention_sql()).values_list(
        "upvotes", "num_comments", "github_stars", "score"
    )

    for upvotes, comments, stars, score in scored:
        expected = paper_attention(upvotes=upvotes, num_comments=comments, github_stars=stars)
        assert math.isclose(score, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_pages_of_a_month_and_their_limits(client):
    papers_on(date(2025, 7, 10), listing.PAGE_SIZE + 2, prefix="2507.")
    Paper.objects.update(upvotes=F("pk"))  # a strict order

    first = client.get("/month/2025-07/")
    second = client.get("/month/2025-07/?page=2&sort=new")

    assert len(listed(first)) == listing.PAGE_SIZE
    assert len(listed(second)) == 2
    assert 'rel="next" href="?page=2"' in first.content.decode()
    assert 'rel="prev" href="?sort=new"' in second.content.decode()
    assert "Page 2 of 2" in second.content.decode()
    for page in ("3", "0", "-1", "two", "1e3", "99999999999999999999"):
        assert client.get(f"/month/2025-07/?page={page}").status_code == 404, page


def test_lists_stop_after_the_last_allowed_page(client, monkeypatch):
    papers_on(date(2025, 7, 10), 7, prefix="2507.")
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    monkeypatch.setattr(listing, "MAX_PAGES", 3)

    assert len(listed(client.get("/month/2025-07/?page=3"))) == 2
    assert client.get("/month/2025-07/?page=4").status_code == 404
