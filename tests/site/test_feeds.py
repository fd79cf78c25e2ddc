"""Feeds: the site's, a topic's, a saved search's and a reader's private one,
each in Atom and RSS, read by a real feed parser; conditional requests."""

import html
import re
from datetime import timedelta

import feedparser
import pytest
from django.core.cache import cache
from django.utils import timezone

from newsletter.curation import paper_hide
from newsletter.models import Delivery, Edition, Paper, Topic
from newsletter.site.feeds import FEED_WINDOW_DAYS, reader_feed_url
from subscribers.tokens import token_make
from tests.factories import DAY, paper_make, reader_make
from tests.site_support import feed_read

pytestmark = pytest.mark.django_db

PUBLIC_FEEDS = ["/feed/", "/feed/rss/", "/topics/reasoning/feed/", "/topics/reasoning/feed/rss/",
                "/search/feed/?q=reasoning", "/search/feed/rss/?q=reasoning"]


@pytest.fixture
def papers():
    return [
        paper_make("2507.00001", title="Reasoning with less compute", topics={"reasoning": 3.0}, upvotes=9,
                   authors=["Ada Lovelace", "Charles Babbage"], abstract="We reason cheaply."),
        paper_make("2507.00002", title="Reasoning about code", topics={"reasoning": 2.0, "code": 2.0},
                   day=DAY - timedelta(days=1)),
        paper_make("2507.00003", title="Old reasoning", topics={"reasoning": 2.0},
                   day=DAY - timedelta(days=FEED_WINDOW_DAYS)),  # before the window
        paper_make("2507.00004", title="Hidden reasoning", topics={"reasoning": 2.0}, hidden=True),
        paper_make("2507.00005", title="Withdrawn reasoning", topics={"reasoning": 2.0},
                   withdrawn_at=timezone.now()),
    ]


def ids(feed) -> list[str]:
    return [entry.id for entry in feed.entries]


@pytest.mark.parametrize("path", PUBLIC_FEEDS)
def test_public_feeds_parse_and_list_the_windows_visible_papers(client, papers, path):
    feed = feed_read(client.get(path))

    assert ids(feed) == ["https://papers.example.org/papers/2507.00001/",
                         "https://papers.example.org/papers/2507.00002/"]
    entry = feed.entries[0]
    assert entry.title == "Reasoning with less compute"
    assert entry.link == "https://papers.example.org/papers/2507.00001/"
    assert "We reason cheaply." in entry.summary
    assert [t.term for t in entry.tags] == ["Reasoning & test-time compute"]
    if feed.version == "atom10":
        assert entry.author == "Ada Lovelace, Charles Babbage"
        assert entry.updated_parsed is not None and entry.published.startswith("2025-07-10")


def test_the_site_feed_is_newest_day_first_in_edition_order(client):
    paper_make("2507.00001", upvotes=1)
    paper_make("2507.00002", upvotes=5)
    paper_make("2507.00003", day=DAY - timedelta(days=1), upvotes=99)
    assert [e.id.rsplit("/", 2)[1] for e in feed_read(client.get("/feed/")).entries] == [
        "2507.00002", "2507.00001", "2507.00003",
    ]


def test_feed_titles_name_what_they_follow(client, papers):
    assert feed_read(client.get("/feed/")).feed.title == "Daily Papers"
    assert feed_read(client.get("/topics/reasoning/feed/")).feed.title == (
        "Reasoning & test-time compute · Daily Papers")
    assert feed_read(client.get("/search/feed/?q=less+compute")).feed.title == "“less compute” · Daily Papers"
    assert ids(feed_read(client.get("/search/feed/?q=less+compute"))) == [
        "https://papers.example.org/papers/2507.00001/"]


@pytest.mark.parametrize("path", PUBLIC_FEEDS)
def test_a_matching_etag_or_date_gets_304_until_the_data_changes(client, papers, path):
    first = client.get(path)
    etag, modified = first["ETag"], first["Last-Modified"]

    assert client.get(path, headers={"if-none-match": etag}).status_code == 304
    assert client.get(path, headers={"if-modified-since": modified}).status_code == 304
    assert client.get(path, headers={"if-none-match": '"something-else"'}).status_code == 200

    paper_hide(paper=Paper.objects.get(arxiv_id="2507.00002"), by=None)
    changed = client.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert ids(feed_read(changed)) == ["https://papers.example.org/papers/2507.00001/"]


def test_a_topic_rename_changes_its_feed(client, papers):
    etag = client.get("/topics/reasoning/feed/")["ETag"]
    topic = Topic.objects.get(slug="reasoning")
    topic.name = "Reasoning"
    topic.save()
    response = client.get("/topics/reasoning/feed/", headers={"if-none-match": etag})
    assert response.status_code == 200 and feed_read(response).feed.title == "Reasoning · Daily Papers"


def test_a_feed_body_is_built_once_per_change(client, papers, django_assert_max_num_queries):
    client.get("/feed/")
    with django_assert_max_num_queries(3):  # the fingerprint only; the body comes from the cache
        assert feed_read(client.get("/feed/")).entries
    cache.clear()
    assert feed_read(client.get("/feed/")).entries


HOSTILE_TITLE = "A < B & C > D \x01\x0b\x1f \ud800 \ufffe <script>alert(1)</script> ]]> \u2028 end"


@pytest.mark.parametrize("path", [*PUBLIC_FEEDS, "/search/feed/?q=%ED%A0%80%01reasoning"])
def test_hostile_text_still_makes_a_well_formed_feed(client, path):
    Topic.objects.filter(slug="reasoning").update(name="Reasoning <&> \x02 \ud800".encode(
        "utf-8", "replace").decode())
    paper_make("2507.00001", title=f"Reasoning: {HOSTILE_TITLE}", topics={"reasoning": 3.0},
               abstract=f"<img src=x onerror=alert(1)> {HOSTILE_TITLE}",
               authors=["<b>Ada</b> \x07", "\ud800"])

    feed = feed_read(client.get(path))

    entry = feed.entries[0]
    # RSS readers read a title as HTML, so there it comes escaped once more.
    title = html.unescape(entry.title) if feed.version == "rss20" else entry.title
    assert "A < B & C > D" in title and "<script>alert(1)</script>" in title and "\x01" not in title
    assert "<script" not in entry.summary and "<img" not in entry.summary  # escaped: shown as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in entry.summary


def test_the_private_feed_has_exactly_the_readers_digests(client, papers):
    extra = paper_make("2507.00009", title="Sent the day before", day=DAY - timedelta(days=1))
    reader = reader_make("a@example.org", topics=("reasoning",))
    other = reader_make("b@example.org", topics=("reasoning",))
    today = Edition.objects.create(date=DAY)
    before = Edition.objects.create(date=DAY - timedelta(days=1))
    Delivery.objects.create(subscriber=reader, edition=today, status="sent", sent_at=timezone.now(),
                            paper_ids=["2507.00004", "2507.00001", "2507.00003"], for_you_count=2)
    Delivery.objects.create(subscriber=reader, edition=before, status="sent", sent_at=timezone.now(),
                            paper_ids=[extra.arxiv_id])
    Delivery.objects.create(subscriber=reader, edition=Edition.objects.create(date=DAY + timedelta(days=1)),
                            status="skipped", paper_ids=["2507.00002"])
    Delivery.objects.create(subscriber=other, edition=today, status="sent", paper_ids=["2507.00002"])

    url = reader_feed_url(reader)
    assert url.startswith("https://papers.example.org/feed/")
    response = client.get(url.removeprefix("https://papers.example.org"))
    feed = feed_read(response)

    # Newest digest first, each in its order; the hidden paper left out.
    assert [e.id.rsplit("/", 2)[1] for e in feed.entries] == ["2507.00001", "2507.00003", "2507.00009"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "private" in response["Cache-Control"]
    rss = feed_read(client.get(url.removeprefix("https://papers.example.org") + "rss/"))
    assert len(rss.entries) == 3
    assert client.get(url.removeprefix("https://papers.example.org"),
                      headers={"if-none-match": response["ETag"]}).status_code == 304


def test_private_feed_tokens_are_refused_when_tampered_or_of_another_purpose(client):
    reader = reader_make("a@example.org", topics=("reasoning",))
    good = token_make(subscriber=reader, purpose="feed")
    for token in (good[:-2] + "xx", token_make(subscriber=reader, purpose="preferences"),
                  token_make(subscriber=reader, purpose="digest"), "nonsense", good + "a"):
        assert client.get(f"/feed/{token}/").status_code == 404, token
    reader.email = "new@example.org"
    reader.save()
    assert client.get(f"/feed/{good}/").status_code == 404  # dies with the address


def test_the_preferences_page_links_the_private_feed(client):
    reader = reader_make("a@example.org", topics=("reasoning",))
    token = token_make(subscriber=reader, purpose="preferences")
    html = client.get(f"/preferences/{token}/").content.decode()
    path = re.search(r'href="(/feed/[^"/]+/)" rel="nofollow">your private feed</a>', html).group(1)
    response = client.get(path)
    assert feed_read(response).entries == [] and response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_search_feed_without_words_is_an_empty_feed(client, papers):
    assert feed_read(client.get("/search/feed/")).entries == []
    assert feedparser.parse(client.get("/search/feed/?q=%26%26").content).entries == []


def test_hostile_text_in_a_private_feed_is_well_formed_and_inert(client):
    paper_make("2507.00001", title=f"Yours: {HOSTILE_TITLE}", abstract="<script>alert(1)</script>",
               authors=["\x0bAda"])
    reader = reader_make("a@example.org", topics=("reasoning",))
    Delivery.objects.create(subscriber=reader, edition=Edition.objects.create(date=DAY), status="sent",
                            paper_ids=["2507.00001"], for_you_count=1)

    path = reader_feed_url(reader).removeprefix("https://papers.example.org")
    for suffix in ("", "rss/"):
        feed = feed_read(client.get(path + suffix))
        assert "<script" not in feed.entries[0].summary
        assert "A < B & C > D" in html.unescape(feed.entries[0].title)
