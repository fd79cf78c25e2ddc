"""The digest score: how a paper ranks for one reader.

    score = relevance x (1 + 0.3 x attention) x recency

relevance (what the reader asked for):
    each of the reader's topics the paper carries   tagger score / THRESHOLD: 1 for a tag
                                                    just over the threshold, more for a
                                                    confident one (4 when an editor set it)
    each of the reader's keywords it matches        2 + log2(1 + hits) in the title or AI
                                                    keywords, log2(1 + hits) in the abstract
                                                    only (words match on their stems, as
                                                    topic keywords do); 3 for an author's
                                                    exact name
    a reader with no topics and no keywords follows everything: relevance 1

feedback (what the reader's ratings taught, see newsletter/feedback):
    relevance x exp(FEEDBACK_GAIN x affinity), affinity in -1..1; at
    -FEEDBACK_DROP or below the paper leaves "For you" (and "Also trending"),
    unless it carries a followed topic the reader has not turned against
    (taste.FOLLOW_TURNED_AFTER): then it only moves down.
    A paper outside the reader's topics and keywords joins "For you" when its
    affinity reaches FEEDBACK_JOIN, with relevance FEEDBACK_RELEVANCE x affinity

attention (what the community is paying attention to; 0 when unknown):
    ln(1 + upvotes) + 0.5 ln(1 + comments) + 0.25 ln(1 + GitHub stars)

recency (weekly digests span several editions):
    0.85 ^ days between the paper's edition and the digest's newest edition

Attention multiplies relevance, so a paper nobody has upvoted yet still ranks
by relevance, and among equally relevant papers the one people talk about
wins. Editor pins come before any score. Equal scores are ordered by the
paper's most confident topic (a clear paper before a marginal one), and only
then by the edition order, so the result is deterministic.
"""

from __future__ import annotations

import math
from datetime import date

from newsletter.tagging import THRESHOLD
from newsletter.tagging.match import TITLE_BONUS

ATTENTION_WEIGHT = 0.3
RECENCY_DECAY = 0.85
KEYWORD_AUTHOR = 3.0  # a keyword that is an author's name
KEYWORD_HITS_CAP = 7
# An editor's topic is certain: it weighs like a confident tag (score 20).
EDITOR_TOPIC_WEIGHT = 4.0
FEEDBACK_GAIN = 1.5
FEEDBACK_DROP = 0.2
FEEDBACK_JOIN = 0.5
FEEDBACK_RELEVANCE = 4.0
# The "why" line mentions ratings from this affinity on.
FEEDBACK_MOVED = 0.1


def topic_weight(*, score: float, by_editor: bool) -> float:
    """Relevance one matched topic adds: the tagger's confidence in units of
    its threshold (1 at the threshold), or EDITOR_TOPIC_WEIGHT."""
    if by_editor:
        return EDITOR_TOPIC_WEIGHT
    return max(score, 0.0) / THRESHOLD


def keyword_weight(*, strong_hits: int, weak_hits: int) -> float:
    """Relevance one matched reader keyword adds (0 when it does not match)."""
    hits = min(strong_hits + weak_hits, KEYWORD_HITS_CAP)
    if not hits:
        return 0.0
    return (TITLE_BONUS if strong_hits else 0.0) + math.log2(1 + hits)


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
