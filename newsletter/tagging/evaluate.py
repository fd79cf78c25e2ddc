"""Measure the tagger against hand-labelled papers: precision, recall and F1
per topic and overall (micro-averaged over every paper-topic pair).

Three labelled sets ship in ``tests/data`` (see docs/relevance.md):

* ``sample``: the 91 bundled sample papers (``sample_topics_expected.json``);
* ``heldout-dev`` and ``heldout-gate``: two fixed parts of 151 papers the
  keywords were never written against (``heldout_topics.json``). Keywords and
  thresholds are chosen on ``sample`` + ``heldout-dev``; ``heldout-gate`` is
  only measured.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from newsletter.ingest.files import SAMPLE_PATH, file_items_read
from newsletter.ingest.hf import hf_item_parse
from newsletter.models import Paper, Topic
from newsletter.tagging import paper_topics_predict

DATA_DIR = Path(settings.BASE_DIR) / "tests" / "data"
LABELS_PATH = DATA_DIR / "sample_topics_expected.json"
HELDOUT_PATH = DATA_DIR / "heldout_topics.json"
SETS = ("sample", "heldout-dev", "heldout-gate")
DEV_SETS = ("sample", "heldout-dev")
GATE_SET = "heldout-gate"


@dataclass(frozen=True)
class LabelledPaper:
    """An unsaved Paper and the topic slugs a person expects on it."""

    paper: Paper
    expected: frozenset[str]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else None

    def as_dict(self) -> dict:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {"p": rounded(self.precision), "r": rounded(self.recall), "f1": rounded(self.f1),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class Evaluation:
    papers: int = 0
    overall: Counts = field(default_factory=Counts)
    per_topic: dict[str, Counts] = field(default_factory=dict)
    # arXiv id -> (missed slugs, extra slugs), for papers the tagger got wrong.
    mistakes: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def _sample_records(sample_path: Path) -> dict:
    records = {}
    for item in file_items_read(sample_path):
        record = hf_item_parse(item, source="file")
        records[record.arxiv_id] = record
    return records


def labels_sample(*, labels_path: Path = LABELS_PATH, sample_path: Path = SAMPLE_PATH) -> list[LabelledPaper]:
    """The sample papers with their labels. ValueError if a labelled paper is
    missing from the sample."""
    labels = json.loads(Path(labels_path).read_text())["papers"]
    records = _sample_records(sample_path)
    missing = {p["arxiv_id"] for p in labels} - set(records)
    if missing:
        raise ValueError(f"labelled papers missing from the sample: {', '.join(sorted(missing))}")
    out = []
    for label in labels:
        record = records[label["arxiv_id"]]
        paper = Paper(
            arxiv_id=record.arxiv_id, title=record.title, abstract=record.abstract or "",
            ai_summary=record.ai_summary or "", ai_keywords=record.ai_keywords or [],
            authors=record.authors or [],
        )
        out.append(LabelledPaper(paper=paper, expected=frozenset(label["topics"])))
    return out


def labels_heldout(*, split: str | None = None, path: Path = HELDOUT_PATH) -> list[LabelledPaper]:
    """The held-out papers of one split ("dev" or "gate"; all when None)."""
    out = []
    for item in json.loads(Path(path).read_text())["papers"]:
        if split is not None and item["split"] != split:
            continue
        paper = Paper(arxiv_id=item["arxiv_id"], title=item["title"], abstract=item["abstract"],
                      authors=item.get("authors") or [])
        out.append(LabelledPaper(paper=paper, expected=frozenset(item["topics"])))
    return out


def labels_set(name: str) -> list[LabelledPaper]:
    """One of ``SETS`` by name; ValueError for another name."""
    if name == "sample":
        return labels_sample()
    if name in ("heldout-dev", "heldout-gate"):
        return labels_heldout(split=name.removeprefix("heldout-"))
    raise ValueError(f"unknown label set {name!r} (one of {', '.join(SETS)})")


Predictor = Callable[[Paper], set[str]]


def topics_predictor(topics: list[Topic], **options) -> Predictor:
    """Paper -> predicted slugs with the tagger (``options`` go to ``paper_topics_predict``)."""
    slug_of = {t.pk: t.slug for t in topics}

    def predict(paper: Paper) -> set[str]:
        return {slug_of[pk] for pk in paper_topics_predict(paper=paper, topics=topics, **options)}

    return predict


def tagger_evaluate(
    *, papers: list[LabelledPaper] | None = None, topics: list[Topic] | None = None,
    predict: Predictor | None = None,
) -> Evaluation:
    """Tag every labelled paper (nothing is written) and compare with the
    labels; the sample set when ``papers`` is None. Raises ValueError if a
    label names no active topic."""
    topics = topics if topics is not None else list(Topic.objects.filter(active=True))
    papers = papers if papers is not None else labels_sample()
    unknown = {slug for p in papers for slug in p.expected} - {t.slug for t in topics}
    if unknown:
        raise ValueError(f"labels name topics that are not active: {', '.join(sorted(unknown))}")
    predict = predict or topics_predictor(topics)
    result = Evaluation(per_topic={t.slug: Counts() for t in topics})
    for labelled in papers:
        expected = labelled.expected
        predicted = predict(labelled.paper)
        result.papers += 1
        for slug in predicted & expected:
            result.per_topic[slug].tp += 1
        for slug in predicted - expected:
            result.per_topic[slug].fp += 1
        for slug in expected - predicted:
            result.per_topic[slug].fn += 1
        if predicted != expected:
            result.mistakes[labelled.paper.arxiv_id] = (
                sorted(expected - predicted), sorted(predicted - expected)
            )
    for counts in result.per_topic.values():
        result.overall.tp += counts.tp
        result.overall.fp += counts.fp
        result.overall.fn += counts.fn
    return result
