"""One row per arXiv id, the best of every source, and editors have the last word."""

import threading
from datetime import date

import pytest
from django.db import IntegrityError

from newsletter.ingest.arxiv import papers_ingest_arxiv
from newsletter.ingest.hf import papers_ingest_hf
from newsletter.ingest.records import PaperRecord
from newsletter.ingest.store import records_store
from newsletter.models import Paper, PaperTopic, Topic
from tests.fake_sources import Reply, atom_entry, atom_feed, hf_item, sources_serving

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 5)


@pytest.fixture
def sources(settings):
    with sources_serving(settings, INGEST_HTTP_BACKOFF_SECONDS=0) as pair:
        yield pair


def serve(hf, arxiv, *, items=None, entries=None):
    if items is not None:
        hf.route("/api/daily_papers", [Reply(200, items)])
    if entries is not None:
        arxiv.route("/api/query", [Reply(200, atom_feed(entries), content_type="application/atom+xml")])


def test_a_paper_from_both_sources_is_one_row_with_the_best_of_both(sources):
    hf, arxiv = sources
    serve(hf, arxiv,
          items=[hf_item("2508.00001", title="Old title", upvotes=40, comments=2,
                         ai_summary="Short summary.", githubRepo="https://github.com/x/y")],
          entries=[atom_entry("2508.00001", version=2, title="Revised title",
                              authors=("Author One", "Author Two"),
                              published="2025-07-30T10:00:00Z", primary="cs.LG",
                              categories=("cs.LG", "cs.CL"))])

    papers_ingest_hf(days=[DAY])
    papers_ingest_arxiv(category="cs.LG", max_results=10)

    paper = Paper.objects.get()
    assert (paper.upvotes, paper.num_comments, paper.featured_on) == (40, 2, DAY)  # from Hugging Face
    assert (paper.ai_summary, paper.github_repo) == ("Short summary.", "https://github.com/x/y")
    assert (paper.primary_category, paper.arxiv_categories) == ("cs.LG", ["cs.LG", "cs.CL"])  # from arXiv
    assert (paper.version, paper.title, paper.authors) == (2, "Revised title", ["Author One", "Author Two"])
    assert paper.published_on == date(2025, 7, 30)  # arXiv's own date wins
    assert (paper.source, paper.sources) == ("hf", ["hf", "arxiv"])

    # The hourly refresh brings more upvotes but not its older, versionless text.
    serve(hf, arxiv, items=[hf_item("2508.00001", title="Old title", upvotes=55, comments=2)])
    report = papers_ingest_hf(days=[DAY])
    paper.refresh_from_db()
    assert (paper.title, paper.upvotes, paper.arxiv_categories) == ("Revised title", 55, ["cs.LG", "cs.CL"])
    assert report.updated == 1


def test_arxiv_first_then_hugging_face_fills_the_counts(sources):
    hf, arxiv = sources
    serve(hf, arxiv, entries=[atom_entry("2508.00001", title="Title")],
          items=[hf_item("2508.00001", title="Title", upvotes=3)])

    papers_ingest_arxiv(category="cs.CL", max_results=10)
    papers_ingest_hf(days=[DAY])

    paper = Paper.objects.get()
    assert (paper.source, paper.sources) == ("arxiv", ["arxiv", "hf"])
    assert (paper.upvotes, paper.featured_on) == (3, DAY)


def test_reingest_keeps_hidden_pinned_edited_text_and_editor_topics(sources):
    hf, arxiv = sources
    text = "We train a small draft model for speculative decoding and quantize it to 4-bit."
    serve(hf, arxiv, items=[hf_item("2508.00001", title="Speculative decoding with a draft model",
                                    summary=text, upvotes=5)])
    papers_ingest_hf(days=[DAY])
    paper = Paper.objects.get()
    spec = Topic.objects.get(slug="speculative-decoding")
    surveys = Topic.objects.get(slug="surveys")
    assert paper.topics.filter(pk=spec.pk).exists()
    # The editor hides and pins it, rewrites the abstract, takes speculative
    # decoding off and puts surveys on.
    Paper.objects.filter(pk=paper.pk).update(
        hidden=True, pinned=True, abstract="An editor's abstract.", abstract_edited=True
    )
    PaperTopic.objects.filter(paper=paper, topic=spec).delete()
    paper.excluded_topics.add(spec)
    PaperTopic.objects.create(paper=paper, topic=surveys, origin=PaperTopic.Origin.EDITOR, score=1.0)

    serve(hf, arxiv, items=[hf_item("2508.00001", title="Speculative decoding with a draft model, v2",
                                    summary=text + " Now faster.", upvotes=9)])
    papers_ingest_hf(days=[DAY])

    paper.refresh_from_db()
    assert (paper.hidden, paper.pinned, paper.abstract) == (True, True, "An editor's abstract.")
    assert paper.title == "Speculative decoding with a draft model, v2"
    assert paper.upvotes == 9
    slugs = set(paper.topics.values_list("slug", flat=True))
    assert "surveys" in slugs and "speculative-decoding" not in slugs
    assert PaperTopic.objects.get(paper=paper, topic=surveys).origin == PaperTopic.Origin.EDITOR


def test_storing_the_same_batch_twice_changes_nothing():
    records = [PaperRecord(arxiv_id="2508.00001", source="file", title="A", upvotes=1)]

    first = records_store(records=records)
    second = records_store(records=records)

    assert (first.created, second.unchanged, second.updated) == (1, 1, 0)


def test_a_database_error_while_storing_rolls_back_the_whole_batch():
    # Parsers never produce a negative count; the database refuses one anyway.
    records = [PaperRecord(arxiv_id=f"2508.0000{n}", source="file", title=f"P{n}") for n in (1, 2)]
    records.append(PaperRecord(arxiv_id="2508.00003", source="file", title="P3", upvotes=-1))

    with pytest.raises(IntegrityError):
        records_store(records=records)

    assert not Paper.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_inserting_the_same_new_paper_end_with_one_merged_row(require_postgres):
    # Run A inserts the paper and keeps its transaction open; run B tries to
    # insert the same id, waits on the unique index, then merges into A's row.
    from django.db import connections, transaction

    from newsletter.ingest.store import paper_upsert
    from tests.conftest import lock_waiters, wait_for

    inserted, release = threading.Event(), threading.Event()
    outcomes, errors = {}, []

    def run_a():
        try:
            with transaction.atomic():
                outcomes["a"] = paper_upsert(record=PaperRecord(
                    arxiv_id="2508.00001", source="hf", title="From HF", upvotes=12))
                inserted.set()
                release.wait(30)
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connections.close_all()

    def run_b():
        try:
            report = records_store(records=[PaperRecord(
                arxiv_id="2508.00001", source="arxiv", version=1, title="From arXiv",
                arxiv_categories=["cs.CL"])])
            outcomes["b"] = (report.created, report.updated)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(target=run_a)
    a.start()
    assert inserted.wait(30)
    b = threading.Thread(target=run_b)
    b.start()

    wait_for(lambda: lock_waiters() >= 1, timeout=30, what="run B to wait for run A's insert")
    release.set()
    a.join(30)
    b.join(30)

    assert errors == []
    assert outcomes == {"a": "created", "b": (0, 1)}
    paper = Paper.objects.get()
    assert (paper.upvotes, paper.arxiv_categories, paper.title, paper.sources) == (
        12, ["cs.CL"], "From arXiv", ["hf", "arxiv"]
    )
