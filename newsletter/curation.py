"""An editor's decisions about papers: pins, hides, and topics the editor owns.

Ingestion and automatic tagging respect all of them: a pinned or hidden flag is
never touched by ingestion, a topic an editor added has origin ``editor`` (the
tagger only replaces ``auto`` topics), and a topic an editor removed goes to
``excluded_topics`` so the tagger never puts it back.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.lib.audit import editorial_log
from newsletter.models import Paper, PaperTopic, Topic, TopicCorrection
from newsletter.tagging import paper_tag

# Re-tagging runs in the request; a larger selection belongs to the background
# re-tag that follows a change of topic keywords.
RETAG_LIMIT = 1000


def _papers_flag(*, papers: QuerySet[Paper], field: str, value: bool, by, message: str) -> int:
    targets = list(papers.exclude(**{field: value}).only("pk", "arxiv_id", "title"))
    if not targets:
        return 0
    # update() skips auto_now, and the change time matters to anyone reading
    # the paper's history next to the admin log.
    Paper.objects.filter(pk__in=[p.pk for p in targets]).update(**{field: value}, updated_at=timezone.now())
    editorial_log(by=by, objects=targets, message=message)
    return len(targets)


def papers_pin(*, papers: QuerySet[Paper], by) -> int:
    """Pin papers (they lead their edition). Idempotent: returns how many were
    not pinned before; each of those is logged under ``by``."""
    return _papers_flag(papers=papers, field="pinned", value=True, by=by, message="Pinned")


def papers_unpin(*, papers: QuerySet[Paper], by) -> int:
    """Unpin papers. Idempotent; returns how many changed, each logged."""
    return _papers_flag(papers=papers, field="pinned", value=False, by=by, message="Unpinned")


def papers_hide(*, papers: QuerySet[Paper], by) -> int:
    """Hide papers from editions and digests. Idempotent; returns how many
    changed, each logged. Reversible with :func:`papers_unhide`."""
    return _papers_flag(papers=papers, field="hidden", value=True, by=by, message="Hidden")


def papers_unhide(*, papers: QuerySet[Paper], by) -> int:
    """Show hidden papers again. Idempotent; returns how many changed, each logged."""
    return _papers_flag(papers=papers, field="hidden", value=False, by=by, message="Unhidden")


def paper_pin(*, paper: Paper, by) -> bool:
    """Pin one paper; True if it was not pinned before."""
    return papers_pin(papers=Paper.objects.filter(pk=paper.pk), by=by) == 1


def paper_unpin(*, paper: Paper, by) -> bool:
    return papers_unpin(papers=Paper.objects.filter(pk=paper.pk), by=by) == 1


def paper_hide(*, paper: Paper, by) -> bool:
    return papers_hide(papers=Paper.objects.filter(pk=paper.pk), by=by) == 1


def paper_unhide(*, paper: Paper, by) -> bool:
    return papers_unhide(papers=Paper.objects.filter(pk=paper.pk), by=by) == 1


def paper_mark_edited(*, paper: Paper, fields: Iterable[str]) -> None:
    """Mark the title and abstract as editor-owned when ``fields`` (what an
    editor changed) includes them, so ingestion never overwrites them. Sets
    the flags on the instance; the caller saves it."""
    fields = set(fields)
    if "title" in fields:
        paper.title_edited = True
    if "abstract" in fields:
        paper.abstract_edited = True


def _touch(paper: Paper) -> None:
    # Digest pools are cached by a fingerprint of paper change times and
    # topic link counts; promoting a tagger's link to the editor's keeps the
    # count, so the change time must move for digests to see the new score.
    Paper.objects.filter(pk=paper.pk).update(updated_at=timezone.now())


def _correction_record(*, paper: Paper, topic: Topic, expected: bool, tagger_score: float) -> None:
    # The editor's decision is a labelled example for the tagger (see
    # tagging.corrections); the last decision on a paper's topic counts.
    TopicCorrection.objects.update_or_create(
        paper=paper, topic=topic, defaults={"expected": expected, "tagger_score": tagger_score}
    )


def paper_topic_add(*, paper: Paper, topic: Topic) -> bool:
    """Give ``paper`` the topic as an editor's choice (origin ``editor``), also
    when the tagger had already set it, and lift an earlier exclusion.
    Idempotent; True if anything changed."""
    with transaction.atomic():
        unexcluded = paper.excluded_topics.through.objects.filter(paper=paper, topic=topic).delete()[0]
        link, created = PaperTopic.objects.get_or_create(
            paper=paper, topic=topic, defaults={"origin": PaperTopic.Origin.EDITOR, "score": 1.0}
        )
        promoted = 0
        if not created and link.origin != PaperTopic.Origin.EDITOR:
            promoted = PaperTopic.objects.filter(pk=link.pk).update(
                origin=PaperTopic.Origin.EDITOR, score=1.0
            )
        changed = bool(created or promoted or unexcluded)
        if changed:
            _touch(paper)
            _correction_record(paper=paper, topic=topic, expected=True,
                               tagger_score=link.score if promoted else 0.0)
    return changed


def paper_topic_remove(*, paper: Paper, topic: Topic) -> bool:
    """Take the topic off ``paper`` and keep it off: it joins
    ``excluded_topics``, which automatic tagging never overrides.
    Idempotent; True if the paper had the topic."""
    with transaction.atomic():
        link = PaperTopic.objects.filter(paper=paper, topic=topic).first()
        deleted = PaperTopic.objects.filter(paper=paper, topic=topic).delete()[0]
        paper.excluded_topics.add(topic)
        if deleted:
            _touch(paper)
            auto = link is not None and link.origin == PaperTopic.Origin.AUTO
            _correction_record(
                paper=paper, topic=topic, expected=False, tagger_score=link.score if auto else 0.0
            )
    return bool(deleted)


def papers_topic_add(*, papers: Iterable[Paper], topic: Topic, by) -> int:
    """:func:`paper_topic_add` for each paper; logs and counts the changed ones."""
    changed = [paper for paper in papers if paper_topic_add(paper=paper, topic=topic)]
    editorial_log(by=by, objects=changed, message=f"Added topic “{topic.name}”")
    return len(changed)


def papers_topic_remove(*, papers: Iterable[Paper], topic: Topic, by) -> int:
    """:func:`paper_topic_remove` for each paper; logs and counts the papers
    that had the topic (the others are excluded from it all the same)."""
    changed = [paper for paper in papers if paper_topic_remove(paper=paper, topic=topic)]
    editorial_log(
        by=by, objects=changed, message=f"Removed topic “{topic.name}” (automatic tagging keeps it off)"
    )
    return len(changed)


def papers_retag(*, papers: QuerySet[Paper], by) -> int:
    """Re-run automatic tagging on papers; editor-added and editor-removed
    topics stay as they are. Refuses more than RETAG_LIMIT papers with a
    ValueError before changing anything. Returns how many were re-tagged."""
    selected = list(papers[: RETAG_LIMIT + 1])
    if len(selected) > RETAG_LIMIT:
        raise ValueError(
            f"re-tagging runs while you wait and is limited to {RETAG_LIMIT} papers; select fewer"
        )
    topics = list(Topic.objects.filter(active=True))
    for paper in selected:
        paper_tag(paper=paper, topics=topics)
    editorial_log(by=by, objects=selected, message="Re-ran automatic tagging")
    return len(selected)
