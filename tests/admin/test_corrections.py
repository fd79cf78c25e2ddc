"""Editors' topic corrections are labelled examples: counted per topic in the
admin, turned into keyword advice by tagger_eval, and they still stick."""

import io

import pytest
from django.core.management import call_command

from newsletter import curation
from newsletter.models import Paper, PaperTopic, TopicCorrection
from newsletter.tagging import paper_tag
from tests.factories import topic

pytestmark = pytest.mark.django_db


def tagged(arxiv_id, title, abstract=""):
    paper = Paper.objects.create(arxiv_id=arxiv_id, title=title, abstract=abstract)
    paper_tag(paper=paper)
    return paper


def test_corrections_are_recorded_with_what_the_tagger_had_and_stick():
    paper = tagged("2508.00101", "Speculative decoding with draft models for agents")
    spec, code = topic("speculative-decoding"), topic("code")
    auto_score = PaperTopic.objects.get(paper=paper, topic=spec).score

    curation.paper_topic_remove(paper=paper, topic=spec)
    curation.paper_topic_add(paper=paper, topic=code)
    paper_tag(paper=paper)  # the tagger runs again: the editor's decisions stay

    removed = TopicCorrection.objects.get(paper=paper, topic=spec)
    added = TopicCorrection.objects.get(paper=paper, topic=code)
    assert (removed.expected, removed.tagger_score) == (False, auto_score)
    assert (added.expected, added.tagger_score) == (True, 0.0)
    assert not PaperTopic.objects.filter(paper=paper, topic=spec).exists()
    assert PaperTopic.objects.get(paper=paper, topic=code).origin == PaperTopic.Origin.EDITOR


def test_topic_list_shows_how_often_editors_corrected_each_topic(admin_client):
    spec = topic("speculative-decoding")
    kept = tagged("2508.00102", "Speculative decoding with a draft model")
    wrong = tagged("2508.00103", "Speculative decoding of draft legislation by a draft model")
    assert PaperTopic.objects.filter(topic=spec, paper__in=[kept, wrong]).count() == 2
    curation.paper_topic_remove(paper=wrong, topic=spec)

    response = admin_client.get("/admin/newsletter/topic/")

    row = {t.slug: t for t in response.context["cl"].result_list}["speculative-decoding"]
    assert (row.admin_corrections.removed, row.admin_corrections.auto) == (1, 1)
    assert "1 removed · 0 added · precision 50%" in response.content.decode()


def test_tagger_eval_suggests_keyword_changes_from_corrected_papers():
    spec = topic("speculative-decoding")
    for n in range(2):
        curation.paper_topic_remove(
            paper=tagged(f"2508.0011{n}", f"Speculative decoding of draft legislation {n}", "A draft model."),
            topic=spec,
        )
    out = io.StringIO()
    call_command("tagger_eval", "--suggest", stdout=out)
    text = out.getvalue()

    assert "suggestions from editors' corrections:" in text
    expected = "speculative-decoding: 'speculative decoding^3' fired on 2 paper(s) editors took the topic off"
    assert expected in text
