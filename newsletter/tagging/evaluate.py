"""Measure the tagger against hand-labelled papers: precision and recall per
topic and overall (micro-averaged over every paper-topic pair)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from newsletter.ingest.files import SAMPLE_PATH, file_items_read
from newsletter.ingest.hf import hf_item_parse
from newsletter.models import Paper, Topic
from newsletter.tagging import paper_topics_predict

LABELS_PATH = Path(settings.BASE_DIR) / "tests" / "data" / "sample_topics_expected.json"


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


@dataclass
class Evaluation:
    papers: int = 0
    overall: Counts = field(default_factory=Counts)
    per_topic: dict[str, Counts] = field(default_factory=dict)
    # arXiv id -> (missed slugs, extra slugs), for papers the tagger got wrong.
    mistakes: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


def tagger_evaluate(
    *, labels_path: Path = LABELS_PATH, sample_path: Path = SAMPLE_PATH, topics: list[Topic] | None = None
) -> Evaluation:
    """Tag every labelled paper of the sample (nothing is written) with the
    active topics and compare with the labels. Raises ValueError if a label
    names no known topic or a labelled paper is missing from the sample."""
    topics = topics if topics is not None else list(Topic.objects.filter(active=True))
    slug_of = {t.pk: t.slug for t in topics}
    labels = {p["arxiv_id"]: set(p["topics"]) for p in json.loads(Path(labels_path).read_text())["papers"]}
    unknown = {slug for expected in labels.values() for slug in expected} - set(slug_of.values())
    if unknown:
        raise ValueError(f"labels name topics that are not active: {', '.join(sorted(unknown))}")
    records = {}
    for item in file_items_read(sample_path):
        record = hf_item_parse(item, source="file")
        records[record.arxiv_id] = record
    missing = set(labels) - set(records)
    if missing:
        raise ValueError(f"labelled papers missing from the sample: {', '.join(sorted(missing))}")

    result = Evaluation(per_topic={t.slug: Counts() for t in topics})
    for arxiv_id, expected in labels.items():
        record = records[arxiv_id]
        paper = Paper(
            arxiv_id=arxiv_id, title=record.title, abstract=record.abstract or "",
            ai_summary=record.ai_summary or "", ai_keywords=record.ai_keywords or [],
        )
        predicted = {slug_of[pk] for pk in paper_topics_predict(paper=paper, topics=topics)}
        result.papers += 1
        for slug in predicted & expected:
            result.per_topic[slug].tp += 1
        for slug in predicted - expected:
            result.per_topic[slug].fp += 1
        for slug in expected - predicted:
            result.per_topic[slug].fn += 1
        if predicted != expected:
            result.mistakes[arxiv_id] = (sorted(expected - predicted), sorted(predicted - expected))
    for counts in result.per_topic.values():
        result.overall.tp += counts.tp
        result.overall.fp += counts.fp
        result.overall.fn += counts.fn
    return result
