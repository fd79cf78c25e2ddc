"""The digest email as a reader (and their mail client) sees it."""

import re
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from newsletter.digest import render
from newsletter.digest.assemble import digest_values, reader_links
from newsletter.digest.build import digest_for, reader_of
from newsletter.digest.links import token_minter
from newsletter.digest.pool import pool_get, pools_forget
from newsletter.digest.render import digest_render_naive, parts_get
from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.models import Topic
from subscribers.emails import welcome_send
from subscribers.tokens import token_make, token_read
from tests.factories import DAY, edition_make, edition_small, paper_make, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


def html_of(message) -> str:
    return message.alternatives[0][0]


def url_in(html: str, path: str) -> str:
    match = re.search(rf'href="(https://papers\.example\.org/{path}/[^"]+)"', html)
    assert match, f"no {path} link"
    return unescape(match.group(1))


def quant_message(**reader_fields):
    papers = edition_small()
    reader = reader_make("quant@example.org", topics=("quantization-compression",), **reader_fields)
    digest = digest_for(subscriber=reader, day=DAY)
    return papers, reader, digest.message()


def test_subject_has_the_date_and_the_lead_title():
    _, _, message = quant_message()
    # G is the editor's pick, so it leads.
    assert message.subject == "Daily Papers · Thu 10 Jul: Paper 2507.00007"


def test_html_and_text_parts_carry_every_paper_with_its_links_and_why():
    papers, _, message = quant_message(keywords="W4A16")
    html, text = html_of(message), message.body
    for key in "GACHB":
        paper = papers[key]
        for part in (html, text):
            assert paper.title in part
            assert f"https://huggingface.co/papers/{paper.arxiv_id}" in part
            assert f"https://arxiv.org/abs/{paper.arxiv_id}" in part
            assert f"https://arxiv.org/pdf/{paper.arxiv_id}" in part
    assert html.isascii()  # non-ASCII travels as character references
    assert "Quantization &amp; compression &#183; matches 'W4A16'" in html
    assert "Quantization & compression · matches 'W4A16'" in text
    assert "▲ 50 upvotes" in unescape(html) and "▲ 50 upvotes" in text
    assert "First Author, Second Author" in text
    assert "Topics: Quantization &amp; compression" in html


def test_authors_are_cut_to_the_first_three_and_stars_shown_with_github():
    paper_make("2507.00051", topics={"reasoning": 1.0}, authors=["A One", "B Two", "C Three", "D Four"],
               github_repo="https://github.com/example/repo", github_stars=1234, num_comments=3)
    reader = reader_make("r@example.org", topics=("reasoning",))
    message = digest_for(subscriber=reader, day=DAY).message()
    assert "A One, B Two, C Three et al." in message.body
    assert '<a class="link" href="https://github.com/example/repo"' in html_of(message)
    assert "GitHub ★ 1.2k" in unescape(html_of(message))
    assert "GitHub (★ 1.2k): https://github.com/example/repo" in message.body
    assert "💬 3 comments" in message.body


def test_trending_section_is_labelled_and_only_present_when_there_is_one():
    _, _, message = quant_message()
    assert "Also trending today" in html_of(message)
    assert "== Also trending today (outside the topics you follow) ==" in message.body
    pools_forget()
    paper_make("2507.00061", day=DAY.replace(day=11), topics={"reasoning": 1.0})
    lonely = reader_make("lonely@example.org", topics=("reasoning",))
    alone = digest_for(subscriber=lonely, day=DAY.replace(day=11)).message()
    assert "trending" not in html_of(alone).lower()
    assert "trending" not in alone.body.lower()


def test_footer_links_are_signed_for_their_purpose_and_name_the_reader():
    _, reader, message = quant_message()
    html = html_of(message)
    assert token_read(token=url_in(html, "unsubscribe").rsplit("/", 2)[1], purpose="unsubscribe") == reader
    assert token_read(token=url_in(html, "preferences").rsplit("/", 2)[1], purpose="preferences") == reader
    web = url_in(html, "digests/2025-07-10")
    assert token_read(token=web.rsplit("/", 2)[1], purpose="digest") == reader
    assert "View in your browser" in html
    assert "Daily Papers, 1 Test Street, 00000 Testville" in html
    assert "Daily Papers, 1 Test Street, 00000 Testville" in message.body
    assert "Why you got this: you subscribed to a daily digest of Daily Papers and follow the topics " \
           "Quantization & compression." in message.body


def test_list_headers_tags_and_metadata_let_providers_and_clients_act(settings):
    settings.EMAIL_PROVIDER = "postmark"
    settings.LIST_UNSUBSCRIBE_MAILTO = "leave@lists.example.net"
    _, reader, _ = quant_message()
    message = digest_for(subscriber=reader, day=DAY).message()
    headers = message.extra_headers
    unsubscribe = url_in(html_of(message), "unsubscribe")
    token = unsubscribe.rsplit("/", 2)[1]
    assert headers["List-Unsubscribe"] == (
        f"<{unsubscribe}>, <mailto:leave@lists.example.net?subject=unsubscribe%20{token}>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Daily Papers <digest.papers.example.org>"
    assert message.tags == ["digest"]
    assert message.metadata["edition"] == "2025-07-10"
    assert message.esp_extra == {"MessageStream": "broadcast"}


def test_digest_and_welcome_carry_the_same_list_headers(settings):
    settings.LIST_UNSUBSCRIBE_MAILTO = "leave@lists.example.net"
    _, reader, _ = quant_message()
    digest = digest_for(subscriber=reader, day=DAY).message().extra_headers
    assert welcome_send(subscriber=reader)
    welcome = mail.outbox[-1].extra_headers
    assert set(welcome) == set(digest) == {"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}
    assert welcome["List-Id"] == digest["List-Id"] == "Daily Papers <digest.papers.example.org>"
    assert welcome["List-Unsubscribe-Post"] == digest["List-Unsubscribe-Post"]
    mailto = r"<https://papers\.example\.org/unsubscribe/([\w.:-]+)/>, " \
             r"<mailto:leave@lists\.example\.net\?subject=unsubscribe%20([\w.:-]+)>"
    for header in (welcome["List-Unsubscribe"], digest["List-Unsubscribe"]):
        url_token, mail_token = re.fullmatch(mailto, header).groups()
        assert url_token == mail_token
        assert token_read(token=mail_token, purpose="unsubscribe") == reader


def test_paper_text_is_escaped_and_only_http_links_survive():
    paper_make("2507.00071", topics={"reasoning": 1.0}, title='<script>alert("x")</script> & more',
               abstract="<img src=x onerror=alert(1)> abstract", github_repo="javascript:alert(1)",
               project_page="https://example.org/project")
    reader = reader_make("r@example.org", topics=("reasoning",), keywords="<b>bold</b>")
    message = digest_for(subscriber=reader, day=DAY).message()
    html = html_of(message)
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html and "javascript:" not in message.body
    assert 'href="https://example.org/project"' in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)


def test_editor_note_is_on_top_and_escaped():
    edition_small()
    edition_make(note="A big day for <quantization>.\nRead A first.")
    reader = reader_make("r@example.org", topics=("quantization-compression",))
    message = digest_for(subscriber=reader, day=DAY).message()
    html = html_of(message)
    assert "A big day for &lt;quantization&gt;.<br>Read A first." in html
    assert html.index("A big day") < html.index("For you")
    assert message.body.index("A big day for <quantization>.") < message.body.index("== For you ==")


def test_html_is_a_600px_layout_with_dark_mode_phone_rules_and_a_preheader():
    _, _, message = quant_message()
    html = html_of(message)
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media (max-width: 620px)" in html
    assert 'width="600"' in html
    # Inlined: the card's styles are on the elements themselves.
    assert re.search(r'<h3 class="title" style="[^"]*font-size:18px', html)
    preheader = r'<div class="preheader" style="display:none[^"]*">4 papers for you and 3 trending'
    assert re.search(preheader, html)


def test_sample_edition_digest_stays_under_gmail_clipping_size_and_fast_path_equals_full_render():
    papers_ingest_file(path=SAMPLE_PATH, featured_on=DAY)
    reader = reader_make(
        "busy@example.org", topics=tuple(Topic.objects.values_list("slug", flat=True)),
        keywords="LoRA, W4A16, KV cache, speculative decoding, quantization, agents",
    )
    digest = digest_for(subscriber=reader, day=DAY)
    message = digest.message()
    # The fullest digest: ten for you, and trending papers the tagger gave no topic.
    assert len(digest.selection.for_you) == 10 and len(digest.selection.trending) <= 3
    assert len(html_of(message).encode()) < 100_000
    # The fast path joins parts inlined once; the reference renders the full
    # template and inlines it for this one reader. Same bytes.
    links = reader_links(reader=digest.reader, pool=digest.pool, mail=parts_get(pool=digest.pool).mail)
    values = digest_values(pool=digest.pool, reader=digest.reader, selection=digest.selection, links=links,
                           mail=parts_get(pool=digest.pool).mail)
    values["subject"] = message.subject
    html, text = digest_render_naive(pool=digest.pool, picks_for_you=digest.selection.for_you,
                                     picks_trending=digest.selection.trending, values=values)
    assert html == html_of(message)
    assert text == message.body


def test_premailer_runs_once_per_edition_not_once_per_reader():
    edition_small()
    readers = [reader_make(f"r{i}@example.org", topics=("quantization-compression",), keywords=f"k{i}")
               for i in range(20)]
    before = render.inline_runs
    messages = [digest_for(subscriber=r, day=DAY).message() for r in readers]
    assert render.inline_runs - before == 2  # the skeleton, and all paper cards in one run
    assert len({html_of(m) for m in messages}) == 20  # each still personal


def test_fast_token_minting_equals_token_make():
    reader = reader_make("someone@example.org")
    with time_machine.travel(datetime(2025, 7, 10, 7, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        minted = token_minter("unsubscribe", "preferences", "digest").mint(reader_of(reader))
        purposes = ("unsubscribe", "preferences", "digest")
        made = tuple(token_make(subscriber=reader, purpose=p) for p in purposes)
    assert minted == made


class _Someone:
    def __init__(self, pk, email):
        self.pk, self.email = pk, email


@hsettings(max_examples=100, deadline=None)
@given(pk=st.one_of(st.integers(1, 10**12), st.sampled_from([111111111, 1000000000000, 7777777777777])),
       email=st.emails())
def test_fast_token_minting_equals_token_make_for_any_id_and_address(pk, email):
    someone = _Someone(pk, email)
    with time_machine.travel(datetime(2025, 7, 10, 7, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        minted = token_minter("unsubscribe").mint(someone)[0]
        assert minted == token_make(subscriber=someone, purpose="unsubscribe")


def test_pool_is_rebuilt_when_an_editor_changes_the_edition():
    papers = edition_small()
    reader = reader_make("r@example.org", topics=("quantization-compression",))
    digest_for(subscriber=reader, day=DAY).message()
    papers["B"].title = "A corrected title"
    papers["B"].title_edited = True
    papers["B"].save()
    assert "A corrected title" in html_of(digest_for(subscriber=reader, day=DAY).message())
    assert pool_get(first=DAY, last=DAY).papers
