"""The file source: JSON, {"papers": [...]} or JSON Lines of Daily Papers items."""

import json
import re
from datetime import date

import pytest

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.ingest.records import DocumentError
from newsletter.models import Paper
from tests.fake_sources import hf_item

pytestmark = pytest.mark.django_db


def test_bundled_sample_loads_all_91_papers_once():
    first = papers_ingest_file(path=SAMPLE_PATH, featured_on=date(2025, 8, 5))
    second = papers_ingest_file(path=SAMPLE_PATH, featured_on=date(2025, 8, 6))

    assert (first.fetched, first.created, first.skipped) == (91, 91, [])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 91)
    assert Paper.objects.count() == 91
    assert set(Paper.objects.values_list("featured_on", flat=True)) == {date(2025, 8, 5)}
    paper = Paper.objects.get(arxiv_id="2312.03788")
    assert paper.title.startswith("SmoothQuant+: Accurate and Efficient 4-bit")
    assert set(paper.topics.values_list("slug", flat=True)) >= {"quantization-compression"}


@pytest.mark.parametrize("shape", ["array", "object", "jsonl"])
def test_reads_every_file_shape(tmp_path, shape):
    items = [hf_item("2508.00001"), hf_item("2508.00002")]
    path = tmp_path / "papers.json"
    if shape == "array":
        path.write_text(json.dumps(items))
    elif shape == "object":
        path.write_text(json.dumps({"papers": items}))
    else:
        path.write_text("\n".join(json.dumps(i) for i in items) + "\n\n")

    report = papers_ingest_file(path=path, featured_on=date(2025, 8, 5))

    assert report.created == 2


def test_malformed_item_is_skipped_and_named(tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([hf_item("2508.00001"), {"paper": {"id": "2508.00002"}}]))

    report = papers_ingest_file(path=path)

    assert report.skipped == [("item 2 (2508.00002)", "paper has no title")]
    assert Paper.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"papers": [1, 2', "is neither JSON nor JSON Lines (line 1)"),
        ('{"items": []}', 'holds no list of papers (a JSON array or {"papers": [...]})'),
        ("\udcff", "cannot read"),
    ],
)
def test_a_broken_file_fails_and_writes_nothing(tmp_path, content, message):
    path = tmp_path / "papers.json"
    path.write_bytes(content.encode("utf-8", errors="surrogateescape"))

    with pytest.raises(DocumentError, match=re.escape(message)):
        papers_ingest_file(path=path)

    assert not Paper.objects.exists()
