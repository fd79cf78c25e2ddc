"""Hidden and withdrawn papers appear nowhere public: no page, list, search,
related list, feed, sitemap or count."""

import pytest
from django.utils import timezone

from newsletter.models import Delivery, Edition
from newsletter.site.feeds import reader_feed_url
from tests.factories import DAY, paper_make, reader_make

pytestmark = pytest.mark.django_db

PATHS = [
    "/", "/digests/2025-07-10/", "/week/2025-W28/", "/month/2025-07/", "/papers/2507.00001/", "/topics/",
    "/topics/reasoning/", "/topics/reasoning/?sort=new", "/search/?q=zeppelin",
    "/search/?q=zeppelin&sort=new",
    "/feed/", "/feed/rss/", "/topics/reasoning/feed/", "/search/feed/?q=zeppelin", "/sitemap-papers.xml",
]


@pytest.fixture
def papers():
    paper_make("2507.00001", title="Visible zeppelin reasoning", topics={"reasoning": 3.0})
    paper_make("2507.00002", title="Hidden zeppelin reasoning", topics={"reasoning": 3.0}, hidden=True,
               upvotes=500)
    paper_make("2507.00003", title="Withdrawn zeppelin reasoning", topics={"reasoning": 3.0}, upvotes=500,
               withdrawn_at=timezone.now())


@pytest.mark.parametrize("path", PATHS)
def test_hidden_and_withdrawn_papers_are_nowhere(client, papers, path, time_machine):
    time_machine.move_to("2025-07-11")
    response = client.get(path, headers={"accept-encoding": "identity"})
    html = response.content.decode()
    assert response.status_code == 200, path
    assert "Hidden zeppelin" not in html and "Withdrawn zeppelin" not in html
    assert "2507.00002" not in html and "2507.00003" not in html
    if path in ("/", "/digests/2025-07-10/", "/feed/", "/search/?q=zeppelin"):
        assert "2507.00001" in html


def test_the_topics_page_counts_visible_papers_only(client, papers):
    assert '<span class="count">1 paper</span>' in client.get("/topics/").content.decode()


def test_a_readers_private_feed_leaves_out_what_was_hidden_since(client, papers):
    reader = reader_make("a@example.org", topics=("reasoning",))
    Delivery.objects.create(subscriber=reader, edition=Edition.objects.create(date=DAY), status="sent",
                            paper_ids=["2507.00002", "2507.00001", "2507.00003"], for_you_count=3)
    body = client.get(reader_feed_url(reader).removeprefix("https://papers.example.org")).content.decode()
    assert "2507.00001" in body and "2507.00002" not in body and "2507.00003" not in body
