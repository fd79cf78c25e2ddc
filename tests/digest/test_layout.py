"""The digest's layout as a reader scans it: the overview, the cards, the
two formats, weekly grouping, the text part's lines and the size limit."""

import re
from datetime import timedelta
from html import unescape

import pytest

from newsletter.digest.build import digest_for
from newsletter.digest.pool import ABSTRACT_LIMIT, pools_forget
from newsletter.models import Paper
from subscribers.models import Subscriber
from tests.factories import DAY, edition_make, edition_small, paper_make, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]

GMAIL_CLIPS_AT = 102 * 1024
TEXT_LINE_LIMIT = 78


def html_of(message) -> str:
    return message.alternatives[0][0]


def message_for(reader, day=DAY):
    return digest_for(subscriber=reader, day=day).message()


def quant_reader(**fields):
    email = fields.pop("email", "quant@example.org")
    return reader_make(email, topics=("quantization-compression",), **fields)


def long_lines(text: str) -> list[str]:
    """Lines over the limit, except a lone URL (it cannot be broken)."""
    return [line for line in text.splitlines()
            if len(line) > TEXT_LINE_LIMIT and not re.fullmatch(r"https?://\S+", line)]


def test_in_this_issue_lists_every_paper_linked_to_its_card():
    edition_small()
    message = message_for(quant_reader())
    html = html_of(message)
    overview = html[html.index("In this issue"):html.index(">For you<")]
    anchors = re.findall(r'<a class="toc-link" href="#([^"]+)"', overview)
    ids = re.findall(r'<table role="presentation" class="card[^"]*" id="([^"]+)"', html)
    # Seven papers: G, A, C, B for you, then D, E, H trending; each card once.
    assert len(anchors) == 7 and sorted(anchors) == sorted(ids) and len(set(ids)) == 7
    assert html.index("In this issue") < html.index(">For you<")
    # The text part opens with the same overview.
    body = message.body
    assert body.index("IN THIS ISSUE") < body.index("== For you ==")
    assert "  * W4A16 kernels for fast inference" in body.split("== For you ==")[0]


def test_the_overview_is_grouped_by_the_readers_topics_above_five_papers_only():
    edition_small()
    # Seven papers: grouped, the editor's pick first, then the reader's topics, trending last.
    html = html_of(message_for(quant_reader()))
    overview = html[html.index("In this issue"):html.index(">For you<")]
    groups = [unescape(g) for g in re.findall(r'<p class="group"[^>]*>([^<]+)</p>', overview)]
    assert groups == ["Editor's picks", "Quantization & compression", "Also trending today"]
    # Three papers: one plain list.
    paper_make("2507.00091", day=DAY.replace(day=11), topics={"reasoning": 1.0})
    paper_make("2507.00092", day=DAY.replace(day=11), topics={"reasoning": 1.0})
    reader = reader_make("r@example.org", topics=("reasoning",))
    small = html_of(message_for(reader, day=DAY.replace(day=11)))
    overview = small[small.index("In this issue"):small.index(">For you<")]
    assert 'class="group"' not in overview and overview.count('class="toc-link"') == 2


def test_a_card_shows_the_summary_else_a_short_abstract_and_pinned_papers_stand_out():
    long_abstract = " ".join(["Words of a long abstract"] * 40)
    paper_make("2507.00081", topics={"reasoning": 3.0}, abstract=long_abstract, upvotes=4)
    paper_make("2507.00082", topics={"reasoning": 2.0}, abstract=long_abstract, ai_summary="A crisp summary.")
    paper_make("2507.00083", topics={"reasoning": 1.0}, pinned=True)
    message = message_for(reader_make("r@example.org", topics=("reasoning",)))
    html = html_of(message)
    cut = re.search(r'<p class="excerpt"[^>]*>(Words of a long abstract[^<]*)</p>', html).group(1)
    assert unescape(cut).endswith("…") and len(unescape(cut)) <= ABSTRACT_LIMIT + 1
    assert unescape(cut)[:-1].split()[-1] in {"Words", "of", "a", "long", "abstract"}  # a word boundary
    excerpts = re.findall(r'<p class="excerpt"[^>]*>([^<]*)</p>', html)
    assert sorted(e[:7] for e in excerpts) == ["A crisp", "The abs", "Words o"]  # the summary wins
    assert re.search(r'class="card card-pinned" id="p-2507-00083"', html)
    assert "Editor's pick" in html


def test_compact_shows_title_counts_and_why_only():
    edition_small()
    reader = quant_reader(keywords="W4A16", digest_format=Subscriber.DigestFormat.COMPACT)
    message = message_for(reader)
    html = html_of(message)
    assert "In this issue" not in html and 'class="excerpt"' not in html and 'class="authors"' not in html
    assert html.count('class="c-item') == 7
    assert re.search(r'<span class="c-counts"[^>]*>&#9650; 50</span>', html)
    assert "Quantization &amp; compression &#183; matches 'W4A16'" in html
    assert "W4A16 kernels for fast inference" in message.body and "https://arxiv.org" not in message.body
    assert not long_lines(message.body)
    # The footer's feedback link stays.
    assert "Rate these papers" in html and "Rate these papers:" in message.body


def test_also_trending_needs_upvotes_or_comments_and_shows_them():
    paper_make("2507.00101", topics={"reasoning": 1.0})
    paper_make("2507.00102", topics={"agents-tools": 1.0})  # no signal: not "trending"
    paper_make("2507.00103", topics={"code": 1.0}, github_stars=900)  # stars alone: not "trending"
    reader = reader_make("r@example.org", topics=("reasoning",))
    message = message_for(reader)
    assert "trending" not in html_of(message).lower() and "trending" not in message.body.lower()
    Paper.objects.filter(arxiv_id="2507.00102").update(num_comments=4)
    pools_forget()  # update() leaves updated_at, which the pool's fingerprint reads
    again = message_for(reader)
    assert "Also trending today" in html_of(again)
    assert "💬 4 comments" in unescape(html_of(again)) and "💬 4 comments" in again.body
    assert "2507.00103" not in again.body


@pytest.mark.parametrize("digest_format", ["full", "compact"])
def test_weekly_digest_groups_the_week_by_topic_with_the_day_each_paper_trended(digest_format):
    monday = DAY - timedelta(days=3)
    paper_make("2507.00111", day=monday, topics={"reasoning": 1.0}, upvotes=40)
    paper_make("2507.00112", day=DAY, topics={"agents-tools": 1.0}, upvotes=30)
    paper_make("2507.00113", day=DAY, topics={"reasoning": 1.0}, upvotes=20)
    reader = reader_make("w@example.org", topics=("reasoning", "agents-tools"), frequency="weekly",
                         weekday=DAY.weekday(), digest_format=digest_format)
    message = message_for(reader)
    html, text = html_of(message), message.body
    cards = html[html.index(">For you<"):]
    groups = re.findall(r'<p class="group"[^>]*>([^<]+)</p>', cards)
    # Ranked: the agents paper first (newest), then both reasoning papers
    # together under their heading, though the older one ranks last.
    assert groups == ["Agents &amp; tool use", "Reasoning &amp; test-time compute"]
    assert cards.index("2507.00112") < cards.index("Reasoning &amp;") < cards.index("2507.00113") \
        < cards.index("2507.00111")
    assert text.index("AGENTS & TOOL USE") < text.index("REASONING & TEST-TIME COMPUTE")
    day = f"{monday:%a} {monday.day} {monday:%b}"
    shown = f"Trended {day}" if digest_format == "full" else f"{day} &#183; &#9650; 40"
    assert shown in html and unescape(shown) in text
    assert message.subject.endswith(f"Daily Papers, week of {(DAY - timedelta(days=6)).day} Jul")


@pytest.mark.parametrize("digest_format", ["full", "compact"])
def test_text_part_lines_fit_78_characters(digest_format):
    edition_small()
    edition_make(note="A long note from the editors " * 12)
    paper_make("2507.00121", topics={"quantization-compression": 1.0}, title="A title " * 30,
               authors=[f"Author Number{i} With A Long Name" for i in range(30)],
               abstract="Long abstract words " * 50, github_repo="https://github.com/" + "x" * 90)
    keywords = "W4A16, a rather long keyword phrase, another long keyword phrase, KV cache"
    reader = quant_reader(keywords=keywords, digest_format=digest_format)
    reader.topics.add(*reader.topics.model.objects.all()[:8])
    message = message_for(reader)
    assert not long_lines(message.body)
    assert not long_lines(message.subject + "\n")  # one line, short


def _largest_edition():
    """The most a digest can hold: the maximum number of papers, long titles
    and author lists, every count, code and project links, long summaries."""
    edition_make(note="N" * 2000)
    topics = ["reasoning", "agents-tools", "multimodal", "code", "quantization-compression"]
    for i in range(40):
        paper_make(
            f"2507.{20000 + i:05d}", topics={topics[i % 5]: 3.0, topics[(i + 1) % 5]: 2.0},
            pinned=i < 2, upvotes=12345 + i, num_comments=678, github_stars=98765,
            title=(f"An extremely long title about {'serving' if i % 5 == 3 else 'speculative decoding'} "
                   "and KV caches " * 8)[:500],
            authors=[f"Author With A Really Quite Long Name Number {n}" for n in range(60)],
            abstract="Abstract " * 400, ai_summary="Summary words " * 60,
            github_repo=f"https://github.com/some-organisation/{'r' * 80}{i}",
            project_page=f"https://project.example.org/{'p' * 80}{i}",
        )


@pytest.mark.parametrize("digest_format", ["full", "compact"])
@pytest.mark.parametrize("weekly", [False, True])
def test_the_largest_digest_stays_under_gmails_clipping_size(settings, digest_format, weekly):
    _largest_edition()
    reader = reader_make(
        "big@example.org", topics=("reasoning", "agents-tools", "multimodal"),
        keywords=", ".join(f"keyword{i}" for i in range(19)) + ", speculative decoding",
        digest_format=digest_format, **({"frequency": "weekly", "weekday": DAY.weekday()} if weekly else {}),
    )
    digest = digest_for(subscriber=reader, day=DAY)
    message = digest.message()
    assert len(digest.selection.for_you) == settings.DIGEST_MAX_PAPERS
    assert len(digest.selection.trending) == settings.DIGEST_TRENDING_PAPERS
    size = len(html_of(message).encode())
    assert size < GMAIL_CLIPS_AT, f"{size} bytes"
