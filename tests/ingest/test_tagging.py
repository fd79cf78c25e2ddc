"""Automatic topic tagging: beyond literal keywords, and editors have the last word."""

import pytest

from config.celery import app
from newsletter.models import PaperTopic, Topic
from newsletter.tagging import paper_tag, papers_retag_all, topics_choose, topics_score
from newsletter.tagging.match import keyword_items, keyword_parse, stem
from tests.conftest import VENV_BIN, broker_purge, wait_for
from tests.factories import paper_make

pytestmark = pytest.mark.django_db


def tagged(title: str, abstract: str = "", **kwargs) -> set[str]:
    topics = list(Topic.objects.filter(active=True))
    chosen = topics_choose(topics_score(title=title, abstract=abstract, topics=topics, **kwargs))
    slugs = {t.pk: t.slug for t in topics}
    return {slugs[pk] for pk in chosen}


def test_a_draft_model_means_speculative_decoding_without_the_words():
    assert "speculative-decoding" in tagged(
        "Training Tiny Draft Models for Faster Chat Generation",
        "A small drafter proposes tokens that the target model checks in one pass; "
        "the acceptance rate rises by 20%.",
    )


def test_w4a16_means_quantization_without_the_word():
    assert "quantization-compression" in tagged(
        "W4A16 Kernels for Consumer GPUs",
        "We ship INT4 weight kernels with 16-bit activations and measure end-to-end latency.",
    )


def test_ai_keywords_count_too():
    assert "retrieval-rag" in tagged(
        "A New System", "We build it.", ai_keywords=["retrieval-augmented generation", "dense retriever"]
    )


def test_acronyms_match_exactly_plural_included():
    assert "reinforcement-learning" in tagged("Aligning Small Models with RL", "RL from verifiable rewards.")
    assert "reinforcement-learning" not in tagged("Every URL Matters", "We crawl each URL and url twice.")
    assert "multimodal" in tagged("Token Pruning for VLMs", "VLMs and MLLMs waste visual tokens.")


def test_stems_and_hyphens_do_not_matter():
    assert stem("quantized") == stem("quantization") == stem("quantizing")
    assert stem("decoder") == stem("decoding")
    assert "reasoning" in tagged("Shorter Chains of Thought", "chain-of-thought traces, then long CoTs")


def test_a_passing_mention_is_not_enough():
    assert tagged(
        "A Dataset of Cooking Recipes",
        "We collect recipes. Code is available. Unlike retrieval systems, we do not search.",
    ) == set()


def test_keyword_syntax():
    weighted = keyword_parse("draft model^3")
    assert (weighted.weight, weighted.keys) == (3.0, (("w", "draft"), ("w", "model")))
    assert keyword_parse("title:benchmark^2").title_only
    assert keyword_parse("without fine-tuning^-2").weight == -2.0
    assert keyword_parse('"coding"').keys == (("x", "coding"),)
    assert keyword_parse("MoE").keys == (("a", "MoE"),)
    assert keyword_parse(r"/\bW\d+A\d+\b/^2").pattern.search("a W4A16 kernel")
    assert keyword_parse("/(unclosed/") is None
    assert keyword_items("a, b\n/x{1,2}/^2\n\nc") == ["a", "b", "/x{1,2}/^2", "c"]


def test_topic_name_and_description_count_without_keywords():
    topic = Topic.objects.create(slug="graphs", name="Graph learning", description="Graph neural networks.")
    scores = topics_score(
        title="Graph Neural Networks at Scale", abstract="graph neural networks on graphs", topics=[topic]
    )
    assert scores[topic.pk] > 0


def tagged_paper(arxiv_id="2508.00001", **fields):
    """A paper (on speculative decoding unless told) as ingestion leaves it: tagged."""
    fields.setdefault("title", "Speculative Decoding with a Small Draft Model")
    fields.setdefault("abstract", "A draft model proposes tokens; the target model verifies them.")
    paper = paper_make(arxiv_id, day=None, **fields)
    paper_tag(paper=paper)
    return paper


def slugs(paper):
    return set(paper.topics.values_list("slug", flat=True))


def test_editor_choices_stick_through_retagging():
    paper = tagged_paper()
    spec = Topic.objects.get(slug="speculative-decoding")
    surveys = Topic.objects.get(slug="surveys")
    assert "speculative-decoding" in slugs(paper)
    PaperTopic.objects.filter(paper=paper, topic=spec).delete()
    paper.excluded_topics.add(spec)
    PaperTopic.objects.create(paper=paper, topic=surveys, origin=PaperTopic.Origin.EDITOR, score=1)

    paper_tag(paper=paper)
    papers_retag_all()

    assert "speculative-decoding" not in slugs(paper)
    assert "surveys" in slugs(paper)


def test_retag_follows_new_keywords_and_retired_topics_but_keeps_editor_links():
    topic = Topic.objects.create(slug="tokenizers", name="Tokenizers", description="", keywords="")
    tokenizer_paper = tagged_paper("2508.00002", title="Byte Tokenizers Revisited",
                                 abstract="We compare BPE and byte-level tokenizers.")
    other = tagged_paper("2508.00003")
    other_auto = set(other.papertopic_set.values_list("topic_id", "score"))
    assert "tokenizers" in slugs(tokenizer_paper)  # the name alone matches the title
    # Weighted to stand next to the paper's own topic (the relative cut).
    Topic.objects.filter(pk=topic.pk).update(keywords="BPE^3, byte-level^2, draft model^6")

    changed = papers_retag_all(topic_ids=[topic.pk])

    assert changed == 1  # the draft-model paper gained the topic
    assert "tokenizers" in slugs(other)
    link = PaperTopic.objects.get(paper=tokenizer_paper, topic=topic)
    assert link.origin == PaperTopic.Origin.AUTO and link.score > 5
    # Only the re-tagged topic moved: the other links are exactly as they were.
    links = other.papertopic_set.values_list("topic_id", "score")
    assert {(t, s) for t, s in links if t != topic.pk} == other_auto

    PaperTopic.objects.filter(paper=other, topic=topic).update(origin=PaperTopic.Origin.EDITOR)
    Topic.objects.filter(pk=topic.pk).update(active=False)
    papers_retag_all(topic_ids=[topic.pk])

    assert "tokenizers" not in slugs(tokenizer_paper)  # retired: automatic links go
    assert "tokenizers" in slugs(other)  # but the editor's stays


@pytest.fixture
def eager_tasks(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)


def topic_form(topic, **changes):
    data = {
        "slug": topic.slug, "name": topic.name, "description": topic.description,
        "keywords": topic.keywords, "active": "on" if topic.active else "", "position": topic.position,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_admin_keyword_change_retags_existing_papers(
    admin_client, eager_tasks, django_capture_on_commit_callbacks
):
    paper = tagged_paper("2508.00004", title="Grokking in Small Transformers", abstract="We study grokking.")
    topic = Topic.objects.get(slug="architectures")
    assert "architectures" not in slugs(paper)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            f"/admin/newsletter/topic/{topic.pk}/change/",
            topic_form(topic, keywords=topic.keywords + "\ngrokking^3"),
        )

    assert response.status_code == 302
    assert len(callbacks) == 1
    assert "architectures" in slugs(paper)


def test_admin_new_topic_tags_existing_papers(admin_client, eager_tasks, django_capture_on_commit_callbacks):
    paper = tagged_paper("2508.00005", title="Grokking in Small Transformers", abstract="We study grokking.")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/newsletter/topic/add/", {
            "slug": "grokking", "name": "Grokking", "description": "Delayed generalization.",
            "keywords": "grokking^3", "active": "on", "position": 30,
        })

    assert response.status_code == 302
    assert "grokking" in slugs(paper)


def test_admin_unrelated_change_does_not_retag(admin_client, django_capture_on_commit_callbacks):
    topic = Topic.objects.get(slug="architectures")

    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(f"/admin/newsletter/topic/{topic.pk}/change/", topic_form(topic, position=99))

    assert Topic.objects.get(pk=topic.pk).position == 99
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_retag_runs_on_a_real_worker(admin_client, service_env, start_service):
    broker_purge()
    worker = start_service(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
        service_env, "worker",
    )
    # Transactional tests start from an empty database: bring our own topic.
    topic = Topic.objects.create(slug="training-dynamics", name="Training dynamics", keywords="loss spikes")
    paper = tagged_paper("2508.00006", title="Grokking in Small Transformers", abstract="We study grokking.")
    assert not PaperTopic.objects.filter(paper=paper, topic=topic).exists()

    response = admin_client.post(
        f"/admin/newsletter/topic/{topic.pk}/change/", topic_form(topic, keywords="grokking^3")
    )
    assert response.status_code == 302

    wait_for(
        lambda: PaperTopic.objects.filter(paper=paper, topic=topic).exists(),
        timeout=60, what="the worker to re-tag the paper", service=worker,
    )
