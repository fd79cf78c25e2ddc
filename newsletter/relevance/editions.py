"""Labelled papers as edition pools: tagged by the tagger as ingestion would
tag them, ranked by the same code as real digests. Nothing is saved."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from newsletter.digest.pool import EditionPool, pool_paper
from newsletter.models import Topic
from newsletter.tagging import paper_topics_predict
from newsletter.tagging.evaluate import LabelledPaper

DAY_ONE = date(2000, 1, 3)


@dataclass
class LabelledEdition:
    pool: EditionPool
    # Per pool paper (by index): the topic slugs a person expects.
    expected: list[frozenset[str]]
    slug_of: dict[int, str]


def edition_build(
    *, papers: list[LabelledPaper], topics: list[Topic], day: date = DAY_ONE, **options
) -> LabelledEdition:
    """An edition of ``papers`` (in the given order), tagged with ``topics``;
    ``options`` go to the tagger (``relative_cut``, ``threshold``)."""
    names = {t.pk: t.name for t in topics}
    pool_papers = []
    for index, labelled in enumerate(papers):
        paper = labelled.paper
        paper.featured_on = day
        scores = paper_topics_predict(paper=paper, topics=topics, **options)
        links = [(pk, names[pk], score, False) for pk, score in scores.items()]
        pool_papers.append(pool_paper(row=paper, index=index, topics=links, last=day))
    pool = EditionPool(first=day, last=day, note="", fingerprint=(), papers=pool_papers, topic_names=names)
    return LabelledEdition(
        pool=pool, expected=[p.expected for p in papers], slug_of={t.pk: t.slug for t in topics}
    )


def editions_split(*, papers: list[LabelledPaper], days: int) -> list[list[LabelledPaper]]:
    """``papers`` dealt into ``days`` editions in a fixed pseudo-random order
    (by the SHA-256 of the arXiv id)."""
    ordered = sorted(papers, key=lambda p: hashlib.sha256(p.paper.arxiv_id.encode()).hexdigest())
    return [ordered[day::days] for day in range(days)]


def edition_day(number: int) -> date:
    return DAY_ONE + timedelta(days=number)
