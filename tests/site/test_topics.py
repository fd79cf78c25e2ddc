"""Topic pages: every active topic with its count, a topic's papers (recent
ones by trending score first), and the ways to follow it."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from newsletter.models import Topic
from newsletter.site import listing
from tests.factories import DAY, paper_make
from tests.site_support import listed

pytestmark = pytest.mark.django_db


def test_the_topics_page_lists_active_topics_with_their_visible_papers(client):
    paper_make("2507.00001", topics={"reasoning": 2.0})
    paper_make("2507.00002", topics={"reasoning": 2.0, "code": 1.0})
    paper_make("2507.00003", topics={"reasoning": 2.0}, hidden=True)
    paper_make("2507.00004", topics={"reasoning": 2.0}, withdrawn_at=timezone.now())
    Topic.objects.filter(slug="surveys").update(active=False)

    html = client.get("/topics/").content.decode()

    assert "<title>Topics · Daily Papers</title>" in html
    assert ('<a href="/topics/reasoning/"><span class="topic-name">Reasoning &amp; test-time compute</span> '
            '<span class="count">2 papers</span>') in html
    assert ('<span class="topic-name">Code &amp; software engineering</span> '
            '<span class="count">1 paper</span>') in html
    assert html.count('class="topic-item"') == 18
    assert "/topics/surveys/" not in html


def test_a_topic_page_leads_with_recent_papers_by_trending_score(client):
    newest = DAY
    paper_make("2507.00001", day=newest, topics={"reasoning": 2.0}, upvotes=1)
    paper_make("2507.00002", day=newest - timedelta(days=10), topics={"reasoning": 2.0}, upvotes=50)
    paper_make("2507.00003", day=newest - timedelta(days=40), topics={"reasoning": 2.0}, upvotes=999)
    paper_make("2507.00004", day=newest - timedelta(days=35), topics={"reasoning": 2.0})
    paper_make("2507.00005", day=newest, topics={"code": 2.0}, upvotes=500)  # another topic

    trending = ["2507.00002", "2507.00001", "2507.00004", "2507.00003"]
    assert listed(client.get("/topics/reasoning/")) == trending
    assert listed(client.get("/topics/reasoning/?sort=new")) == [
        "2507.00001", "2507.00002", "2507.00004", "2507.00003",
    ]
    assert listing.TOPIC_TRENDING_DAYS == 30


def test_a_topic_page_offers_signup_with_the_topic_ticked_and_its_feed(client):
    paper_make("2507.00001", topics={"reasoning": 2.0})

    html = client.get("/topics/reasoning/").content.decode()

    assert "<title>Reasoning &amp; test-time compute · Daily Papers</title>" in html
    assert "Chain of thought, test-time scaling" in html  # the description
    assert 'href="/subscribe/?topics=reasoning"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert 'href="/topics/reasoning/feed/"' in html
    signup = client.get("/subscribe/?topics=reasoning").content.decode()
    ticked = re.findall(r'<input type="checkbox" name="topics" value="([\w-]+)"[^>]* checked>', signup)
    assert ticked == ["reasoning"]


def test_a_topic_page_is_paged(client):
    for n in range(listing.PAGE_SIZE + 1):
        paper_make(f"2507.{n:05d}", day=date(2025, 7, 1) + timedelta(days=n % 20), topics={"code": 2.0})

    assert len(listed(client.get("/topics/code/"))) == listing.PAGE_SIZE
    assert len(listed(client.get("/topics/code/?page=2"))) == 1
    assert client.get("/topics/code/?page=3").status_code == 404


def test_unknown_and_retired_topics_have_no_page(client):
    Topic.objects.filter(slug="surveys").update(active=False)
    for path in ("/topics/surveys/", "/topics/nope/", "/topics/surveys/feed/", "/topics/nope/feed/"):
        assert client.get(path).status_code == 404, path


def test_a_topic_without_papers_says_so(client):
    html = client.get("/topics/robotics-embodied/").content.decode()
    assert "No papers on this topic yet." in html
