"""The digest email as a reader (and their mail client) sees it."""

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from newsletter.digest import render
from newsletter.digest.assemble import digest_layout, digest_values, reader_links
from newsletter.digest.build import digest_for, reader_of
from newsletter.digest.links import token_minter
from newsletter.digest.pool import pool_get, pools_forget
from newsletter.digest.render import digest_render_naive, parts_get
from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.models import Paper
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


def test_subject_names_the_readers_topics_first_then_the_count_and_the_date():
    _, _, message = quant_message()
    # G (the editor's pick, in a topic the reader does not follow) leads the
    # email, but the subject leads with what the reader follows.
    assert message.subject == "Quantization & compression + 6 more · Daily Papers, Thu 10 Jul"
    assert message.subject[:40].startswith("Quantization & compression + 6 more")


def test_subject_leads_with_matched_keywords_and_stays_short_and_the_preheader_names_the_top_paper():
    _, _, message = quant_message(keywords="W4A16, KV cache")
    assert message.subject == "W4A16, Quantization & compression + 5 more · Daily Papers, Thu 10 Jul"
    preheader = r'<div class="preheader"[^>]*>Top: Paper 2507.00007 &#183; and 4 more for you, 2 trending'
    assert re.search(preheader, html_of(message))


def test_html_and_text_parts_carry_every_paper_with_its_links_and_why():
    papers, _, message = quant_message(keywords="W4A16")
    html, text = html_of(message), message.body
    for key in "GACHB":
        paper = papers[key]
        for part in (html, text):
            assert paper.title in part
            for url in (f"https://papers.example.org/papers/{paper.arxiv_id}/",
                        f"https://arxiv.org/abs/{paper.arxiv_id}", f"https://arxiv.org/pdf/{paper.arxiv_id}"):
                assert part.count(url) == 1, url  # each link once per paper
        # The title is the one link to the paper's page; no "Paper page" twin.
        assert f'<a class="title-link" href="https://papers.example.org/papers/{paper.arxiv_id}/"' in html
    assert "huggingface.co" not in html and "Paper page" not in html
    assert html.isascii()  # non-ASCII travels as character references
    # The "why" once: topics and matched keywords on one line, no "Topics:" line.
    assert html.count("Quantization &amp; compression &#183; matches 'W4A16'") == 1
    assert "Quantization & compression · matches 'W4A16'" in text
    assert "Topics:" not in html and "Topics:" not in text
    assert "▲ 50 upvotes" in unescape(html) and "▲ 50 upvotes" in text
    assert "First Author, Second Author" in text


def test_authors_are_cut_to_the_first_three_and_stars_shown_with_github():
    paper_make("2507.00051", topics={"reasoning": 1.0}, authors=["A One", "B Two", "C Three", "D Four"],
               github_repo="https://github.com/example/repo", github_stars=1234, num_comments=3)
    reader = reader_make("r@example.org", topics=("reasoning",))
    message = digest_for(subscriber=reader, day=DAY).message()
    assert "A One, B Two, C Three et al." in message.body
    assert '<a class="link" href="https://github.com/example/repo"' in html_of(message)
    assert "▲ 0" not in message.body  # unknown counts are left out
    assert "💬 3 comments · ★ 1.2k stars" in unescape(html_of(message))
    assert "💬 3 comments · ★ 1.2k stars" in message.body
    assert "Code: https://github.com/example/repo" in message.body


def test_a_project_page_equal_to_the_code_link_is_listed_once():
    paper_make("2507.00052", topics={"reasoning": 1.0}, github_repo="https://github.com/example/repo",
               project_page="https://github.com/example/repo/")
    reader = reader_make("r@example.org", topics=("reasoning",))
    message = digest_for(subscriber=reader, day=DAY).message()
    assert html_of(message).count("https://github.com/example/repo") == 1
    assert "Project" not in message.body


def test_trending_section_is_labelled_and_only_present_when_there_is_one():
    _, _, message = quant_message()
    assert "Also trending today" in html_of(message)
    assert "== Also trending today ==\n(outside the topics you follow)" in message.body
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
           "Quantization & compression." in " ".join(message.body.split())  # wrapped in the text part


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
    # Web links, and "In this issue" pointing at cards in the email.
    assert hrefs and all(h.startswith(("https://", "http://", "#p-")) for h in hrefs)


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
    preheader = r'<div class="preheader" style="display:none[^"]*">Top: Paper 2507.00007 &#183; and 3 more'
    assert re.search(preheader, html)


@pytest.mark.parametrize("digest_format", ["full", "compact"])
@pytest.mark.parametrize("weekly", [False, True])
def test_fast_path_equals_the_full_render_in_both_formats(digest_format, weekly):
    papers_ingest_file(path=SAMPLE_PATH, featured_on=DAY)
    # Signal for "Also trending", and a second day for the weekly digest.
    Paper.objects.update(upvotes=7, num_comments=2)
    if weekly:
        Paper.objects.filter(arxiv_id__in=Paper.objects.order_by("arxiv_id").values("arxiv_id")[:40]).update(
            featured_on=DAY - timedelta(days=1))
    edition_make(note="A note.")
    reader = reader_make(
        "busy@example.org", topics=("reasoning", "agents-tools", "multimodal"), keywords="LoRA, KV cache",
        digest_format=digest_format, **({"frequency": "weekly", "weekday": DAY.weekday()} if weekly else {}),
    )
    digest = digest_for(subscriber=reader, day=DAY)
    message = digest.message()
    assert len(digest.selection.for_you) == 10 and digest.selection.trending
    # The fast path joins parts inlined once; the reference renders the full
    # template and inlines it for this one reader. Same bytes.
    parts = parts_get(pool=digest.pool, digest_format=digest_format)
    links = reader_links(reader=digest.reader, pool=digest.pool, mail=parts.mail)
    values = digest_values(pool=digest.pool, reader=digest.reader, selection=digest.selection, links=links,
                           mail=parts.mail)
    values["subject"] = message.subject
    overview, for_you = digest_layout(pool=digest.pool, selection=digest.selection,
                                      digest_format=digest_format)
    if digest_format == "full" or weekly:  # grouped under the reader's topics
        assert any(isinstance(entry, str) for entry in overview + for_you)
    html, text = digest_render_naive(pool=digest.pool, overview=overview, for_you=for_you,
                                     trending=list(digest.selection.trending), values=values,
                                     digest_format=digest_format)
    assert html == html_of(message)
    assert text == message.body


def test_premailer_runs_once_per_edition_and_format_not_once_per_reader():
    edition_small()
    readers = [reader_make(f"r{i}@example.org", topics=("quantization-compression",), keywords=f"k{i}",
                           digest_format=("full", "compact")[i % 2]) for i in range(20)]
    before = render.inline_runs
    messages = [digest_for(subscriber=r, day=DAY).message() for r in readers]
    # Per format: the skeleton, and all cards, overview lines and headings in one run.
    assert render.inline_runs - before == 4
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
