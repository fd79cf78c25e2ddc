"""Readers teach their digest: feedback links, the pages behind them, what a
vote changes in the next digest, clicks, suggestions, reset, export, erase."""

import dataclasses
import importlib
import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from newsletter.digest.build import digest_for, reader_of
from newsletter.digest.pool import pool_get
from newsletter.digest.selection import digest_select
from newsletter.feedback.learning import clicks_counted, taste_rebuild, tastes_refresh
from newsletter.feedback.links import feedback_links, feedback_token
from newsletter.feedback.taste import FOLLOW_TURNED_AFTER
from newsletter.models import PaperVote, ReaderTaste
from subscribers.models import ProviderEvent, Subscriber
from subscribers.services import subscriber_erase, subscriber_export
from subscribers.tokens import TokenInvalid, token_make, token_read
from tests.factories import DAY, edition_small, paper_make, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


def rate_url(subscriber, day=DAY) -> str:
    token = feedback_token(reader=subscriber, day=day.isoformat(), secret=_secret())
    return feedback_links(token=token, day=day.isoformat(), site_url="").rate_url


def _secret():
    from django.conf import settings

    return settings.SECRET_KEY


def vote_path(subscriber, arxiv_id, vote, day=DAY) -> str:
    return f"{rate_url(subscriber, day)}{arxiv_id}/{vote}/"


@pytest.fixture
def reader():
    return reader_make("quant@example.org", topics=("quantization-compression",))


def test_digest_has_more_and_less_links_per_paper_and_a_rate_link(reader):
    papers = edition_small()
    message = digest_for(subscriber=reader, day=DAY).message()
    html, text = message.alternatives[0][0], message.body

    prefix = rate_url(reader)
    for key in "AB":
        arxiv_id = papers[key].arxiv_id
        assert f'href="https://papers.example.org{prefix}{arxiv_id}/more/"' in html
        assert f"Less like this:\nhttps://papers.example.org{prefix}{arxiv_id}/less/\n" in text
    rate = re.escape(f"https://papers.example.org{prefix}")
    assert re.search(rf'href="{rate}"[^>]*>Rate these papers to make the next digests fit you better</a>',
                     html)
    assert f"Rate these papers:\nhttps://papers.example.org{prefix}\n" in text


def test_a_get_never_votes_and_the_post_does_once(reader, client):
    papers = edition_small()
    path = vote_path(reader, papers["A"].arxiv_id, "more")

    page = client.get(path)
    assert page.status_code == 200 and "More papers like this one?" in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert not PaperVote.objects.exists()

    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # a double press
    vote = PaperVote.objects.get()
    assert (vote.subscriber_id, vote.paper_id, vote.value) == (reader.pk, papers["A"].pk, 1)

    client.post(vote_path(reader, papers["A"].arxiv_id, "less"))
    assert list(PaperVote.objects.values_list("value", flat=True)) == [-1]  # the last vote wins


def test_votes_need_a_token_for_that_edition_and_a_paper_of_that_digest(reader, client):
    papers = edition_small()
    other_day = vote_path(reader, papers["A"].arxiv_id, "more", day=DAY + timedelta(days=1))
    wrong_day = other_day.replace((DAY + timedelta(days=1)).isoformat(), DAY.isoformat())
    assert client.post(wrong_day).status_code == 400
    assert client.post(vote_path(reader, papers["F"].arxiv_id, "more")).status_code == 400  # hidden
    assert client.post(vote_path(reader, papers["A"].arxiv_id, "sideways")).status_code == 400
    preferences = token_make(subscriber=reader, purpose="preferences")
    assert client.post(f"/feedback/{DAY}/{preferences}/{papers['A'].arxiv_id}/more/").status_code == 400
    assert not PaperVote.objects.exists()


def test_feedback_posts_need_the_csrf_token(reader):
    papers = edition_small()
    client = Client(enforce_csrf_checks=True)
    assert client.post(vote_path(reader, papers["A"].arxiv_id, "more")).status_code == 403
    assert not PaperVote.objects.exists()


def test_feedback_pages_are_rate_limited(reader, client, settings):
    settings.FEEDBACK_RATE_PER_IP = 2
    papers = edition_small()
    path = vote_path(reader, papers["A"].arxiv_id, "more")
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    assert client.post(path).status_code == 429
    assert not PaperVote.objects.exists()


def test_rating_page_lists_the_digest_and_records_several_votes(reader, client):
    papers = edition_small()
    path = rate_url(reader)
    page = client.get(path).content.decode()
    assert papers["A"].title in page and papers["D"].title in page  # "For you" and "Also trending"

    response = client.post(path, {
        f"vote-{papers['A'].arxiv_id}": "more", f"vote-{papers['D'].arxiv_id}": "less",
        f"vote-{papers['B'].arxiv_id}": "",
    })
    assert response.status_code == 303
    assert dict(PaperVote.objects.values_list("paper__arxiv_id", "value")) == {
        papers["A"].arxiv_id: 1, papers["D"].arxiv_id: -1,
    }
    client.post(path, {f"vote-{papers['A'].arxiv_id}": ""})  # no opinion any more
    assert not PaperVote.objects.filter(paper=papers["A"]).exists()

    bad = client.post(path, {f"vote-{papers['B'].arxiv_id}": "maybe"})
    assert bad.status_code == 400 and not PaperVote.objects.filter(paper=papers["B"]).exists()


def test_votes_move_similar_papers_in_the_next_digest_and_say_so(reader, client):
    topic_papers = [
        paper_make(f"2507.001{i}", topics={"agents-tools": 20.0}, title=f"Web agents that plan {i}",
                   authors=["Grace Hopper"]) for i in range(3)
    ]
    edition_small()
    for paper in topic_papers[:2]:
        # Not in the reader's topics: rated from "Also trending" via the rating page.
        PaperVote.objects.create(subscriber=reader, paper=paper, value=1, edition_date=DAY)
    taste_rebuild(subscriber=reader)

    pool = pool_get(first=DAY, last=DAY)
    learned = reader_of(reader)
    before = digest_select(pool=pool, reader=dataclasses.replace(learned, taste=None))
    after = digest_select(pool=pool, reader=learned)
    third = pool.by_id[topic_papers[2].arxiv_id]
    assert third not in [p.index for p in before.for_you]
    pick = next(p for p in after.for_you if p.index == third)
    assert pick.why == "Like papers you rated up"


def test_clicks_count_weakly_but_a_scanner_burst_does_not(reader):
    papers = edition_small()
    now = timezone.now()

    def click(message, arxiv_id, seconds):
        ProviderEvent.objects.create(
            provider="postmark", event_key=f"{message}-{arxiv_id}-{seconds}", kind=ProviderEvent.Kind.CLICKED,
            recipient=reader.email, recipient_hash="x", message_id=message, subscriber=reader,
            click_url=f"https://huggingface.co/papers/{arxiv_id}",
            occurred_at=now + timedelta(seconds=seconds),
        )

    for number, key in enumerate("ABCD"):  # four links of one message within seconds: a scanner
        click("scanned", papers[key].arxiv_id, number)
    click("read", papers["E"].arxiv_id, 0)
    click("read", papers["B"].arxiv_id, 120)

    assert sorted(clicks_counted(subscriber_id=reader.pk, since=None)) == sorted(
        [papers["E"].arxiv_id, papers["B"].arxiv_id]
    )
    assert tastes_refresh(since=now - timedelta(hours=1)) == 1
    assert ReaderTaste.objects.get(subscriber=reader).clicks == 2


def test_suggestion_needs_the_readers_click_and_reset_forgets(reader, client):
    liked = [paper_make(f"2507.002{i}", topics={"agents-tools": 20.0}) for i in range(3)]
    for paper in liked:
        PaperVote.objects.create(subscriber=reader, paper=paper, value=1, edition_date=DAY)
    taste = taste_rebuild(subscriber=reader)
    assert taste.suggestions[0]["value"] == "agents-tools"
    assert not reader.topics.filter(slug="agents-tools").exists()  # never automatic

    token = token_make(subscriber=reader, purpose="preferences")
    page = client.get(f"/preferences/{token}/").content.decode()
    assert "You rated 3 papers up and 0 down" in page
    assert "Follow the topic “Agents &amp; tool use”" in page
    assert "“agent” also finds “agents”" in page

    response = client.post(f"/feedback/learned/{token}/follow/", {"kind": "topic", "value": "agents-tools"})
    assert response.status_code == 303
    assert reader.topics.filter(slug="agents-tools").exists()
    not_offered = client.post(f"/feedback/learned/{token}/follow/", {"kind": "topic", "value": "code"})
    assert not_offered.status_code == 303
    assert not reader.topics.filter(slug="code").exists()  # not on offer

    client.post(f"/feedback/learned/{token}/reset/")
    assert not PaperVote.objects.filter(subscriber=reader).exists()
    assert ReaderTaste.objects.get(subscriber=reader).counts == {}
    assert "You rated" not in client.get(f"/preferences/{token}/").content.decode()


def test_feedback_is_in_download_my_data_and_gone_with_delete_my_data(reader):
    paper = paper_make("2507.00031", topics={"code": 10.0})
    PaperVote.objects.create(subscriber=reader, paper=paper, value=-1, edition_date=DAY)
    taste_rebuild(subscriber=reader)

    exported = subscriber_export(subscriber=reader)["feedback"]
    assert exported["votes"][0]["paper"] == "2507.00031" and exported["votes"][0]["vote"] == "less like this"
    assert exported["learned"]["votes_down"] == 1
    json.dumps(exported)  # JSON-ready

    subscriber_erase(subscriber=reader)
    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert not PaperVote.objects.exists() and not ReaderTaste.objects.exists()


def test_keyword_migration_leaves_editor_changed_topics_alone():
    migration = importlib.import_module("newsletter.migrations.0009_topic_keywords_general")
    shipped = importlib.import_module("newsletter.migrations.0004_topic_keywords").KEYWORDS
    from newsletter.models import Topic

    Topic.objects.filter(slug="code").update(keywords=shipped["code"])
    Topic.objects.filter(slug="speech-audio").update(keywords="speech, an editor's list")

    migration.general_keywords(apps, None)

    assert Topic.objects.get(slug="code").keywords == migration.KEYWORDS["code"].strip()
    assert Topic.objects.get(slug="speech-audio").keywords == "speech, an editor's list"
    assert not re.search(r"\b(?:Samba|YOCO|VLLM)\b", "".join(migration.KEYWORDS.values()))


def test_fast_feedback_token_is_the_scoped_token_and_reads_back_for_its_edition_only(reader):
    import time_machine

    with time_machine.travel("2025-07-10 06:00:00+00:00", tick=False):
        minted = feedback_token(reader=reader, day=DAY.isoformat(), secret=_secret())
        assert minted == token_make(subscriber=reader, purpose="feedback", scope=DAY.isoformat())
    assert token_read(token=minted, purpose="feedback", scope=DAY.isoformat()) == reader
    with pytest.raises(TokenInvalid):
        token_read(token=minted, purpose="feedback", scope=(DAY + timedelta(days=1)).isoformat())
    with pytest.raises(TokenInvalid):
        token_read(token=minted, purpose="feedback")


def test_a_followed_topic_keeps_its_papers_until_the_reader_turns_against_it(reader):
    # Papers mis-tagged with a topic the reader follows get rated down; the
    # topic's other papers stay (lower) until dislikes outnumber likes by
    # FOLLOW_TURNED_AFTER, then papers like the disliked ones leave.
    earlier = DAY - timedelta(days=1)
    rated = [
        paper_make(f"2507.002{i}", day=earlier, topics={"quantization-compression": 6.0},
                   title=f"Pruning sparse attention heads {i}") for i in range(FOLLOW_TURNED_AFTER + 1)
    ]
    today = paper_make("2507.00299", topics={"quantization-compression": 6.0}, title="Pruning sparse heads")
    pool = pool_get(first=DAY, last=DAY)

    def for_you_after(ups: int, downs: int) -> list[int]:
        PaperVote.objects.filter(subscriber=reader).delete()
        for paper, value in zip(rated, [1] * ups + [-1] * downs, strict=False):
            PaperVote.objects.create(subscriber=reader, paper=paper, value=value, edition_date=earlier)
        taste_rebuild(subscriber=reader)
        return [p.index for p in digest_select(pool=pool, reader=reader_of(reader)).for_you]

    index = pool.by_id[today.arxiv_id]
    assert index in for_you_after(0, FOLLOW_TURNED_AFTER - 1)
    assert index in for_you_after(1, FOLLOW_TURNED_AFTER)
    assert index not in for_you_after(0, FOLLOW_TURNED_AFTER)
