"""Recording a reader's votes on the papers of one of their digests."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from newsletter.digest.build import digest_for
from newsletter.feedback.learning import taste_rebuild
from newsletter.models import Paper, PaperVote
from subscribers.models import Subscriber


class VoteRefused(ValueError):
    """A vote that is not +1, -1 or 0, or on a paper not in the digest."""


def digest_papers(*, subscriber: Subscriber, day: date) -> list[Paper]:
    """The papers of the reader's digest of ``day``, in their order."""
    digest = digest_for(subscriber=subscriber, day=day)
    ids = [digest.pool.papers[pick.index].arxiv_id for pick in digest.selection.picks]
    papers = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids)}
    return [papers[arxiv_id] for arxiv_id in ids if arxiv_id in papers]


def votes_record(*, subscriber: Subscriber, day: date, votes: dict[str, int], source: str) -> int:
    """Record votes (arXiv id -> +1, -1, or 0 to withdraw) on papers of the
    reader's digest of ``day``, then rebuild the taste. Idempotent: the last
    vote on a paper wins. Raises VoteRefused, changing nothing, for a paper
    that is not in that digest. Returns how many votes changed."""
    if any(value not in (-1, 0, 1) for value in votes.values()):
        raise VoteRefused("a vote is +1, -1 or 0")
    papers = {p.arxiv_id: p for p in digest_papers(subscriber=subscriber, day=day)}
    unknown = set(votes) - set(papers)
    if unknown:
        raise VoteRefused(f"not in this digest: {', '.join(sorted(unknown))}")
    changed = 0
    with transaction.atomic():
        for arxiv_id, value in votes.items():
            paper = papers[arxiv_id]
            if value == 0:
                changed += PaperVote.objects.filter(subscriber=subscriber, paper=paper).delete()[0]
                continue
            vote, created = PaperVote.objects.get_or_create(
                subscriber=subscriber, paper=paper,
                defaults={"value": value, "edition_date": day, "source": source},
            )
            if not created and vote.value != value:
                PaperVote.objects.filter(pk=vote.pk).update(
                    value=value, edition_date=day, source=source, updated_at=timezone.now()
                )
            changed += created or vote.value != value
        taste_rebuild(subscriber=subscriber)
    return changed


