"""Seven days of digests for simulated readers who rate a few papers a day.

Each reader has hidden interests (two topics) and follows topics that
either match them exactly or only partly (one interest and one topic they do
not care for). Every day they get a digest from that day's edition and rate
up to ``VOTES_PER_DAY`` of the papers shown, honestly: "More like this" when
a person labelled the paper with one of their interests, "Less like this"
otherwise. Their taste is rebuilt from all their ratings, as the site does
after each vote. We report "For you" precision against the hidden interests
on day 1 and on the last day, with and without feedback.

Day 1 is the sample edition; the other days deal the held-out papers into
editions (see ``editions.editions_split``). Never the same paper twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from newsletter.digest.selection import Reader, digest_select
from newsletter.feedback.taste import paper_features, taste_build
from newsletter.relevance.editions import LabelledEdition

READERS_PER_KIND = 150
VOTES_PER_DAY = 3
MIN_TOPIC_PAPERS = 6  # a hidden interest needs papers to be seen


@dataclass
class DayFigures:
    shown: list[int] = field(default_factory=list)  # per day
    right: list[int] = field(default_factory=list)

    def precision(self, day: int) -> float | None:
        return self.right[day] / self.shown[day] if self.shown[day] else None


@dataclass
class SimulatedReader:
    interests: frozenset[str]
    follows: frozenset[str]


def readers_simulated(
    *, editions: list[LabelledEdition], seed: int, count: int = READERS_PER_KIND
) -> dict[str, list[SimulatedReader]]:
    """{"partial": [...], "exact": [...]}: hidden interests are two topics
    with enough labelled papers over all the days."""
    counts: dict[str, int] = {}
    for edition in editions:
        for expected in edition.expected:
            for slug in expected:
                counts[slug] = counts.get(slug, 0) + 1
    slugs = sorted(slug for slug, n in counts.items() if n >= MIN_TOPIC_PAPERS)
    rng = random.Random(seed)
    partial, exact = [], []
    for _ in range(count):
        interests = rng.sample(slugs, 2)
        exact.append(SimulatedReader(frozenset(interests), frozenset(interests)))
        interests = rng.sample(slugs, 2)
        decoy = rng.choice([s for s in slugs if s not in interests])
        partial.append(SimulatedReader(frozenset(interests), frozenset({interests[0], decoy})))
    return {"partial": partial, "exact": exact}


def reader_days(
    *, reader: SimulatedReader, number: int, editions: list[LabelledEdition], feedback: bool, seed: int,
) -> list[tuple[int, int]]:
    """(For-you papers shown, right ones) for each day."""
    rng = random.Random(seed)
    pk_of = {slug: pk for pk, slug in editions[0].slug_of.items()}
    topic_ids = frozenset(pk_of[s] for s in reader.follows)
    examples: list[tuple[dict[str, float], float]] = []
    received: set[str] = set()
    days = []
    for edition in editions:
        taste = taste_build(examples=examples, key=(number, len(examples))) if examples else None
        selection = digest_select(
            pool=edition.pool, received=frozenset(received),
            reader=Reader(
                pk=number, email=f"r{number}@example.org", topic_ids=topic_ids, keywords=(), taste=taste
            ),
        )
        right = [bool(edition.expected[p.index] & reader.interests) for p in selection.for_you]
        days.append((len(right), sum(right)))
        shown = [pick.index for pick in selection.picks]
        received.update(edition.pool.papers[i].arxiv_id for i in shown)
        if feedback:
            for index in rng.sample(shown, min(VOTES_PER_DAY, len(shown))):
                paper = edition.pool.papers[index]
                vector = paper_features(
                    title=paper.title, ai_keywords=paper.ai_keywords, authors=paper.authors,
                    topic_ids=paper.topic_ids,
                )
                examples.append((vector, 1.0 if edition.expected[index] & reader.interests else -1.0))
    return days


def simulation_run(*, editions: list[LabelledEdition], readers: dict[str, list[SimulatedReader]]) -> dict:
    """Per kind of reader: "For you" precision on day 1 and on the last day,
    with and without feedback."""
    report = {}
    last = len(editions) - 1
    for kind, group in readers.items():
        figures = {True: DayFigures(), False: DayFigures()}
        for feedback, totals in figures.items():
            totals.shown, totals.right = [0] * len(editions), [0] * len(editions)
            for number, reader in enumerate(group, start=1):
                days = reader_days(
                    reader=reader, number=number, editions=editions, feedback=feedback, seed=number
                )
                for day, (shown, right) in enumerate(days):
                    totals.shown[day] += shown
                    totals.right[day] += right

        def rounded(value):
            return None if value is None else round(value, 3)

        with_, without = figures[True], figures[False]
        report[kind] = {
            "readers": len(group),
            "day1": rounded(without.precision(0)),
            f"day{last + 1}_without_feedback": rounded(without.precision(last)),
            f"day{last + 1}_with_feedback": rounded(with_.precision(last)),
            "per_day_without": [rounded(without.precision(d)) for d in range(len(editions))],
            "per_day_with": [rounded(with_.precision(d)) for d in range(len(editions))],
        }
    return report
