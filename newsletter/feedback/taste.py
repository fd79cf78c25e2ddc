"""A reader's taste: what the papers they rated have in common, and how close
each paper of an edition comes to it. Pure functions, no database.

A paper is a set of features (its topics, its AI keywords, the stems of its
title's words, its authors), each with a share of the paper: every kind
has a fixed share, split evenly among its features (the shares add up to 1
when the paper has every kind). A taste scores each feature of the rated papers from -1 to 1:

    (up - down) / (up + down + PRIOR)

where up and down count the rated papers having it (a vote counts 1, a
click CLICK_VALUE); PRIOR keeps one vote from deciding alone. A paper's
affinity is the sum of its features' shares times their scores: from -1
(everything about it was rated down) to 1.

Per edition the papers' features become postings (feature -> papers); per
reader the affinities are one pass over the taste's features: no work per
(paper, reader) pair beyond the papers that share a feature with the taste.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from newsletter.tagging.match import tokens

# How much each kind of feature says about a paper: its share, whichever
# other kinds the paper has (an untagged paper never looks like a liked one by
# its title words alone).
KIND_WEIGHTS = {"t": 0.5, "k": 0.2, "w": 0.15, "a": 0.15}
PRIOR = 1.0
# A topic the reader follows is one they asked for: papers rated down for
# being mis-tagged with it must not take its well-tagged papers away. Papers
# carrying a followed topic leave the digest only once the reader has rated
# down FOLLOW_TURNED_AFTER more of that topic's papers than up; until then
# dislikes only move them down.
FOLLOW_TURNED_AFTER = 3
CLICK_VALUE = 0.25
# A taste keeps its best-supported features only: bounded size per reader.
MAX_TASTE_FEATURES = 300
MIN_AFFINITY = 0.01
MIN_WORD_LENGTH = 4
# Title words that say nothing about a paper's subject.
STOPWORDS = frozenset("""
about above across after again against also among analysis approach approaches based being beyond
between both cannot could does doing down during each efficient effective enhanced enhancing every
from further have having here improved improving into just large language learning less like made
make making many method methods model models more most much new novel only other over paper papers
performance same should show shows since some study such than that their them then there these they
this those through toward towards under using very what when where which while with within without
work would your yours
""".split())  # noqa: SIM905 (easier to read and extend)


def author_key(name: str) -> str:
    """An author's name compared exactly: case and spacing aside."""
    return " ".join(str(name).split()).casefold()


def _stems(text: str) -> list[str]:
    return [stemmed for original, stemmed in tokens(text) if original]


def paper_features(
    *, title: str, ai_keywords: Iterable[str] = (), authors: Iterable[str] = (),
    topic_ids: Iterable[int] = (),
) -> dict[str, float]:
    """A paper's features, feature -> share of the paper (at most 1 in all)."""
    kinds: dict[str, set[str]] = {
        "t": {f"t:{topic_id}" for topic_id in topic_ids},
        "k": {"k:" + " ".join(stems) for keyword in ai_keywords if (stems := _stems(str(keyword)))},
        "w": {
            f"w:{stemmed}" for original, stemmed in tokens(title)
            if len(original) >= MIN_WORD_LENGTH and original.isalpha() and original.lower() not in STOPWORDS
        },
        "a": {f"a:{key}" for name in authors if (key := author_key(name))},
    }
    shares: dict[str, float] = {}
    for kind, keys in kinds.items():
        for key in keys:
            shares[key] = KIND_WEIGHTS[kind] / len(keys)
    return shares


Postings = dict[str, list[tuple[int, float]]]


def postings_build(vectors: Iterable[dict[str, float]]) -> Postings:
    """Feature -> [(paper index, weight)], for an edition's papers in order."""
    postings: Postings = {}
    for index, vector in enumerate(vectors):
        for key, value in vector.items():
            postings.setdefault(key, []).append((index, value))
    return postings


@dataclass(frozen=True)
class Taste:
    """What one reader's ratings taught: feature -> score (-1..1). ``key``
    identifies it in memos (the reader and the taste's version)."""

    weights: dict[str, float] = field(hash=False, compare=False)
    key: tuple
    # Topic features on FOLLOW_TURNED_AFTER more papers rated down than up.
    turned: frozenset[str] = frozenset()

    def followed_kept(self, topic_ids: Iterable[int]) -> list[int]:
        """The followed topics (of ``topic_ids``) the reader has not turned against."""
        return [topic_id for topic_id in topic_ids if f"t:{topic_id}" not in self.turned]

    def affinities(self, postings: Postings) -> dict[int, float]:
        """Paper index -> affinity (-1..1) for the papers sharing a feature."""
        found: dict[int, float] = {}
        get = found.get
        for key, score in self.weights.items():
            for index, share in postings.get(key, ()):
                found[index] = get(index, 0.0) + score * share
        return {index: total for index, total in found.items() if abs(total) >= MIN_AFFINITY}


def feature_counts(examples: Iterable[tuple[dict[str, float], float]]) -> dict[str, tuple[float, float]]:
    """Feature -> (up, down): how many rated-up and rated-down papers have it
    (a click counts its value)."""
    counts: dict[str, tuple[float, float]] = {}
    for features, value in examples:
        for feature in features:
            up, down = counts.get(feature, (0.0, 0.0))
            counts[feature] = (up + value, down) if value > 0 else (up, down - value)
    return counts


def feature_score(up: float, down: float) -> float:
    return (up - down) / (up + down + PRIOR)


def taste_build(*, examples: Iterable[tuple[dict[str, float], float]], key: tuple = ()) -> Taste | None:
    """A taste from (paper features, value) examples: +1 liked, -1 disliked, a
    fraction for weaker signals. None when nothing was learned."""
    return taste_from_counts(counts=feature_counts(examples), key=key)


def taste_from_counts(*, counts: dict[str, tuple[float, float]], key: tuple = ()) -> Taste | None:
    scored = sorted(
        ((feature, feature_score(up, down), up + down) for feature, (up, down) in counts.items()),
        key=lambda item: (-abs(item[1]) * item[2], item[0]),
    )[:MAX_TASTE_FEATURES]
    weights = {feature: round(score, 4) for feature, score, _ in scored if abs(score) >= 1e-4}
    turned = frozenset(
        feature for feature, (up, down) in counts.items()
        if feature.startswith("t:") and down - up >= FOLLOW_TURNED_AFTER
    )
    return Taste(weights=weights, key=key, turned=turned) if weights else None
