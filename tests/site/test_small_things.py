"""What every public page has: a title with the site's name, a favicon, one
card template, compression; and robots.txt and sitemap.xml."""

import gzip
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders

from newsletter.models import Topic
from subscribers.tokens import token_make
from tests.factories import DAY, paper_make, reader_make

pytestmark = pytest.mark.django_db

LISTS = ["/", "/digests/2025-07-10/", "/week/2025-W28/", "/month/2025-07/", "/topics/reasoning/",
         "/search/?q=reasoning"]


@pytest.fixture
def papers(settings):
    paper_make("2507.00001", title="Reasoning models think", topics={"reasoning": 2.0}, upvotes=3,
               authors=[f"Author {n}" for n in range(8)])
    paper_make("2507.00002", title="Reasoning and hidden", topics={"reasoning": 2.0}, hidden=True)
    paper_make("2507.00003", title="Older reasoning", topics={"reasoning": 2.0}, day=DAY - timedelta(days=40))


@pytest.mark.parametrize(("path", "title"), [
    ("/", "Daily Papers · trending AI papers of 10 July 2025"),
    ("/digests/2025-07-10/", "Papers of 10 July 2025 · Daily Papers"),
    ("/week/2025-W28/", "Best papers of Week 28 of 2025 · Daily Papers"),
    ("/month/2025-07/", "Best papers of July 2025 · Daily Papers"),
    ("/papers/2507.00001/", "Reasoning models think · Daily Papers"),
    ("/topics/", "Topics · Daily Papers"),
    ("/topics/reasoning/", "Reasoning &amp; test-time compute · Daily Papers"),
    ("/search/?q=reasoning", "“reasoning” · Search · Daily Papers"),
    ("/search/", "Search · Daily Papers"),
    ("/subscribe/", "Subscribe · Daily Papers"),
    ("/no-such-page/", "Page not found · Daily Papers"),
])
def test_every_page_title_names_the_site(client, papers, path, title, time_machine):
    time_machine.move_to("2025-07-11")
    assert f"<title>{title}</title>" in client.get(path).content.decode()


def test_the_favicon_is_served_and_linked(client, papers):
    assert finders.find("favicon.svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get(
        "/topics/").content.decode()


def test_every_list_shows_papers_with_the_one_card_template(client, papers, time_machine):
    time_machine.move_to("2025-07-11")
    for path in LISTS:
        response = client.get(path)
        assert "newsletter/_cards.html" in [t.name for t in response.templates], path
        html = response.content.decode()
        card = html[html.index('id="paper-2507.00001"'):]
        card = card[:card.index("</li>")]
        assert "Author 0, Author 1, Author 2, Author 3, Author 4 et al." in card, path
        assert 'href="/papers/2507.00001/"' in card and 'href="/topics/reasoning/"' in card, path


@pytest.mark.parametrize("path", [*LISTS, "/papers/2507.00001/", "/topics/", "/feed/"])
def test_pages_are_compressed_for_clients_that_accept_it(client, papers, path):
    plain = client.get(path)
    packed = client.get(path, headers={"accept-encoding": "gzip"})
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content).decode().count('id="paper-') == plain.content.decode().count(
        'id="paper-')


def test_robots_txt_keeps_crawlers_to_public_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    for private in ("/admin/", "/confirm/", "/preferences/", "/unsubscribe/", "/feed/*/", "/digests/*/*/"):
        assert f"Disallow: {private}\n" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


def test_the_sitemap_lists_public_pages_only(client, papers, settings):
    Topic.objects.filter(slug="surveys").update(active=False)
    reader = reader_make("a@example.org")
    index = client.get("/sitemap.xml").content.decode()
    sections = re.findall(r"<loc>([^<]+)</loc>", index)
    assert {s.rsplit("/", 1)[1] for s in sections} == {
        f"sitemap-{name}.xml" for name in ("pages", "days", "weeks", "months", "topics", "papers")}
    paths = set()
    for section in sections:
        listing = client.get(re.sub(r"^https?://testserver", "", section)).content.decode()
        found = re.findall(r"<loc>([^<]+)</loc>", listing)
        paths |= {re.sub(r"^https?://testserver", "", url) for url in found}
    assert {"/", "/topics/", "/digests/2025-07-10/", "/digests/2025-05-31/", "/week/2025-W28/",
            "/month/2025-07/", "/month/2025-05/", "/topics/reasoning/", "/papers/2507.00001/",
            "/papers/2507.00003/"} <= paths
    assert "/papers/2507.00002/" not in paths  # hidden
    assert "/topics/surveys/" not in paths  # retired
    assert not [p for p in paths if p.startswith(("/search", "/feed", "/preferences", "/admin"))]
    assert token_make(subscriber=reader, purpose="feed") not in index
