"""Which papers one reader gets from an edition, in which order, and why.

A reader's digest has two sections:

* "For you": the editor's pins (for every reader: an editor's pick is news
  for everyone), then the papers matching the reader's topics or keywords,
  ranked by the score in ``ranking.py``; at most ``DIGEST_MAX_PAPERS``.
* "Also trending": up to ``DIGEST_TRENDING_PAPERS`` papers that match none of
  the reader's topics or keywords, by attention; only papers with upvotes or
  comments (no signal, no section).

Never a paper the reader already received (arXiv id without version), never
a hidden or withdrawn one (the pool has none). A reader with no topics and no
keywords follows everything. When "For you" would be empty there is no email.

Ranking is memoised per preference profile (topics + keywords): readers
share profiles, so most readers cost one dictionary lookup plus a filter. A
reader who rated papers has a learned taste of their own (see
``newsletter.feedback``): their ranking is computed for them, from the
edition's feature postings.
"""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass, field
from datetime import date
from html import escape

from django.conf import settings

from newsletter.digest.pool import KEYWORD_CACHE_SIZE, PROFILE_CACHE_SIZE, WHY_CACHE_SIZE, EditionPool
from newsletter.digest.ranking import (
    FEEDBACK_DROP,
    FEEDBACK_GAIN,
    FEEDBACK_JOIN,
    FEEDBACK_MOVED,
    FEEDBACK_RELEVANCE,
    KEYWORD_AUTHOR,
    keyword_weight,
)
from newsletter.digest.text import html_ascii, plain_words, text_wrap
from newsletter.feedback.taste import Taste, author_key
from newsletter.tagging.match import phrase_keys

MAX_KEYWORDS = 20
# Group headings besides the topics' names.
EDITORS_PICKS = "Editor's picks"
KEYWORDS_GROUP = "Your keywords"
MORE_FOR_YOU = "More for you"
MAX_KEYWORD_LENGTH = 80


@dataclass(frozen=True, slots=True)
class Reader:
    """What selection and assembly need to know about a subscriber.
    ``pk`` and ``email`` also make it usable for signed tokens."""

    pk: int
    email: str
    topic_ids: frozenset[int]
    keywords: tuple[str, ...]
    weekly: bool = False
    taste: Taste | None = None  # learned from the reader's ratings
    digest_format: str = "full"  # Subscriber.DigestFormat: "full" or "compact"


def keywords_parse(raw: str) -> tuple[str, ...]:
    """A reader's keyword text -> distinct keywords, in order, bounded."""
    seen: set[str] = set()
    out: list[str] = []
    for part in re.split(r"[,\n;]", raw or ""):
        keyword = " ".join(part.split())[:MAX_KEYWORD_LENGTH]
        if keyword and keyword.lower() not in seen:
            seen.add(keyword.lower())
            out.append(keyword)
    return tuple(out[:MAX_KEYWORDS])


@dataclass(frozen=True, slots=True)
class Pick:
    index: int  # into pool.papers
    why: str
    why_html: str = ""
    why_text: str = ""  # for the text part: wrapped to its line length
    # What the paper is about for this reader, in a word or two: the keyword
    # it matched, else the reader's topic it is in (the subject line's words).
    label: str = ""
    # Its heading when a digest groups papers: the reader's topic it is in,
    # "Editor's picks", "Your keywords" or "More for you".
    group: str = ""

    @classmethod
    def of(cls, index: int, why: str, *, label: str = "", group: str = "") -> Pick:
        return cls(index, why, html_ascii(escape(why, quote=False)), text_wrap(why), label, group)


@dataclass(frozen=True, slots=True)
class Selection:
    for_you: tuple[Pick, ...]
    trending: tuple[Pick, ...]
    # Readers who share a profile (and have no history) share one Selection;
    # assembly keeps the joined paper sections of such shared ones here.
    shared: bool = field(default=False, compare=False)
    rendered: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return not self.for_you

    @property
    def picks(self) -> tuple[Pick, ...]:
        return self.for_you + self.trending


def keyword_matches(*, pool: EditionPool, keyword: str) -> dict[int, float]:
    """Paper index -> relevance for one reader keyword, memoised per pool.

    Words match on their stems, like topic keywords ("agent" finds "agents",
    "speculative decoding" finds "speculative decoders"); a word with two
    capitals or a digit matches as a whole word in any case ("RAG" finds
    "RAGs" and never "storage"); words in double quotes match exactly. A
    keyword that is an author's full name matches that author's papers, by
    the exact name."""

    def build() -> dict[int, float]:
        found = dict.fromkeys(pool.by_author.get(author_key(keyword), ()), KEYWORD_AUTHOR)
        keys = phrase_keys(keyword, acronyms_any_case=True)
        if keys:
            for index, (strong, weak) in enumerate(pool.text_indexes()):
                weight = keyword_weight(strong_hits=strong.count(keys), weak_hits=weak.count(keys))
                if weight:
                    found[index] = max(found.get(index, 0.0), weight)
        return found

    return pool.memo_get(pool.keywords, keyword.lower(), build, KEYWORD_CACHE_SIZE)


class _Ranked:
    """One preference profile's ranking over a pool. Small on purpose:
    thousands are cached. "Why" lines are made for the papers picked only."""

    __slots__ = ("default", "disliked", "everything", "keywords_hit", "liked", "mask", "matches", "pool",
                 "relevant", "topic_ids")

    def __init__(
        self, *, pool: EditionPool, topic_ids: frozenset[int], keywords: tuple[str, ...],
        taste: Taste | None = None,
    ):
        self.pool = pool
        self.topic_ids = topic_ids
        self.everything = everything = not topic_ids and not keywords
        self.keywords_hit: dict[int, tuple[str, ...]] = {}
        self.liked: frozenset[int] = frozenset()  # papers the reader's ratings moved up
        self.disliked: frozenset[int] = frozenset()  # unfollowed papers like those rated down
        if everything:
            relevance = dict.fromkeys(range(len(pool.papers)), 1.0)
        else:
            # Start from a copy of the biggest topic (a C-speed dict copy),
            # then add the others paper by paper.
            maps = sorted((pool.topic_weights.get(t, {}) for t in topic_ids), key=len, reverse=True)
            relevance = dict(maps[0]) if maps else {}
            get = relevance.get
            for weights in maps[1:]:
                for index, weight in weights.items():
                    relevance[index] = get(index, 0.0) + weight
            for keyword in keywords:
                for index, weight in keyword_matches(pool=pool, keyword=keyword).items():
                    relevance[index] = get(index, 0.0) + weight
                    self.keywords_hit[index] = (*self.keywords_hit.get(index, ()), keyword)
        bits = pool.topic_bits
        if taste is not None:
            kept = sum(bits.get(t, 0) for t in taste.followed_kept(topic_ids))
            self._learned(relevance, taste.affinities(pool.postings()), kept)
        boost, pinned, confidence = pool.boosts, pool.pinned, pool.confidence
        # Equal scores: the paper's most confident topic first, then edition order.
        scored = sorted([(-weight * boost[index], -confidence[index], index)
                         for index, weight in relevance.items() if index not in pinned])
        # Compact forms: an array of paper indexes, and a bit set of the matching ones.
        self.matches = array("H", [*pinned, *[index for _, _, index in scored]])
        self.relevant = sum(1 << index for index in relevance)
        self.mask = sum(bits.get(t, 0) for t in topic_ids)
        self.default: Selection | None = None  # for readers with no history: shared

    def _learned(self, relevance: dict[int, float], affinities: dict[int, float], kept_mask: int) -> None:
        """Apply a reader's taste: papers like the ones they rated up move up
        (or join), papers like the ones they rated down move down, and drop
        out unless they carry a followed topic the reader has not turned
        against (``kept_mask``, topic bits)."""
        liked, disliked = [], []
        papers = self.pool.papers
        for index, affinity in affinities.items():
            weight = relevance.get(index)
            if affinity <= -FEEDBACK_DROP and not papers[index].topic_mask & kept_mask:
                relevance.pop(index, None)  # like papers rated down: out of both sections
                disliked.append(index)
                continue
            if weight is not None:
                relevance[index] = weight * math.exp(FEEDBACK_GAIN * affinity)
            elif affinity >= FEEDBACK_JOIN:
                relevance[index] = FEEDBACK_RELEVANCE * affinity
            else:
                continue
            if affinity >= FEEDBACK_MOVED:
                liked.append(index)
        self.liked, self.disliked = frozenset(liked), frozenset(disliked)

    def is_relevant(self, index: int) -> bool:
        return bool(self.relevant >> index & 1)

    def pick(self, index: int) -> Pick:
        # Profiles share a paper's "why" when they match it the same way
        # (same topics, as a bit mask, and keywords): the pool keeps them.
        paper = self.pool.papers[index]
        if paper.pinned or self.relevant >> index & 1:
            matched = paper.topic_mask & self.mask
            key: tuple = (
                index, self.everything, matched, self.keywords_hit.get(index, ()), index in self.liked
            )
        else:
            key = (index,)
        whys = self.pool.whys
        pick = whys.get(key)
        if pick is None:
            if len(whys) >= WHY_CACHE_SIZE:
                whys.clear()  # bounded; rebuilt from the next readers
            pick = whys[key] = Pick.of(index, self._why(index), **self._about(index))
        return pick

    def _about(self, index: int) -> dict[str, str]:
        """The pick's label and group (see ``Pick``)."""
        paper = self.pool.papers[index]
        followed = [name for topic_id, name, _, _ in paper.topics
                    if self.everything or topic_id in self.topic_ids]
        keywords = self.keywords_hit.get(index)
        topic = followed[0] if followed else ""
        label = keywords[0] if keywords else topic or (paper.topics[0][1] if paper.topics else "")
        if paper.pinned:
            group = EDITORS_PICKS
        elif not self.is_relevant(index):
            group = ""  # "Also trending" is its own section
        else:
            group = topic or (KEYWORDS_GROUP if keywords else MORE_FOR_YOU)
        return {"label": plain_words(label), "group": group}

    def _why(self, index: int) -> str:
        pool = self.pool
        paper = pool.papers[index]
        if not self.is_relevant(index) and not paper.pinned:
            label = "Trending today" if pool.is_single_day else "Trending this week"
            return " · ".join(filter(None, [label, paper.topics[0][1] if paper.topics else ""]))
        parts = ["Editor's pick"] if paper.pinned else []
        if self.everything:
            if not paper.pinned:
                parts.append("Top paper today" if pool.is_single_day else "Top paper this week")
        else:
            parts += [name for topic_id, name, _, _ in paper.topics if topic_id in self.topic_ids][:2]
        keywords = self.keywords_hit.get(index)
        if keywords:
            parts.append("matches " + ", ".join(f"'{k}'" for k in keywords))
        if index in self.liked:
            parts.append("like papers you rated up" if parts else "Like papers you rated up")
        return " · ".join(parts)

    def select(self, *, fresh, limit: int, trending_limit: int) -> Selection:
        relevant, disliked = self.relevant, self.disliked
        if fresh is None:  # nothing to leave out
            for_you = [self.pick(index) for index in self.matches[:limit]]
            trending = [i for i in self.pool.by_attention if not relevant >> i & 1 and i not in disliked]
        else:
            for_you = [self.pick(index) for index in [i for i in self.matches if fresh(i)][:limit]]
            trending = [
                i for i in self.pool.by_attention if not relevant >> i & 1 and i not in disliked and fresh(i)
            ]
        trending = trending[:trending_limit]
        if not for_you:
            return Selection(for_you=(), trending=())
        return Selection(for_you=tuple(for_you), trending=tuple(self.pick(index) for index in trending))


def _ranked(pool: EditionPool, reader: Reader) -> _Ranked:
    taste = reader.taste
    return pool.memo_get(
        pool.profiles,
        (reader.topic_ids, reader.keywords, taste.key if taste is not None else None),
        lambda: _Ranked(pool=pool, topic_ids=reader.topic_ids, keywords=reader.keywords, taste=taste),
        PROFILE_CACHE_SIZE,
    )


def digest_select(
    *,
    pool: EditionPool,
    reader: Reader,
    received: frozenset[str] | set[str] = frozenset(),
    since: date | None = None,
    limit: int | None = None,
    trending_limit: int | None = None,
) -> Selection:
    """The reader's papers from ``pool``. Pure: reads nothing but its arguments.

    ``received`` are arXiv ids (no version) the reader already got; ``since``
    drops papers of editions on or before that date (a weekly reader's last
    digest). An empty "For you" means: send nothing.
    """
    limit = settings.DIGEST_MAX_PAPERS if limit is None else limit
    trending_limit = settings.DIGEST_TRENDING_PAPERS if trending_limit is None else trending_limit
    ranked = _ranked(pool, reader)
    papers = pool.papers
    if not received and since is None:
        if (limit, trending_limit) != (settings.DIGEST_MAX_PAPERS, settings.DIGEST_TRENDING_PAPERS):
            return ranked.select(fresh=None, limit=limit, trending_limit=trending_limit)
        # Most readers: the profile's selection, computed once and shared.
        if ranked.default is None:
            computed = ranked.select(fresh=None, limit=limit, trending_limit=trending_limit)
            ranked.default = Selection(computed.for_you, computed.trending, shared=True)
        return ranked.default

    def fresh(index: int) -> bool:
        paper = papers[index]
        if since is not None and paper.featured_on is not None and paper.featured_on <= since:
            return False
        return paper.arxiv_id not in received

    return ranked.select(fresh=fresh, limit=limit, trending_limit=trending_limit)


def selection_frozen(
    *, pool: EditionPool, reader: Reader, paper_ids: list[str], for_you_count: int
) -> Selection:
    """The selection recorded on a Delivery, rebuilt with today's "why" lines.
    Papers hidden or withdrawn since are left out; nothing else changes."""
    ranked = _ranked(pool, reader)
    picks = []
    for position, arxiv_id in enumerate(paper_ids):
        index = pool.by_id.get(arxiv_id)
        if index is not None:
            picks.append((position < for_you_count, ranked.pick(index)))
    return Selection(
        for_you=tuple(pick for mine, pick in picks if mine),
        trending=tuple(pick for mine, pick in picks if not mine),
    )
