"""'For you' precision and recall for simulated readers over a labelled edition.

A simulated reader follows one to three topics; a paper in their "For you"
is right when a person labelled it with one of those topics. Precision is
over every paper shown (micro-averaged); recall counts the right papers
shown against what could have been shown (the right papers of the edition,
at most the digest's length).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings

from newsletter.digest.selection import Reader, digest_select
from newsletter.relevance.editions import LabelledEdition

READERS = 60
# Only topics with at least this many labelled papers in the edition are
# followed: a reader of a topic the edition lacks measures nothing.
MIN_TOPIC_PAPERS = 3


@dataclass
class ForYou:
    readers: int = 0
    shown: int = 0
    right: int = 0
    possible: int = 0

    @property
    def precision(self) -> float | None:
        return self.right / self.shown if self.shown else None

    @property
    def recall(self) -> float | None:
        return self.right / self.possible if self.possible else None

    def as_dict(self) -> dict:
        def rounded(value):
            return None if value is None else round(value, 3)

        return {"precision": rounded(self.precision), "recall": rounded(self.recall), "readers": self.readers,
                "shown": self.shown}


def readers_follow(*, edition: LabelledEdition, count: int = READERS, seed: int = 17) -> list[frozenset[str]]:
    """``count`` sets of one to three followed topic slugs, drawn evenly from
    the topics the edition has enough labelled papers for."""
    counts: dict[str, int] = {}
    for expected in edition.expected:
        for slug in expected:
            counts[slug] = counts.get(slug, 0) + 1
    slugs = sorted(slug for slug, n in counts.items() if n >= MIN_TOPIC_PAPERS)
    rng = random.Random(seed)
    return [frozenset(rng.sample(slugs, min(len(slugs), rng.choice((1, 1, 2, 2, 3))))) for _ in range(count)]


def foryou_evaluate(*, edition: LabelledEdition, follows: list[frozenset[str]]) -> ForYou:
    """Each reader's "For you" from the edition, against the labels."""
    pk_of = {slug: pk for pk, slug in edition.slug_of.items()}
    limit = settings.DIGEST_MAX_PAPERS
    result = ForYou()
    for number, slugs in enumerate(follows, start=1):
        reader = Reader(pk=number, email=f"reader{number}@example.org",
                        topic_ids=frozenset(pk_of[s] for s in slugs), keywords=())
        selection = digest_select(pool=edition.pool, reader=reader)
        relevant = {i for i, expected in enumerate(edition.expected) if expected & slugs}
        shown = [pick.index for pick in selection.for_you]
        result.readers += 1
        result.shown += len(shown)
        result.right += sum(1 for index in shown if index in relevant)
        result.possible += min(len(relevant), limit)
    return result
