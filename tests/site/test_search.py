"""Search: known answers on a small corpus (on PostgreSQL's full-text search
and on the simpler fallback elsewhere), syntax, filters, highlighting,
friendly answers to empty or junk queries, pages."""

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from newsletter.models import Paper
from newsletter.site import listing
from tests.factories import DAY, paper_make
from tests.html_checks import assert_inert_page
from tests.site_support import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def frozen():
    with time_machine.travel(date(2025, 7, 12), tick=False):
        yield


@pytest.fixture
def corpus():
    paper_make("2507.00001", title="Speculative decoding with draft models", upvotes=5,
               abstract="Draft models propose tokens that the target verifies.",
               topics={"speculative-decoding": 3})
    paper_make("2507.00002", title="A survey of inference", upvotes=50,
               abstract="Serving engines, batching, and speculative decoding.", topics={"surveys": 3})
    paper_make("2507.00003", title="Quantized kernels", abstract="Fast quantization of weights.",
               authors=["Ada Lovelace"], day=DAY - timedelta(days=20), topics={"quantization-compression": 3})
    paper_make("2507.00004", title="Speculative decoding survey", upvotes=1, topics={"surveys": 3})
    paper_make("2507.00005", title="Speculative decoding, hidden", hidden=True)
    paper_make("2507.00006", title="Speculative decoding, withdrawn", withdrawn_at=timezone.now())


def search(client, **params) -> list[str]:
    return listed(client.get("/search/", params))


def test_title_matches_come_first_then_the_upvoted(client, corpus):
    assert search(client, q="speculative decoding") == ["2507.00001", "2507.00004", "2507.00002"]


def test_minus_leaves_out_and_quotes_make_a_phrase(client, corpus):
    assert search(client, q="speculative decoding -survey") == ["2507.00001"]
    assert search(client, q='"draft models"') == ["2507.00001"]
    assert search(client, q='"models draft"') == []


def test_authors_abstracts_and_word_forms_are_searched(client, corpus):
    assert search(client, q="Lovelace") == ["2507.00003"]
    assert search(client, q="batching") == ["2507.00002"]
    assert search(client, q="quantized") == ["2507.00003"]


def test_or_finds_either_word_on_postgres_and_is_ignored_by_the_fallback(client, corpus):
    found = search(client, q="draft or kernels")
    if connection.vendor == "postgresql":
        assert found == ["2507.00001", "2507.00003"]
    else:
        assert found == []  # the fallback wants every word


def test_word_stems_on_postgres_substrings_in_the_fallback(client, corpus):
    found = search(client, q="quantizing")
    # PostgreSQL's English stemmer takes "quantizing" to the stem of
    # "quantized"; the fallback looks for the letters as typed.
    assert found == (["2507.00003"] if connection.vendor == "postgresql" else [])


def test_filters_for_topic_and_dates(client, corpus):
    assert search(client, q="speculative", topic="surveys") == ["2507.00004", "2507.00002"]
    assert search(client, q="speculative", date_from="2025-07-10", date_to="2025-07-10") == [
        "2507.00001", "2507.00004", "2507.00002",
    ]
    assert search(client, q="kernels", date_from="2025-07-01") == []
    assert search(client, q="kernels", date_to="2025-06-30") == ["2507.00003"]


def test_invalid_filters_are_explained_and_left_out(client, corpus):
    html = client.get("/search/", {"q": "kernels", "topic": "nope", "date_from": "2025-13-01",
                                   "date_to": "2025-01-01"}).content.decode()
    assert "There is no such topic" in html
    assert "Enter the first day as YYYY-MM-DD." in html
    assert 'id="paper-2507.00003"' not in html  # the valid filter (to 1 Jan) still applies
    reversed_range = client.get("/search/", {"q": "kernels", "date_from": "2025-07-10",
                                             "date_to": "2025-07-01"})
    assert "The last day comes before the first." in reversed_range.content.decode()


def test_recent_and_upvoted_papers_lead_among_equal_matches(client):
    paper_make("2507.00011", title="Mixture of experts routing", day=DAY - timedelta(days=300))
    paper_make("2507.00012", title="Mixture of experts routing", day=DAY)
    paper_make("2507.00013", title="Mixture of experts routing", day=DAY, upvotes=30)

    assert search(client, q="mixture experts") == ["2507.00013", "2507.00012", "2507.00011"]
    assert search(client, q="mixture experts", sort="new") == ["2507.00013", "2507.00012", "2507.00011"]


def test_matched_words_are_highlighted_and_nothing_else_is_markup(client, corpus):
    paper_make("2507.00007", title="<b>Speculative</b> & <script>alert(1)</script> decoding \ue000x",
               abstract="We <i>speculate</i>: speculative decoding \ue001 works.")

    html = client.get("/search/", {"q": "speculative decoding"}).content.decode()

    assert "<mark>Speculative</mark> <mark>decoding</mark> with draft models" in html
    assert "&lt;b&gt;<mark>Speculative</mark>&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert_page(html)
    assert html.count("<mark>") == html.count("</mark>")


@pytest.mark.parametrize("query", ["", "   ", "&&&", "-", '"', "or", "!!! ???", "\x00", "\x01\x02",
                                   "a" * 5000,
                                   "'; DROP TABLE newsletter_paper; --", "(((", "\\", "%", "_"])
def test_an_empty_or_junk_query_gets_a_friendly_page(client, corpus, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert_inert_page(response.content.decode())


def test_a_query_that_is_not_utf8_gets_a_page(client, corpus):
    # A lone surrogate as UTF-8 bytes, and a byte no UTF-8 text has.
    response = client.get("/search/?q=%ED%A0%80%FFspeculative")
    assert response.status_code == 200
    assert_inert_page(response.content.decode())


def test_a_query_of_no_words_says_what_to_do(client, corpus):
    assert "Search titles, authors, abstracts" in client.get("/search/").content.decode()
    assert "has none" in client.get("/search/", {"q": "&&&"}).content.decode()
    assert "No papers match “zebra”" in client.get("/search/", {"q": "zebra"}).content.decode()


def test_a_hostile_query_is_shown_as_text(client, corpus):
    html = client.get("/search/", {"q": '"><script>alert(1)</script>'}).content.decode()
    assert_inert_page(html)
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_results_are_paged_and_the_form_keeps_the_query(client):
    for n in range(listing.PAGE_SIZE + 3):
        paper_make(f"2507.{n:05d}", title=f"Graph transformer number {n}", upvotes=n)

    first = client.get("/search/", {"q": "graph transformer", "sort": "new"})
    second = client.get("/search/", {"q": "graph transformer", "sort": "new", "page": "2"})

    assert len(listed(first)) == listing.PAGE_SIZE and len(listed(second)) == 3
    assert 'rel="next" href="?q=graph+transformer&amp;sort=new&amp;page=2"' in first.content.decode()
    assert f"{listing.PAGE_SIZE + 3} papers match" in first.content.decode()
    assert 'id="site-q" type="search" name="q" placeholder="Search papers" value="graph transformer"' in (
        first.content.decode())
    assert client.get("/search/", {"q": "graph transformer", "page": "3"}).status_code == 404


def test_every_public_page_has_the_search_box(client, corpus):
    for path in ("/", "/digests/2025-07-10/", "/week/2025-W28/", "/month/2025-07/", "/papers/2507.00001/",
                 "/topics/", "/topics/surveys/", "/search/", "/subscribe/"):
        html = client.get(path).content.decode()
        assert '<form class="site-search" method="get" action="/search/" role="search">' in html, path


def test_a_changed_paper_is_found_by_its_new_words_at_once(client, corpus):
    paper = Paper.objects.get(arxiv_id="2507.00003")
    paper.title = "Zeppelin kernels"
    paper.save()
    assert search(client, q="zeppelin") == ["2507.00003"]
    Paper.objects.filter(pk=paper.pk).update(abstract="Airship quantization.")  # a plain UPDATE as well
    assert search(client, q="airship") == ["2507.00003"]
    assert search(client, q="kernels zeppelin") == ["2507.00003"]
