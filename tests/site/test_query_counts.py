"""Every public page costs a fixed number of queries, however many papers
it shows (no N+1): counted with few papers and with many."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.models import Delivery, Edition
from newsletter.site.feeds import reader_feed_url
from tests.factories import DAY, paper_make, reader_make

pytestmark = pytest.mark.django_db

# path -> queries: the page built from scratch (the cache empty).
PAGES = {
    "/": 6,  # state, papers, topics, previous, next, note
    "/digests/2025-07-10/": 5,  # papers, topics, previous, next, note
    "/week/2025-W28/": 6,  # days, previous, next, count, papers, topics
    "/month/2025-07/": 6,
    "/papers/2507.00001/": 5,  # paper and topics; related: candidates, papers and topics
    "/topics/": 1,
    "/topics/reasoning/": 6,  # topic, newest day, recent ids, their papers, older papers, topics
    "/search/?q=paper": 6,  # count, estimate, papers, topics, highlights (PostgreSQL); 4 elsewhere
    "/feed/": 5,  # window start, fingerprint (2), papers, topics
    "/topics/reasoning/feed/": 6,  # + the topic
    "/search/feed/?q=paper": 5,
}


def corpus(n: int) -> None:
    for i in range(n):
        paper_make(f"2507.{i:05d}", day=DAY - timedelta(days=i % 5), topics={"reasoning": 2.0, "code": 1.0},
                   title=f"Paper {i}", upvotes=i)
    Edition.objects.create(date=DAY, note="A note.")


def queries(client, path: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200, path
    return len(captured)


def expected(path: str) -> int:
    if path == "/search/?q=paper" and connection.vendor != "postgresql":
        return PAGES[path] - 2  # no estimate; the fallback highlights in Python
    return PAGES[path]


@pytest.mark.parametrize("path", PAGES)
def test_queries_per_page_do_not_grow_with_papers(client, path, time_machine):
    time_machine.move_to("2025-07-11")
    corpus(3)
    few = queries(client, path)
    # Some recent, some older than a topic page's trending days.
    for i in range(3, 40):
        paper_make(f"2507.{i:05d}", day=DAY - timedelta(days=i % 5 + 40 * (i % 2)), title=f"Paper {i}",
                   topics={"reasoning": 2.0, "code": 1.0})
    assert queries(client, path) == few == expected(path), path


def test_the_front_page_from_the_cache_is_one_query(client, django_assert_num_queries, time_machine):
    time_machine.move_to("2025-07-11")
    corpus(5)
    client.get("/")
    with django_assert_num_queries(1):
        client.get("/")


@pytest.mark.parametrize("path", ["/feed/", "/topics/reasoning/feed/", "/search/feed/?q=paper"])
def test_a_304_costs_the_fingerprint_only(client, path, django_assert_num_queries):
    corpus(5)
    etag = client.get(path)["ETag"]
    with django_assert_num_queries(4 if "topics" in path else 3):
        assert client.get(path, headers={"if-none-match": etag}).status_code == 304


def test_the_private_feed_costs_the_same_for_many_digests(client):
    corpus(30)
    reader = reader_make("a@example.org", topics=("reasoning",))
    for day in range(5):
        edition, _ = Edition.objects.get_or_create(date=DAY - timedelta(days=day))
        Delivery.objects.create(subscriber=reader, edition=edition, status="sent",
                                paper_ids=[f"2507.{i:05d}" for i in range(day, 30, 5)])
    path = reader_feed_url(reader).removeprefix("https://papers.example.org")
    # The reader, their digests, the papers' and topics' fingerprints; the papers and their topics.
    assert queries(client, path) == 6
