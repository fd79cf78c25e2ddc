"""Which papers a reader gets, in which order, and why."""

from datetime import timedelta

import pytest

from newsletter.digest.pool import pool_get
from newsletter.digest.ranking import paper_attention
from newsletter.digest.selection import Reader, digest_select, keywords_parse
from tests.factories import DAY, edition_small, paper_make, topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


def reader(*slugs, keywords=(), pk=1, weekly=False) -> Reader:
    return Reader(pk=pk, email=f"r{pk}@example.org", topic_ids=frozenset(topic(s).pk for s in slugs),
                  keywords=tuple(keywords), weekly=weekly)


def ids(pool, picks):
    return [pool.papers[p.index].arxiv_id for p in picks]


def test_topic_reader_gets_pin_first_then_matches_by_score_then_trending_outside_topics():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader("quantization-compression"))
    n = {p.arxiv_id: key for key, p in papers.items()}
    assert [n[i] for i in ids(pool, selection.for_you)] == ["G", "A", "C", "B"]
    assert [n[i] for i in ids(pool, selection.trending)] == ["D", "E", "H"]


def test_hidden_paper_is_never_selected_even_when_it_ranks_highest():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    everyone = digest_select(pool=pool, reader=reader())
    assert papers["F"].arxiv_id not in ids(pool, everyone.picks)
    assert papers["F"].arxiv_id not in pool.by_id


def test_why_line_names_the_matched_topic_and_keyword():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader("quantization-compression", keywords=["W4A16"]))
    why = {pool.papers[p.index].arxiv_id: p.why for p in selection.for_you}
    assert why[papers["A"].arxiv_id] == "Quantization & compression · matches 'W4A16'"
    # Found only in the abstract, outside the reader's topics: still "for you", by keyword.
    assert why[papers["H"].arxiv_id] == "matches 'W4A16'"
    assert why[papers["G"].arxiv_id] == "Editor's pick"
    assert why[papers["B"].arxiv_id] == "Quantization & compression"


def test_keyword_in_title_outranks_the_same_topic_without_it():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader("quantization-compression", keywords=["W4A16"]))
    n = {p.arxiv_id: key for key, p in papers.items()}
    # A: (0.6 + 2 + log2 2) x 2.18; H: log2 2 x 1.91 (abstract match); C: 0.2 x 1.72; B: 0.2
    assert [n[i] for i in ids(pool, selection.for_you)] == ["G", "A", "H", "C", "B"]


def test_keyword_matches_an_author_so_readers_can_follow_people():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader(keywords=["ada lovelace"]))
    assert ids(pool, selection.for_you) == [papers["G"].arxiv_id, papers["E"].arxiv_id]
    assert selection.for_you[1].why == "matches 'ada lovelace'"


def test_keyword_matches_whole_words_only():
    paper_make("2507.00011", title="Storage systems for models", topics={"code": 1.0})
    paper_make("2507.00012", title="RAG pipelines", topics={"code": 1.0})
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader(keywords=["RAG"]))
    assert ids(pool, selection.for_you) == ["2507.00012"]


def test_keyword_matches_ai_keywords():
    paper_make("2507.00013", title="A paper", ai_keywords=["speculative sampling"], topics={"code": 1.0})
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader(keywords=["Speculative Sampling"]))
    assert ids(pool, selection.for_you) == ["2507.00013"]


def test_already_received_papers_are_left_out_and_the_next_ones_move_up():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(
        pool=pool, reader=reader("quantization-compression"),
        received={papers["A"].arxiv_id, papers["D"].arxiv_id},
    )
    n = {p.arxiv_id: key for key, p in papers.items()}
    assert [n[i] for i in ids(pool, selection.for_you)] == ["G", "C", "B"]
    assert [n[i] for i in ids(pool, selection.trending)] == ["E", "H"]


def test_nothing_new_means_an_empty_selection_and_no_trending():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    received = {papers[k].arxiv_id for k in "ABCG"}
    selection = digest_select(pool=pool, reader=reader("quantization-compression"), received=received)
    assert selection.empty
    assert selection.trending == ()


def test_reader_without_topics_or_keywords_gets_the_top_papers_by_attention():
    papers = edition_small()
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader(), limit=4)
    n = {p.arxiv_id: key for key, p in papers.items()}
    assert [n[i] for i in ids(pool, selection.for_you)] == ["G", "D", "E", "A"]
    assert selection.for_you[1].why == "Top paper today"
    assert selection.trending == ()


def test_for_you_is_capped_by_the_setting(settings):
    settings.DIGEST_MAX_PAPERS = 2
    edition_small()
    pool = pool_get(first=DAY, last=DAY)
    assert len(digest_select(pool=pool, reader=reader("quantization-compression")).for_you) == 2


def test_paper_without_upvotes_still_ranks_by_relevance():
    paper_make("2507.00021", topics={"reasoning": 4.0})
    paper_make("2507.00022", topics={"reasoning": 1.0})
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader("reasoning"))
    assert ids(pool, selection.for_you) == ["2507.00021", "2507.00022"]


def test_editor_topic_counts_as_a_confident_match():
    paper_make("2507.00031", topics={"reasoning": 2.0})
    paper_make("2507.00032", editor_topics=("reasoning",))
    pool = pool_get(first=DAY, last=DAY)
    selection = digest_select(pool=pool, reader=reader("reasoning"))
    assert ids(pool, selection.for_you) == ["2507.00032", "2507.00031"]


def test_weekly_pool_prefers_recent_editions_and_drops_those_before_the_last_digest():
    old = paper_make("2507.00041", day=DAY - timedelta(days=5), topics={"reasoning": 2.0})
    mid = paper_make("2507.00042", day=DAY - timedelta(days=2), topics={"reasoning": 2.0})
    new = paper_make("2507.00043", day=DAY, topics={"reasoning": 2.0})
    pool = pool_get(first=DAY - timedelta(days=6), last=DAY)
    everything = digest_select(pool=pool, reader=reader("reasoning", weekly=True))
    assert ids(pool, everything.for_you) == [new.arxiv_id, mid.arxiv_id, old.arxiv_id]
    since = digest_select(pool=pool, reader=reader("reasoning", weekly=True), since=DAY - timedelta(days=3))
    assert ids(pool, since.for_you) == [new.arxiv_id, mid.arxiv_id]


def test_pool_reflects_an_editor_hiding_a_paper():
    papers = edition_small()
    first = pool_get(first=DAY, last=DAY)
    assert papers["A"].arxiv_id in first.by_id
    papers["A"].hidden = True
    papers["A"].save()
    assert papers["A"].arxiv_id not in pool_get(first=DAY, last=DAY).by_id


def test_attention_grows_with_upvotes_comments_and_stars():
    assert paper_attention(upvotes=0, num_comments=0, github_stars=None) == 0
    low = paper_attention(upvotes=10, num_comments=0, github_stars=None)
    assert paper_attention(upvotes=100, num_comments=0, github_stars=None) > low
    assert paper_attention(upvotes=10, num_comments=5, github_stars=None) > low
    assert paper_attention(upvotes=10, num_comments=0, github_stars=500) > low


def test_keywords_parse_splits_dedupes_and_bounds():
    assert keywords_parse(" W4A16, lora\nLoRA ;  KV   cache,, ") == ("W4A16", "lora", "KV cache")
    assert len(keywords_parse(",".join(f"k{i}" for i in range(50)))) == 20
