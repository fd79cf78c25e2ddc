"""An edition's papers as plain data, loaded once and shared by every reader.

A pool covers one or more consecutive editions (daily: one day; weekly: the
last seven). It holds everything selection and rendering need, so per-reader
work never touches the database. Pools are cached in-process per date range
and rebuilt when the edition changes (an editor pins, hides, retags or edits
a note; ingestion adds a paper).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Max, Q

from newsletter.digest.ranking import paper_attention, paper_boost, paper_recency, topic_weight
from newsletter.feedback.taste import Postings, author_key, paper_features, postings_build
from newsletter.models import Edition, Paper, PaperLinks, PaperTopic, Topic
from newsletter.selectors import editions_papers
from newsletter.tagging.match import TextIndex

POOLS_KEPT = 4
PROFILE_CACHE_SIZE = 4096  # a few KB each: bounded, so memory is flat in readers
KEYWORD_CACHE_SIZE = 8192
WHY_CACHE_SIZE = 16384
# A card shows the source's AI summary (a sentence or two) whole, or the
# abstract cut to about two lines of a 600 px email.
SUMMARY_LIMIT = 300
ABSTRACT_LIMIT = 160


def safe_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) link, else "" (no javascript:, data:...)."""
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE) else ""


@dataclass(slots=True)
class PoolPaper(PaperLinks):
    index: int
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    ai_summary: str
    ai_keywords: list[str]
    featured_on: date | None
    pinned: bool
    upvotes: int
    num_comments: int
    github_repo: str
    github_stars: int | None
    project_page: str
    excerpt: str
    # (topic id, topic name, tagger score, set by an editor), best first.
    topics: list[tuple[int, str, float, bool]]
    boost: float
    attention: float
    topic_ids: tuple[int, ...] = ()
    topic_mask: int = 0  # one bit per topic, see EditionPool.topic_bits

    def __post_init__(self):
        self.topic_ids = tuple(t for t, _, _, _ in self.topics)


@dataclass
class EditionPool:
    first: date
    last: date
    note: str
    fingerprint: tuple
    papers: list[PoolPaper]
    # Every active topic's name, for "you follow ..." lines.
    topic_names: dict[int, str] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)
    # topic id -> {paper index: relevance weight}
    topic_weights: dict[int, dict[int, float]] = field(default_factory=dict)
    # Memos filled by selection; bounded so memory stays flat in the number of readers.
    profiles: OrderedDict = field(default_factory=OrderedDict)
    keywords: OrderedDict = field(default_factory=OrderedDict)
    whys: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)  # format -> render.EditionParts, built on first use
    pinned: tuple[int, ...] = ()
    boosts: tuple[float, ...] = ()
    topic_bits: dict[int, int] = field(default_factory=dict)
    by_attention: tuple[int, ...] = ()
    # Per paper: its most confident topic's relevance weight, which orders
    # equally relevant papers (a clear paper before a marginal one).
    confidence: tuple[float, ...] = ()
    # Author name (compared exactly) -> paper indexes, for keywords naming an author.
    by_author: dict[str, tuple[int, ...]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _text: list[tuple[TextIndex, TextIndex]] | None = None
    _postings: Postings | None = None

    def __post_init__(self):
        self.by_id = {p.arxiv_id: p.index for p in self.papers}
        self.pinned = tuple(p.index for p in self.papers if p.pinned)
        ids = sorted({t for p in self.papers for t in p.topic_ids})
        self.topic_bits = {topic_id: 1 << bit for bit, topic_id in enumerate(ids)}
        for paper in self.papers:
            paper.topic_mask = sum(self.topic_bits[t] for t in paper.topic_ids)
        self.boosts = tuple(p.boost for p in self.papers)
        # Candidates for "Also trending": by attention, then edition order;
        # only papers readers are visibly paying attention to (upvotes or
        # comments), so the word "trending" has counts to back it. Pins are
        # in every reader's "For you".
        self.by_attention = tuple(
            p.index for p in sorted(self.papers, key=lambda p: (-p.attention, p.index))
            if not p.pinned and (p.upvotes or p.num_comments)
        )
        for paper in self.papers:
            for topic_id, _name, score, by_editor in paper.topics:
                self.topic_weights.setdefault(topic_id, {})[paper.index] = topic_weight(
                    score=score, by_editor=by_editor
                )
        self.confidence = tuple(
            max((self.topic_weights[t][p.index] for t in p.topic_ids), default=0.0) for p in self.papers
        )
        authors: dict[str, list[int]] = {}
        for paper in self.papers:
            for name in paper.authors:
                authors.setdefault(author_key(name), []).append(paper.index)
        self.by_author = {name: tuple(indexes) for name, indexes in authors.items()}

    def text_indexes(self) -> list[tuple[TextIndex, TextIndex]]:
        """Per paper: word positions of its title and AI keywords, and of its
        abstract, for reader keywords (built on first use, once per pool)."""
        if self._text is None:
            self._text = [
                (TextIndex("\n".join([p.title, *p.ai_keywords])), TextIndex(p.abstract)) for p in self.papers
            ]
        return self._text

    def postings(self) -> Postings:
        """The papers' feature postings, for readers' learned tastes (built on first use)."""
        if self._postings is None:
            self._postings = postings_build(
                paper_features(
                    title=p.title, ai_keywords=p.ai_keywords, authors=p.authors, topic_ids=p.topic_ids
                )
                for p in self.papers
            )
        return self._postings

    @property
    def is_single_day(self) -> bool:
        return self.first == self.last

    def memo_get(self, memo: OrderedDict, key, build, size: int):
        """Bounded LRU lookup shared by selection's memos. Safe with threads
        (a value may be built twice; both are equal)."""
        hit = memo.get(key)
        if hit is not None:
            with contextlib.suppress(KeyError):  # evicted by another thread meanwhile
                memo.move_to_end(key)
            return hit
        value = build()
        memo[key] = value
        while len(memo) > size:
            try:
                memo.popitem(last=False)
            except KeyError:
                break
        return value


def pool_fingerprint(*, first: date, last: date) -> tuple:
    """Changes whenever anything a digest shows changes: three small queries."""
    papers = editions_papers(first=first, last=last).order_by().aggregate(
        n=Count("pk"), changed=Max("updated_at")
    )
    links = PaperTopic.objects.filter(
        paper__featured_on__gte=first, paper__featured_on__lte=last
    ).aggregate(n=Count("pk"), newest=Max("pk"))
    edition = Edition.objects.filter(date=last).values_list("updated_at", flat=True).first()
    topics = Topic.objects.aggregate(changed=Max("updated_at"), n=Count("pk", filter=Q(active=True)))
    return (
        papers["n"], papers["changed"], links["n"], links["newest"], edition,
        topics["changed"], topics["n"],
    )


def pool_paper(
    *, row: Paper, index: int, topics: list[tuple[int, str, float, bool]], last: date
) -> PoolPaper:
    """One paper of a pool from a Paper (saved or not) and its topic links."""
    attention = paper_attention(
        upvotes=row.upvotes, num_comments=row.num_comments, github_stars=row.github_stars
    )
    return PoolPaper(
        index=index,
        arxiv_id=row.arxiv_id,
        title=" ".join(row.title.split()),
        abstract=row.abstract,
        authors=[str(a) for a in (row.authors or [])],
        ai_summary=row.ai_summary,
        ai_keywords=[str(k) for k in (row.ai_keywords or [])],
        featured_on=row.featured_on,
        pinned=row.pinned,
        upvotes=row.upvotes,
        num_comments=row.num_comments,
        github_repo=safe_url(row.github_repo),
        github_stars=row.github_stars,
        project_page=safe_url(row.project_page),
        excerpt=row.excerpt(SUMMARY_LIMIT, abstract_limit=ABSTRACT_LIMIT),
        topics=topics,
        boost=paper_boost(
            attention=attention, recency=paper_recency(featured_on=row.featured_on, newest=last)
        ),
        attention=attention,
    )


def pool_load(*, first: date, last: date, fingerprint: tuple = ()) -> EditionPool:
    """Read the editions' visible papers and topics from the database (4 queries)."""
    rows = list(editions_papers(first=first, last=last))
    links: dict[int, list[tuple[int, str, float, bool]]] = {}
    for link in (
        PaperTopic.objects.filter(paper__in=[p.pk for p in rows], topic__active=True)
        .select_related("topic")
        .order_by("-score", "topic__position", "topic__name")
    ):
        links.setdefault(link.paper_id, []).append(
            (link.topic_id, link.topic.name, link.score, link.origin == PaperTopic.Origin.EDITOR)
        )
    papers = [
        pool_paper(row=row, index=index, topics=links.get(row.pk, []), last=last)
        for index, row in enumerate(rows)
    ]
    note = Edition.objects.filter(date=last).values_list("note", flat=True).first() or ""
    names = dict(Topic.objects.filter(active=True).values_list("pk", "name"))
    return EditionPool(
        first=first, last=last, note=note, fingerprint=fingerprint, papers=papers, topic_names=names
    )


_pools: OrderedDict[tuple[date, date], EditionPool] = OrderedDict()
_pools_lock = threading.Lock()


def pool_get(*, first: date, last: date) -> EditionPool:
    """The pool for a date range, from the in-process cache unless the
    editions changed since it was built. Safe to call from several threads."""
    fingerprint = pool_fingerprint(first=first, last=last)
    key = (first, last)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None and pool.fingerprint == fingerprint:
            _pools.move_to_end(key)
            return pool
    pool = pool_load(first=first, last=last, fingerprint=fingerprint)
    with _pools_lock:
        _pools[key] = pool
        while len(_pools) > POOLS_KEPT:
            _pools.popitem(last=False)
    return pool


def pools_forget() -> None:
    """Drop every cached pool (tests, and after bulk edits in one process)."""
    with _pools_lock:
        _pools.clear()
