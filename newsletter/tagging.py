"""Automatic topic tagging from a paper's title, abstract and AI keywords."""

from __future__ import annotations

import re
from functools import lru_cache

from django.db import transaction

from newsletter.models import Paper, PaperTopic, Topic


@lru_cache(maxsize=512)
def _phrase_pattern(phrase: str) -> re.Pattern:
    # Whole words only, so "RL" does not match "URL"; case-insensitive except
    # for short acronyms, where case carries the meaning ("MoE", "RAG").
    flags = 0 if (phrase.isupper() and len(phrase) <= 5) else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", flags)


def topic_scores(*, text: str, topics: list[Topic]) -> dict[int, float]:
    """Topic id -> score for a text; a topic with no match is absent."""
    scores: dict[int, float] = {}
    for topic in topics:
        score = 0.0
        for phrase in topic.keyword_list():
            if _phrase_pattern(phrase).search(text):
                score += 1.0 + 0.25 * phrase.count(" ")
        if score:
            scores[topic.pk] = score
    return scores


def paper_text(paper: Paper) -> str:
    return " \n".join([paper.title, paper.title, paper.abstract, " ".join(paper.ai_keywords or [])])


def paper_tag(*, paper: Paper, topics: list[Topic] | None = None, threshold: float = 1.0) -> set[int]:
    """Replace the paper's automatic topics; editor-added and editor-removed
    topics are left as the editor set them. Returns the automatic topic ids."""
    if topics is None:
        topics = list(Topic.objects.filter(active=True))
    scores = topic_scores(text=paper_text(paper), topics=topics)
    excluded = set(paper.excluded_topics.values_list("pk", flat=True)) if paper.pk else set()
    wanted = {pk for pk, score in scores.items() if score >= threshold and pk not in excluded}
    with transaction.atomic():
        existing = {pt.topic_id: pt for pt in PaperTopic.objects.filter(paper=paper)}
        stale = [
            pt.pk for topic_id, pt in existing.items()
            if pt.origin == PaperTopic.Origin.AUTO and topic_id not in wanted
        ]
        PaperTopic.objects.filter(pk__in=stale).delete()
        PaperTopic.objects.bulk_create(
            [
                PaperTopic(paper=paper, topic_id=pk, origin=PaperTopic.Origin.AUTO, score=scores[pk])
                for pk in wanted
                if pk not in existing
            ],
            ignore_conflicts=True,
        )
    return wanted
