"""Bad input to every paper source: any JSON value or byte string ends in
stored papers or in skipped records with a reason. The only exceptions that
escape are the documented ones for a whole unusable document
(DocumentError; SourceError for arXiv's own error feed), and then nothing is
written. No paper is ever half-written."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from newsletter.ingest.arxiv import arxiv_feed_parse
from newsletter.ingest.files import papers_ingest_file
from newsletter.ingest.hf import hf_item_parse, hf_items_parse, hf_page_parse
from newsletter.ingest.records import DocumentError, IngestReport, RecordError, SourceError
from newsletter.ingest.store import records_store
from newsletter.models import Paper
from tests.fuzz_strategies import byte_mutations, hostile_text, json_scalars, json_values

pytestmark = pytest.mark.django_db

WHOLE_ID = re.compile(r"\A(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})\Z", re.ASCII)
UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- what hostile sources send -------------------------------------------------

def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Usable values three times in four, so that many examples store papers
    and a hostile value sits next to good ones."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda n: good if n else bad)


good_ids = st.sampled_from(
    ["2507.06607", "2507.06607v2", "2508.00001v1", "2508.00002", "cs/0112017", "hep-th/9901001v3"]
)
arxiv_ids = mostly(good_ids, st.one_of(
    st.sampled_from(["٢٥٠٧.٠٦٦٠٧", "2507.06607v99999", "2507.06607\n", " 2508.00001 ", "2507.0660", "../x"]),
    hostile_text,
    json_scalars,
))
titles = mostly(st.one_of(st.text(min_size=1, max_size=30), hostile_text), json_values)
texts = mostly(hostile_text, json_scalars)
offsets = st.sampled_from(["", "Z", "+14:00", "-12:00", "+05:30"])
dates = mostly(
    st.builds(lambda d, o: d.isoformat() + o, st.datetimes(), offsets),
    st.one_of(
        st.sampled_from([
            "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "2025-13-45T99:00:00Z", "",
            "2025-08-05",
        ]),
        hostile_text,
        json_scalars,
    ),
)
counts = mostly(
    st.integers(min_value=0, max_value=10**6),
    st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([2**31 - 1, 2**31, 2**63]),
        st.floats(), st.booleans(), hostile_text,
    ),
)
links = mostly(
    st.sampled_from([
        "https://github.com/org/repo", "http://project.example.org/", "HTTPS://EXAMPLE.ORG/",
        "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://example.org/x",
        " javascript:alert(1)", "https://x.org/\"><script>alert(1)</script>",
    ]),
    st.one_of(st.just("https://" + "a" * 600), hostile_text, json_scalars),
)
authors = mostly(
    st.lists(
        mostly(
            st.fixed_dictionaries({"name": hostile_text}, optional={"hidden": st.booleans()}),
            st.one_of(st.fixed_dictionaries({"name": json_values}), json_scalars),
        ),
        max_size=3,
    ),
    json_values,
)
papers = st.fixed_dictionaries(
    {"id": arxiv_ids, "title": titles},
    optional={
        "summary": texts,
        "authors": authors,
        "publishedAt": dates,
        "submittedOnDailyAt": dates,
        "withdrawnAt": dates,
        "upvotes": counts,
        "githubStars": counts,
        "githubRepo": links,
        "projectPage": links,
        "ai_summary": texts,
        "ai_keywords": mostly(st.lists(hostile_text, max_size=3), json_values),
        "organization": mostly(st.fixed_dictionaries({"fullname": hostile_text}), json_values),
    },
)
items = mostly(
    st.fixed_dictionaries({"paper": papers}, optional={"numComments": counts, "thumbnail": links}),
    st.one_of(st.fixed_dictionaries({"paper": json_values}), json_values),
)
item_lists = st.lists(items, max_size=5)


def _xml_text(value: str) -> str:
    # Characters XML 1.0 cannot carry at all are the mutation strategy's job.
    kept = "".join(c for c in value if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd"))
    return escape(kept)


@st.composite
def atom_entries(draw) -> str:
    raw_id = draw(mostly(good_ids, hostile_text))
    parts = [f"<id>http://arxiv.org/abs/{_xml_text(raw_id)}</id>"]
    if draw(st.integers(0, 4)):
        parts.append(f"<title>{_xml_text(draw(titles.filter(lambda v: isinstance(v, str))))}</title>")
    if draw(st.booleans()):
        parts.append(f"<summary>{_xml_text(draw(hostile_text))}</summary>")
    for name in draw(st.lists(hostile_text, max_size=2)):
        parts.append(f"<author><name>{_xml_text(name)}</name></author>")
    for tag in ("published", "updated"):
        if draw(st.integers(0, 4)):
            parts.append(f"<{tag}>{_xml_text(str(draw(dates)))}</{tag}>")
    for term in draw(st.lists(hostile_text, max_size=2)):
        parts.append(f"<category term={quoteattr(_xml_text(term))}/>")
    if draw(st.booleans()):
        parts.append(f"<arxiv:primary_category term={quoteattr(_xml_text(draw(hostile_text)))}/>")
    href = draw(links.filter(lambda v: isinstance(v, str)))
    parts.append(f"<link rel=\"alternate\" href={quoteattr(_xml_text(href))}/>")
    return "<entry>" + "".join(parts) + "</entry>"


@st.composite
def atom_feeds(draw) -> bytes:
    total = draw(st.one_of(st.integers(min_value=0, max_value=10**12).map(str), hostile_text))
    entries = draw(st.lists(atom_entries(), max_size=4))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        f"<opensearch:totalResults>{_xml_text(total)}</opensearch:totalResults>"
        + "".join(entries) + "</feed>"
    ).encode("utf-8", "surrogatepass")


def _json_bytes(value) -> bytes:
    # ensure_ascii writes lone surrogates as \ud800 escapes, as a real server might.
    return json.dumps(value).encode()


valid_file_bytes = st.one_of(
    item_lists.map(_json_bytes),
    item_lists.map(lambda v: _json_bytes({"papers": v})),
    item_lists.map(lambda v: b"\n".join(_json_bytes(i) for i in v)),
)


# --- what must hold afterwards -------------------------------------------------

@contextlib.contextmanager
def rolled_back():
    """Each example starts from an empty table: undo what it stored."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_whole(paper: Paper) -> None:
    """A stored paper is complete, storable and safe to link."""
    assert WHOLE_ID.match(paper.arxiv_id), paper.arxiv_id
    assert paper.title and paper.title == paper.title.strip()
    for text in [paper.title, paper.abstract, paper.ai_summary, paper.organization,
                 *paper.authors, *paper.ai_keywords]:
        assert isinstance(text, str) and not UNSTORABLE.search(text), repr(text)
    for link in (paper.github_repo, paper.project_page, paper.thumbnail):
        assert link == "" or link.lower().startswith(("http://", "https://")), link
    assert paper.sources and paper.version in (None, *range(1, 10_000))


def assert_stored_or_skipped(report: IngestReport, *, expected_ids: set[str], total: int) -> None:
    stored = list(Paper.objects.all())
    event(f"stored {min(len(stored), 2)}+ papers, skipped {min(len(report.skipped), 2)}+")
    for paper in stored:
        assert_whole(paper)
    assert {p.arxiv_id for p in stored} == expected_ids
    assert report.created == len(stored)
    assert all(isinstance(reason, str) and reason for _, reason in report.skipped)
    assert report.fetched == total


def parsed_ids(values: list) -> tuple[set[str], int]:
    """The ids of the items the item parser accepts, and how many it accepts."""
    ids, accepted = set(), 0
    for value in values:
        with contextlib.suppress(RecordError):
            ids.add(hf_item_parse(value).arxiv_id)
            accepted += 1
    return ids, accepted


# --- properties ----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(item=items)
def test_any_item_becomes_a_whole_record_or_a_reason(item):
    try:
        record = hf_item_parse(item)
    except RecordError as error:
        assert str(error)
        return
    assert WHOLE_ID.match(record.arxiv_id)
    assert record.title and not UNSTORABLE.search(record.title)
    for link in (record.github_repo, record.project_page, record.thumbnail):
        assert link in (None, "") or link.lower().startswith(("http://", "https://"))


@FUZZ
@given(values=item_lists, shape=st.sampled_from(["array", "object", "jsonl"]))
def test_any_file_of_json_items_is_stored_or_skipped(tmp_path, values, shape):
    path = tmp_path / "papers.json"
    if shape == "array" or len(values) < 2:  # one line of JSON Lines is a JSON document
        path.write_bytes(_json_bytes(values))
    elif shape == "object":
        path.write_bytes(_json_bytes({"papers": values}))
    else:
        path.write_bytes(b"\n".join(_json_bytes(v) for v in values))
    expected_ids, accepted = parsed_ids(values)

    with rolled_back():
        report = papers_ingest_file(path=path, featured_on=date(2025, 8, 5))
        assert len(report.skipped) == len(values) - accepted
        assert_stored_or_skipped(report, expected_ids=expected_ids, total=len(values))


@FUZZ
@given(data=st.one_of(valid_file_bytes, byte_mutations(valid_file_bytes)))
def test_any_bytes_in_a_file_are_stored_skipped_or_refused_whole(tmp_path, data):
    path = tmp_path / "papers.json"
    path.write_bytes(data)

    with rolled_back():
        try:
            report = papers_ingest_file(path=path)
        except DocumentError as error:
            assert str(error)
            assert not Paper.objects.exists()
            event("refused whole")
            return
        assert Paper.objects.count() == report.created
        event(f"stored {min(report.created, 2)}+ papers")
        for paper in Paper.objects.all():
            assert_whole(paper)
        assert all(reason for _, reason in report.skipped)


@FUZZ
@given(data=st.one_of(item_lists.map(_json_bytes), byte_mutations(item_lists.map(_json_bytes))))
def test_any_hf_page_is_stored_skipped_or_refused_whole(data):
    with rolled_back():
        try:
            values = hf_page_parse(body=data, content_type="application/json", what="HF page")
        except DocumentError as error:
            assert str(error).startswith("HF page: ")
            return
        report = IngestReport(fetched=len(values))
        records = hf_items_parse(items=values, source="hf", report=report, featured_on=date(2025, 8, 5))
        records_store(records=records, report=report)
        assert len(records) + len(report.skipped) == len(values)
        assert_stored_or_skipped(report, expected_ids={r.arxiv_id for r in records}, total=len(values))


@FUZZ
@given(data=st.one_of(atom_feeds(), byte_mutations(atom_feeds())))
def test_any_atom_page_is_stored_skipped_or_refused_whole(data):
    with rolled_back():
        try:
            page = arxiv_feed_parse(data, what="arXiv page")
        except (DocumentError, SourceError) as error:
            assert str(error).startswith("arXiv page: ")
            return
        assert len(page.parsed) + len(page.skipped) == page.entries
        assert all(reason for _, reason in page.skipped)
        report = records_store(records=[entry.record() for entry in page.parsed])
        assert_stored_or_skipped(
            report, expected_ids={e.arxiv_id for e in page.parsed}, total=0
        )


# --- hand-picked cases (each once broke the parser or the database) -----------

def _item(**paper) -> dict:
    return {"paper": {"id": "2507.06607", "title": "A title", **paper}}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (_item(id="٢٥٠٧.٠٦٦٠٧"), "not an arXiv id"),
        (_item(id="2507.06607v99999"), "not an arXiv id"),  # the version is a smallint
        (_item(id="2507.06607v0"), "not an arXiv id"),  # versions start at 1
        (_item(publishedAt="0001-01-01T00:00:00+01:00"), "publishedAt is not a date"),
        (_item(submittedOnDailyAt="9999-12-31T23:00:00-05:00"), "submittedOnDailyAt is not a date"),
        (_item(withdrawnAt="0001-01-01T00:30:00+01:00"), "withdrawnAt is not a date"),
        (_item(title="\x00\x1b\x7f"), "paper has no title"),
    ],
    ids=["other-script-digits", "huge-version", "version-zero", "year-1-offset", "year-9999-offset",
         "withdrawn-year-1", "title-only-controls"],
)
def test_item_the_database_could_not_take_is_skipped_with_its_reason(tmp_path, item, reason):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([item, _item(id="2508.00001")]))

    report = papers_ingest_file(path=path)

    assert len(report.skipped) == 1 and reason in report.skipped[0][1]
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2508.00001"]


def test_nul_and_lone_surrogates_are_cleaned_not_stored(tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([_item(
        title="Fast\x00 attention \ud800 kernels",
        summary="line\r\nbreak\x1b[31m",
        authors=[{"name": "Ada\x00 \udfffLovelace"}],
        ai_keywords=["kv\x00cache"],
    )]))

    papers_ingest_file(path=path)

    paper = Paper.objects.get()
    assert paper.title == "Fast attention \ufffd kernels"
    assert paper.abstract == "line break[31m"
    assert paper.authors == ["Ada \ufffdLovelace"]
    assert paper.ai_keywords == ["kvcache"]


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b"[" + b"1" * 5000 + b"]", b'{"papers": []}\n' + b"[" * 100_000],
    ids=["nested-too-deep", "number-too-long", "jsonl-line-too-deep"],
)
def test_json_python_cannot_parse_is_a_document_error(tmp_path, content):
    path = tmp_path / "papers.json"
    path.write_bytes(content)

    with pytest.raises(DocumentError, match="neither JSON nor JSON Lines"):
        papers_ingest_file(path=path)
    with pytest.raises(DocumentError, match="the answer is not JSON"):
        hf_page_parse(body=content, what="HF page")
    assert not Paper.objects.exists()


def test_byte_order_mark_and_line_separators_in_files_are_read(tmp_path):
    path = tmp_path / "papers.jsonl"
    lines = [json.dumps(_item(id="2508.00001", title="A\u2028B"), ensure_ascii=False),
             json.dumps(_item(id="2508.00002"))]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())

    report = papers_ingest_file(path=path)

    assert (report.created, report.skipped) == (2, [])
    assert Paper.objects.get(arxiv_id="2508.00001").title == "A B"


def _feed(body: str, *, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return (
        f'{declaration}<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{body}</feed>'
    )


def test_dtd_is_refused_in_any_encoding():
    bomb = _feed('<entry><title>&b;</title></entry>', declaration=(
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    ))

    for data in (bomb.encode("utf-16"), bomb.encode("utf-16-le"), bomb.replace("UTF-16", "UTF-8").encode()):
        with pytest.raises(DocumentError, match="declares a DTD"):
            arxiv_feed_parse(data, what="arXiv page")


@pytest.mark.parametrize(
    ("document", "total"),
    [
        (_feed("<opensearch:totalResults>²</opensearch:totalResults>"), None),
        (_feed("<opensearch:totalResults>" + "9" * 5000 + "</opensearch:totalResults>"), None),
        (_feed("<opensearch:totalResults> 42 </opensearch:totalResults>"), 42),
    ],
    ids=["superscript-digit", "five-thousand-digits", "spaces"],
)
def test_total_results_that_is_no_plain_number_is_ignored(document, total):
    assert arxiv_feed_parse(document.encode()).total == total


@pytest.mark.parametrize(
    "document",
    [b'<?xml version="1.0" encoding="x-no-such-encoding"?><feed/>', "\ud800<feed/>"],
    ids=["unknown-encoding", "unencodable-text"],
)
def test_unreadable_atom_is_a_document_error(document):
    with pytest.raises(DocumentError, match="not an Atom document"):
        arxiv_feed_parse(document)


def test_atom_date_out_of_range_skips_the_entry():
    entry = ("<entry><id>http://arxiv.org/abs/2507.06607v1</id><title>T</title>"
             "<published>0001-01-01T00:00:00+01:00</published></entry>")

    page = arxiv_feed_parse(_feed(entry).encode())

    assert page.parsed == []
    assert page.skipped == [
        ("entry 1 (2507.06607v1)", "<published> is not a date: '0001-01-01T00:00:00+01:00'")
    ]


def test_hostile_markup_is_kept_as_text_and_bad_links_are_dropped(tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([_item(
        title='<script>alert(1)</script> "><img src=x onerror=alert(1)>',
        githubRepo="javascript:alert(1)",
        projectPage="data:text/html,<script>alert(1)</script>",
    )]))

    papers_ingest_file(path=path)

    paper = Paper.objects.get()
    assert paper.title == '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
    assert (paper.github_repo, paper.project_page) == ("", "")


def test_record_dates_are_utc(tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([_item(publishedAt="2025-08-05T23:30:00-05:00")]))

    papers_ingest_file(path=path)

    assert Paper.objects.get().published_on == datetime(2025, 8, 6).date()
