"""The digest score: how a paper ranks for one reader.

    score = relevance x (1 + 0.3 x attention) x recency

relevance (what the reader asked for):
    each of the reader's topics the paper carries   1 + min(tagger score, 4) / 4
                                                    (2 when an editor set the topic)
    each of the reader's keywords it matches        2 in the title, AI keywords or an
                                                    author's name; 1 in the abstract only
    a reader with no topics and no keywords follows everything: relevance 1

attention (what the community is paying attention to; 0 when unknown):
    ln(1 + upvotes) + 0.5 ln(1 + comments) + 0.25 ln(1 + GitHub stars)

recency (weekly digests span several editions):
    0.85 ^ days between the paper's edition and the digest's newest edition

Attention multiplies relevance, so a paper nobody has upvoted yet still ranks
by relevance, and among equally relevant papers the one people talk about
wins. Editor pins come before any score; ties fall back to the edition order
(upvotes, comments, arXiv id) so the result is deterministic.
"""

from __future__ import annotations

import math
from datetime import date

ATTENTION_WEIGHT = 0.3
RECENCY_DECAY = 0.85
KEYWORD_STRONG = 2.0  # title, AI keywords, authors
KEYWORD_WEAK = 1.0  # abstract only
EDITOR_TOPIC_WEIGHT = 2.0


def topic_weight(*, score: float, by_editor: bool) -> float:
    """Relevance one matched topic adds: 1..2, more for a confident tag."""
    if by_editor:
        return EDITOR_TOPIC_WEIGHT
    return 1.0 + min(max(score, 0.0), 4.0) / 4.0


def paper_attention(*, upvotes: int, num_comments: int, github_stars: int | None) -> float:
    return (
        math.log1p(max(upvotes, 0))
        + 0.5 * math.log1p(max(num_comments, 0))
        + 0.25 * math.log1p(max(github_stars or 0, 0))
    )


def paper_recency(*, featured_on: date | None, newest: date) -> float:
    if featured_on is None or featured_on >= newest:
        return 1.0
    return RECENCY_DECAY ** (newest - featured_on).days


def paper_boost(*, attention: float, recency: float) -> float:
    """The reader-independent factor of the score, computed once per edition."""
    return (1.0 + ATTENTION_WEIGHT * attention) * recency
