"""Editors' topic corrections as labelled examples: how often each topic was
corrected, and which keywords the corrected papers point at.

A correction (``TopicCorrection``) records the editor's decision and what the
tagger had given the paper at the time: removing a tag the tagger set is a
false positive, adding a topic it missed a false negative, adding one it had
already set a confirmation. Editor decisions always stick (see
``tagging/__init__.py``); this only reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q

from newsletter.models import PaperTopic, Topic, TopicCorrection
from newsletter.tagging import paper_topics_predict
from newsletter.tagging.match import TextIndex, keyword_items, keyword_parse, stem, tokens

# A word must appear in this many missed papers' titles to be suggested.
MIN_PAPERS_FOR_SUGGESTION = 2


@dataclass
class TopicCorrections:
    removed: int = 0  # tags the tagger set and editors took off
    added: int = 0  # topics the tagger missed and editors added
    confirmed: int = 0  # tags editors made their own
    auto: int = 0  # automatic tags the topic has now

    @property
    def precision(self) -> float | None:
        """Share of the tagger's tags editors left or confirmed (None without corrections)."""
        if not (self.removed or self.added or self.confirmed):
            return None
        kept = self.auto + self.confirmed
        return kept / (kept + self.removed) if kept + self.removed else None


def corrections_by_topic() -> dict[int, TopicCorrections]:
    """Topic id -> its corrections (two aggregate queries)."""
    out: dict[int, TopicCorrections] = {}
    rows = TopicCorrection.objects.values("topic_id").annotate(
        removed=Count("pk", filter=Q(expected=False, tagger_score__gt=0)),
        added=Count("pk", filter=Q(expected=True, tagger_score=0)),
        confirmed=Count("pk", filter=Q(expected=True, tagger_score__gt=0)),
    )
    for row in rows:
        out[row["topic_id"]] = TopicCorrections(row["removed"], row["added"], row["confirmed"])
    for topic_id, auto in (
        PaperTopic.objects.filter(origin=PaperTopic.Origin.AUTO, topic_id__in=list(out))
        .values_list("topic_id").annotate(n=Count("pk"))
    ):
        out[topic_id].auto = auto
    return out


def keyword_suggestions(*, topics: list[Topic] | None = None) -> list[str]:
    """Plain-language suggestions from the corrected papers the current
    keywords still get wrong: keywords that keep firing on papers editors
    took the topic off, and title words shared by papers it still misses."""
    topics = topics if topics is not None else list(Topic.objects.filter(active=True))
    by_pk = {t.pk: t for t in topics}
    wrong: dict[int, Counter] = {}
    missed: dict[int, Counter] = {}
    for correction in TopicCorrection.objects.filter(topic_id__in=list(by_pk)).select_related("paper"):
        topic, paper = by_pk[correction.topic_id], correction.paper
        predicted = paper_topics_predict(paper=paper, topics=topics)
        if not correction.expected and topic.pk in predicted:
            title, body = TextIndex(paper.title), TextIndex(paper.abstract)
            counter = wrong.setdefault(topic.pk, Counter())
            for item in keyword_items(topic.keywords):
                keyword = keyword_parse(item)
                if keyword is not None and keyword.weight > 0 and any(keyword.counts(title, body)):
                    counter[item] += 1
        elif correction.expected and topic.pk not in predicted:
            words = {stemmed: original.lower() for original, stemmed in tokens(paper.title)
                     if original and len(original) > 3 and original.isalpha()}
            missed.setdefault(topic.pk, Counter()).update(set(words.values()))
    lines = []
    for topic_id, counter in wrong.items():
        for item, n in counter.most_common(3):
            lines.append(
                f"{by_pk[topic_id].slug}: '{item}' fired on {n} paper(s) editors took the topic off; "
                "lower its weight, or add a negative keyword for what those papers are about"
            )
    for topic_id, counter in missed.items():
        known = {stem(word) for item in keyword_items(by_pk[topic_id].keywords) for word in item.split()}
        for word, n in counter.most_common(5):
            if n >= MIN_PAPERS_FOR_SUGGESTION and stem(word) not in known:
                lines.append(f"{by_pk[topic_id].slug}: '{word}' is in the titles of {n} paper(s) editors "
                             "added the topic to and the tagger misses; consider it as a keyword")
    return lines
