"""A paper's related papers: the digest's relevance, with the paper standing
in for the reader.

    relevance = sum over shared topics of ranking.topic_weight(the other
                paper's tag)                     (its confidence; more if an editor set it)
              + ranking.keyword_weight of the words the two titles and AI
                keywords share, as a keyword found in an abstract weighs
    score     = relevance x ranking.paper_boost(attention, recency 1)

Candidates are the newest visible papers sharing a topic (``CANDIDATE_LINKS``
topic links) featured no later than ``AFTER_DAYS`` after the paper: what was
trending around the same time, and a bounded amount of work (a walk down the
featured-date index, a few hundred rows).
"""

from __future__ import annotations

import re
from datetime import timedelta

from newsletter.digest.ranking import keyword_weight, paper_attention, paper_boost, topic_weight
from newsletter.models import Paper, PaperTopic
from newsletter.selectors import topic_links_prefetch, visible_q

CANDIDATE_LINKS = 500
AFTER_DAYS = 7
RELATED_MAX = 5
MAX_SHARED_WORDS = 5
_WORD_RE = re.compile(r"[a-z0-9]{3,}")
# Words nearly every paper title uses: sharing them says nothing.
COMMON_WORDS = frozenset({
    "the", "and", "for", "with", "via", "from", "into", "towards", "toward", "using", "based", "large",
    "language", "model", "models", "learning", "efficient", "effective", "scalable", "new", "novel",
    "approach", "method", "methods", "framework", "study", "analysis", "data", "training", "deep",
    "neural", "network", "networks", "task", "tasks", "improving", "improved", "better", "beyond",
    "through", "can", "are", "our", "its", "their", "when", "what", "how", "your", "you", "all", "any",
    "more", "than", "not",
})


def words_of(title: str, keywords) -> frozenset[str]:
    text = " ".join([title or "", *[str(k) for k in (keywords or [])]]).lower()
    return frozenset(_WORD_RE.findall(text)) - COMMON_WORDS


def related_papers(*, paper: Paper, limit: int = RELATED_MAX) -> list[Paper]:
    """Up to ``limit`` visible papers like ``paper``, best first, with their
    topics prefetched. ``paper.topic_links`` must be loaded (3 queries)."""
    topic_ids = [link.topic_id for link in paper.topic_links]
    if not topic_ids or paper.featured_on is None:
        return []
    until = paper.featured_on + timedelta(days=AFTER_DAYS)
    # One row per shared topic, newest papers first: a walk down the
    # featured-date index, each paper's topics found in the (paper, topic) index.
    links = (
        PaperTopic.objects.filter(visible_q("paper__"), topic_id__in=topic_ids, paper__featured_on__lte=until)
        .exclude(paper_id=paper.pk).order_by("-paper__featured_on")
        .values_list("paper_id", "score", "origin", "paper__title", "paper__ai_keywords", "paper__upvotes",
                     "paper__num_comments", "paper__github_stars")[:CANDIDATE_LINKS]
    )
    mine = words_of(paper.title, paper.ai_keywords)
    relevance: dict[int, float] = {}
    boosts: dict[int, float] = {}
    for pk, score, origin, title, keywords, upvotes, comments, stars in links:
        if pk not in relevance:
            shared = len(mine & words_of(title, keywords))
            relevance[pk] = keyword_weight(strong_hits=0, weak_hits=min(shared, MAX_SHARED_WORDS))
            attention = paper_attention(upvotes=upvotes, num_comments=comments, github_stars=stars)
            boosts[pk] = paper_boost(attention=attention, recency=1.0)
        relevance[pk] += topic_weight(score=score, by_editor=origin == PaperTopic.Origin.EDITOR)
    best = sorted(relevance, key=lambda pk: (-relevance[pk] * boosts[pk], pk))[:limit]
    by_pk = Paper.objects.prefetch_related(topic_links_prefetch()).in_bulk(best)
    return [by_pk[pk] for pk in best]
