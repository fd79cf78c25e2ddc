"""Automatic topic tagging from a paper's title, abstract, AI summary and AI
keywords (see ``match.py`` for how words match and the keyword syntax).

Editors have the last word: a topic they put on a paper (PaperTopic.origin
= editor) is never removed, and a topic they took off (Paper.excluded_topics)
is never put back. Everything here only touches automatic links.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from newsletter.models import Paper, PaperTopic, Topic
from newsletter.tagging.match import TextIndex, keywords_score, topic_keywords

# A topic is tagged when its score reaches THRESHOLD (about one specific
# phrase in the title, or several in the abstract) and RELATIVE_CUT of the
# paper's best topic score: a paper's second or third topic must be more
# than a few generic words. At most MAX_TOPICS per paper, the best first.
# Chosen on the development sets with `manage.py relevance_eval` (the
# trade-off is in docs/relevance.md).
THRESHOLD = 5.0
RELATIVE_CUT = 0.4
MAX_TOPICS = 4


def topics_score(
    *, title: str, abstract: str = "", ai_summary: str = "", ai_keywords: Iterable[str] = (),
    topics: list[Topic],
) -> dict[int, float]:
    """Topic id -> score for a paper's text; topics that do not match are absent."""
    title_index = TextIndex(title or "")
    body_index = TextIndex(" \n".join([abstract or "", ai_summary or "", " , ".join(ai_keywords or [])]))
    scores = {}
    for topic in topics:
        keywords = topic_keywords(topic.name, topic.description, topic.keywords)
        score = keywords_score(keywords=keywords, title=title_index, body=body_index)
        if score > 0:
            scores[topic.pk] = round(score, 3)
    return scores


def topics_choose(
    scores: dict[int, float], *, threshold: float = THRESHOLD, relative_cut: float = RELATIVE_CUT,
) -> dict[int, float]:
    """The topics a paper gets from its scores, the most confident first."""
    if not scores:
        return {}
    floor = max(threshold, relative_cut * max(scores.values()))
    chosen = sorted(((pk, score) for pk, score in scores.items() if score >= floor), key=lambda x: -x[1])
    return dict(chosen[:MAX_TOPICS])


def paper_topics_predict(*, paper: Paper, topics: list[Topic], **options) -> dict[int, float]:
    """Topic id -> score of the topics the tagger would give ``paper``
    (``options``: ``threshold`` and ``relative_cut`` of ``topics_choose``)."""
    return topics_choose(topics_score(
        title=paper.title, abstract=paper.abstract, ai_summary=paper.ai_summary,
        ai_keywords=paper.ai_keywords or [], topics=topics,
    ), **options)


def _papers_apply(*, papers: list[Paper], topics: list[Topic], scope: set[int] | None) -> int:
    """Make the automatic links of ``papers`` match the tagger, for the topics
    in ``scope`` (all when None; a retired topic in scope loses its automatic
    links). Returns how many papers changed."""
    if not papers:
        return 0
    ids = [p.pk for p in papers]
    links = PaperTopic.objects.filter(paper_id__in=ids)
    if scope is not None:
        links = links.filter(topic_id__in=scope)
    existing: dict[int, dict[int, PaperTopic]] = {}
    for link in links:
        existing.setdefault(link.paper_id, {})[link.topic_id] = link
    excluded: dict[int, set[int]] = {}
    for paper_id, topic_id in Paper.excluded_topics.through.objects.filter(
        paper_id__in=ids
    ).values_list("paper_id", "topic_id"):
        excluded.setdefault(paper_id, set()).add(topic_id)

    stale, fresh, rescored, changed = [], [], [], 0
    for paper in papers:
        # Predicted against every topic, then limited to the scope: the
        # relative cut compares a topic with the paper's best one.
        wanted = {
            pk: score for pk, score in paper_topics_predict(paper=paper, topics=topics).items()
            if pk not in excluded.get(paper.pk, ()) and (scope is None or pk in scope)
        }
        have = existing.get(paper.pk, {})
        before = len(stale) + len(fresh)
        for topic_id, link in have.items():
            if link.origin != PaperTopic.Origin.AUTO:
                continue  # an editor's choice stays
            if topic_id not in wanted:
                stale.append(link.pk)
            elif link.score != wanted[topic_id]:
                link.score = wanted[topic_id]
                rescored.append(link)
        fresh += [
            PaperTopic(paper=paper, topic_id=pk, origin=PaperTopic.Origin.AUTO, score=score)
            for pk, score in wanted.items() if pk not in have
        ]
        changed += len(stale) + len(fresh) > before
    with transaction.atomic():
        PaperTopic.objects.filter(pk__in=stale, origin=PaperTopic.Origin.AUTO).delete()
        PaperTopic.objects.bulk_update(rescored, ["score"])
        PaperTopic.objects.bulk_create(fresh, ignore_conflicts=True)
    return changed


def paper_tag(*, paper: Paper, topics: list[Topic] | None = None) -> set[int]:
    """Replace the paper's automatic topics with the tagger's choice; editor
    links and editor exclusions are left as the editor set them. Returns the
    topic ids the paper has automatically now. Idempotent."""
    if topics is None:
        topics = list(Topic.objects.filter(active=True))
    _papers_apply(papers=[paper], topics=topics, scope=None)
    auto = PaperTopic.objects.filter(paper=paper, origin=PaperTopic.Origin.AUTO)
    return set(auto.values_list("topic_id", flat=True))


def papers_retag_all(*, topic_ids: Iterable[int] | None = None, chunk: int = 500) -> int:
    """Re-tag every paper for ``topic_ids`` (all topics when None), e.g. after
    an editor added a topic or changed its keywords. Only automatic links of
    those topics change; editor decisions stay. Works in chunks, each in its
    own transaction, so a long run never holds the whole table. Idempotent
    and safe to run twice. Returns how many papers changed."""
    scope = set(topic_ids) if topic_ids is not None else None
    topics = list(Topic.objects.filter(active=True))
    changed = 0
    last_pk = 0
    while True:
        papers = list(
            Paper.objects.filter(pk__gt=last_pk).order_by("pk")
            .only("pk", "title", "abstract", "ai_summary", "ai_keywords")[:chunk]
        )
        if not papers:
            return changed
        changed += _papers_apply(papers=papers, topics=topics, scope=scope)
        last_pk = papers[-1].pk
