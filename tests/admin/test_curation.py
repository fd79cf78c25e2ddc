import pytest
from django.contrib.admin.models import LogEntry

from newsletter import curation
from newsletter.ingest.records import PaperRecord
from newsletter.ingest.store import paper_upsert
from newsletter.models import Paper, PaperTopic
from newsletter.selectors import edition_papers
from newsletter.tagging import paper_tag
from tests.factories import DAY, paper_make, topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_user("editor", "editor@example.org", "pw", is_staff=True)


def test_pin_is_idempotent_and_logs_each_change_once(editor):
    a, b = paper_make("2508.00001"), paper_make("2508.00002", pinned=True)
    assert curation.papers_pin(papers=Paper.objects.all(), by=editor) == 1
    assert curation.papers_pin(papers=Paper.objects.all(), by=editor) == 0
    assert set(Paper.objects.filter(pinned=True)) == {a, b}
    entries = LogEntry.objects.filter(user=editor)
    assert [(e.object_id, e.change_message) for e in entries] == [(str(a.pk), "Pinned")]


def test_pins_lead_the_edition_and_hidden_papers_leave_it(editor):
    low, mid, high = (paper_make(f"2508.0000{n}", upvotes=votes) for n, votes in [(1, 1), (2, 50), (3, 99)])
    assert [p.pk for p in edition_papers(day=DAY)] == [high.pk, mid.pk, low.pk]
    assert curation.paper_pin(paper=low, by=editor)
    assert curation.paper_hide(paper=high, by=editor)
    assert [p.pk for p in edition_papers(day=DAY)] == [low.pk, mid.pk]
    assert curation.paper_unhide(paper=high, by=editor)
    assert curation.paper_unpin(paper=low, by=editor)
    assert [p.pk for p in edition_papers(day=DAY)] == [high.pk, mid.pk, low.pk]
    messages = list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True))
    assert messages == ["Pinned", "Hidden", "Unhidden", "Unpinned"]


def test_topic_added_by_an_editor_survives_retagging():
    paper = paper_make("2508.00001", title="A study of cooking recipes", abstract="Nothing about models.")
    reasoning = topic("reasoning")
    assert curation.paper_topic_add(paper=paper, topic=reasoning)
    link = PaperTopic.objects.get(paper=paper, topic=reasoning)
    assert (link.origin, link.score) == (PaperTopic.Origin.EDITOR, 1.0)
    paper_tag(paper=paper)
    assert list(paper.topics.all()) == [reasoning]
    assert not curation.paper_topic_add(paper=paper, topic=reasoning)  # idempotent


def test_adding_an_automatic_topic_makes_it_the_editors():
    paper = paper_make("2508.00001", title="Chain-of-thought reasoning for math", abstract="Reasoning.")
    paper_tag(paper=paper)
    reasoning = topic("reasoning")
    assert PaperTopic.objects.get(paper=paper, topic=reasoning).origin == PaperTopic.Origin.AUTO
    assert curation.paper_topic_add(paper=paper, topic=reasoning)
    assert PaperTopic.objects.get(paper=paper, topic=reasoning).origin == PaperTopic.Origin.EDITOR


def test_removed_topic_stays_off_after_retagging_until_added_again():
    paper = paper_make("2508.00001", title="Chain-of-thought reasoning for math", abstract="Reasoning.")
    paper_tag(paper=paper)
    reasoning = topic("reasoning")
    assert curation.paper_topic_remove(paper=paper, topic=reasoning)
    paper_tag(paper=paper)
    assert reasoning not in paper.topics.all()
    assert reasoning in paper.excluded_topics.all()
    assert not curation.paper_topic_remove(paper=paper, topic=reasoning)
    curation.paper_topic_add(paper=paper, topic=reasoning)
    assert reasoning not in paper.excluded_topics.all()
    paper_tag(paper=paper)
    assert reasoning in paper.topics.all()


def test_bulk_topic_changes_are_logged_per_changed_paper(editor):
    a, b = paper_make("2508.00001"), paper_make("2508.00002")
    code = topic("code")
    curation.paper_topic_add(paper=b, topic=code)
    assert curation.papers_topic_add(papers=[a, b], topic=code, by=editor) == 1
    assert curation.papers_topic_remove(papers=[a, b], topic=code, by=editor) == 2
    entries = LogEntry.objects.order_by("pk")
    assert [e.change_message for e in entries] == [
        "Added topic “Code & software engineering”",
        "Removed topic “Code & software engineering” (automatic tagging keeps it off)",
        "Removed topic “Code & software engineering” (automatic tagging keeps it off)",
    ]


def test_retag_refuses_more_than_the_limit_without_changing_anything(editor, monkeypatch):
    monkeypatch.setattr(curation, "RETAG_LIMIT", 1)
    paper_make("2508.00001", title="Chain-of-thought reasoning")
    paper_make("2508.00002", title="Speculative decoding with a draft model")
    with pytest.raises(ValueError, match="limited to 1 papers"):
        curation.papers_retag(papers=Paper.objects.all(), by=editor)
    assert not PaperTopic.objects.exists()
    assert not LogEntry.objects.exists()
    assert curation.papers_retag(papers=Paper.objects.filter(arxiv_id="2508.00001"), by=editor) == 1
    assert set(PaperTopic.objects.values_list("topic__slug", flat=True)) == {"reasoning"}


def test_edited_title_and_abstract_are_kept_by_ingestion():
    paper = paper_make("2508.00001", title="Original title", abstract="Original abstract.")
    paper.title, paper.abstract = "Editor's title", "Editor's abstract."
    curation.paper_mark_edited(paper=paper, fields=["title", "abstract"])
    paper.save()
    record = PaperRecord(
        arxiv_id=paper.arxiv_id, source="hf", title="Source title", abstract="Source abstract.", upvotes=500
    )
    assert paper_upsert(record=record) == "updated"
    paper.refresh_from_db()
    assert (paper.title, paper.abstract, paper.upvotes) == ("Editor's title", "Editor's abstract.", 500)


def test_an_edited_abstract_is_the_excerpt_even_with_an_ai_summary():
    paper = paper_make("2508.00001", abstract="The editor's words.", ai_summary="The source's summary.")
    assert paper.excerpt() == "The source's summary."
    curation.paper_mark_edited(paper=paper, fields=["abstract"])
    assert paper.excerpt() == "The editor's words."
