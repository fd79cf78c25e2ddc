"""Search the visible papers: title, authors, abstract, AI summary and AI
keywords.

On PostgreSQL, full-text search on ``Paper.search_vector`` (weighted: title
A; AI keywords and authors B; AI summary C; abstract D; kept current by a
trigger, migration 0009) in web-search syntax (``websearch_to_tsquery``:
"a phrase", -word, or). Results by relevance::

    score = ts_rank(search_vector, query)
            x (1 + 0.3 x attention)             the trending score (listing)
            x 0.5 ^ (days since featured / 365) half the weight per year of age

so the best match leads, and among equal matches the upvoted and the recent
ones do. A query matching more than ``RANKED_MATCHES`` papers (a common
word) ranks its newest ``RANKED_MATCHES`` matches: reading every match's
vector to rank it cost most of a second for a word in most papers.

Elsewhere (SQLite on a laptop) a simpler search: every word or "phrase" must
appear in one of the fields, -word excludes, "or" is ignored; papers with
every word in the title first, then by trending score, then newest.

The matched words are highlighted by markers the database (``ts_headline``)
or Python puts around them; ``marked_html`` escapes everything else and
turns only the markers into ``<mark>`` tags, so no paper text is ever markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, DateField, F, FloatField, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Power
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsletter.digest.ranking import ATTENTION_WEIGHT
from newsletter.ingest.records import text_clean
from newsletter.models import Paper, Topic
from newsletter.selectors import papers_visible
from newsletter.site.listing import NEWEST, NEWEST_ORDER, attention_sql

CONFIG = "english"
MAX_QUERY_CHARS = 200
HALF_LIFE_DAYS = 365.0
RANKED_MATCHES = 500
# A query the planner expects to match more papers than this is "common".
COMMON_MATCHES = 5000
# No one reads past a thousand results; counting stops there too.
MAX_RESULTS = 1000
SNIPPET_CHARS = 300
# Private-use characters: ts_headline and the fallback put them around
# matched words; nothing else in the output becomes markup.
MARK_START, MARK_STOP = "\ue000", "\ue001"
_MARKS_RE = re.compile(f"({MARK_START}|{MARK_STOP})")
_TERM_RE = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
_WORD_RE = re.compile(r"\w")


@dataclass(frozen=True)
class Search:
    """A search as the visitor asked for it, cleaned."""

    text: str
    topic: Topic | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"

    @property
    def empty(self) -> bool:
        return not _WORD_RE.search(self.text)


def query_clean(raw: str | None) -> str:
    """Visitor input as search text: one line, no control characters, bounded.
    Replacement characters (what undecodable bytes became) are no letters."""
    return text_clean((raw or "").replace("\ufffd", " "))[:MAX_QUERY_CHARS].strip()


def marked_html(text: str) -> SafeString:
    """``text`` escaped, with the spans between markers in ``<mark>``. Tags
    are always balanced, whatever markers the text itself may contain."""
    out: list[str] = []
    open_ = False
    for piece in _MARKS_RE.split(text or ""):
        if piece == MARK_START:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif piece == MARK_STOP:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(escape(piece))
    if open_:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped above


def _filtered(papers: QuerySet, search: Search) -> QuerySet:
    if search.topic is not None:
        papers = papers.filter(papertopic__topic=search.topic)
    if search.date_from:
        papers = papers.filter(featured_on__gte=search.date_from)
    if search.date_to:
        papers = papers.filter(featured_on__lte=search.date_to)
    return papers


def _days_since(today: date):
    featured = Coalesce(F("featured_on"), Value(today, output_field=DateField()))
    # date - date is a number of days on PostgreSQL.
    return Func(Value(today, output_field=DateField()), featured, arg_joiner=" - ",
                template="(%(expressions)s)::double precision", output_field=FloatField())


def _tsquery(search: Search) -> SearchQuery:
    return SearchQuery(search.text, search_type="websearch", config=CONFIG)


def _postgres(search: Search, *, today: date) -> tuple[QuerySet, QuerySet]:
    query = _tsquery(search)
    matches = _filtered(papers_visible().filter(search_vector=query), search)
    if search.sort == NEWEST:
        return matches, matches.order_by(*NEWEST_ORDER)
    score = (
        SearchRank(F("search_vector"), query)
        * (Value(1.0) + Value(ATTENTION_WEIGHT) * attention_sql())
        * Power(Value(0.5), _days_since(today) / Value(HALF_LIFE_DAYS))
    )
    # Ranking reads every match's vector: for a common word, tens of
    # thousands. Only the newest RANKED_MATCHES are ranked (recency weighs
    # in the score anyway), found the cheaper of two ways: for a common
    # query, walking the featured-date index meets them within a few
    # thousand rows; for a rarer one the GIN index finds every match and
    # they are sorted by date (an expression, so the planner does not walk
    # the date index testing row after row).
    if _estimated_rows(matches) >= COMMON_MATCHES:
        by_date = matches.order_by("-featured_on")
    else:
        by_date = matches.order_by(Coalesce(F("featured_on"), Value(date.min)).desc())
    newest = by_date.values("pk")[:RANKED_MATCHES]
    ranked = Paper.objects.filter(pk__in=newest).annotate(score=score).order_by("-score", *NEWEST_ORDER)
    return matches, ranked


def _estimated_rows(matches: QuerySet) -> float:
    """The planner's estimate of how many papers match (from the vector
    column's statistics): no row is read."""
    plan = json.loads(matches.order_by().explain(format="json"))
    return plan[0]["Plan"]["Plan Rows"]


def search_terms(text: str) -> tuple[list[str], list[str]]:
    """(wanted, excluded) words and phrases, for the fallback and its highlighting."""
    wanted: list[str] = []
    excluded: list[str] = []
    for match in _TERM_RE.finditer(text):
        negated = bool(match.group(1) or match.group(3))
        term = (match.group(2) if match.group(2) is not None else match.group(4)).strip()
        term = term.strip(".,;:!?()[]{}'\"")
        if not term or term.lower() == "or" or not _WORD_RE.search(term):
            continue
        (excluded if negated else wanted).append(term)
    return wanted, excluded


def _anywhere(term: str) -> Q:
    return (
        Q(title__icontains=term) | Q(abstract__icontains=term) | Q(ai_summary__icontains=term)
        | Q(authors__icontains=term) | Q(ai_keywords__icontains=term)
    )


def _fallback(search: Search) -> tuple[QuerySet, QuerySet]:
    wanted, excluded = search_terms(search.text)
    if not wanted:  # nothing to look for (only "or", or only -words)
        none = Paper.objects.none()
        return none, none
    matches = papers_visible()
    for term in wanted:
        matches = matches.filter(_anywhere(term))
    for term in excluded:
        matches = matches.exclude(_anywhere(term))
    matches = _filtered(matches, search)
    if search.sort == NEWEST:
        return matches, matches.order_by(*NEWEST_ORDER)
    in_title = Q()
    for term in wanted:
        in_title &= Q(title__icontains=term)
    ordered = matches.annotate(
        in_title=Case(When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField()),
        trending=attention_sql(),
    ).order_by("-in_title", "-trending", *NEWEST_ORDER)
    return matches, ordered


def papers_search(*, search: Search, today: date) -> tuple[QuerySet, QuerySet]:
    """(the matches, unordered: for counting; the matches in result order).
    An empty search matches nothing."""
    if search.empty:
        none = Paper.objects.none()
        return none, none
    if connection.vendor == "postgresql":
        return _postgres(search, today=today)
    return _fallback(search)


def _python_marks(text: str, terms: list[str]) -> str:
    if not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    return pattern.sub(lambda m: f"{MARK_START}{m.group()}{MARK_STOP}", text)


def _python_snippet(text: str, terms: list[str]) -> str:
    text = " ".join((text or "").split())
    lowered = text.lower()
    found = [lowered.find(t.lower()) for t in terms if t.lower() in lowered]
    start = max(min(found) - SNIPPET_CHARS // 3, 0) if found else 0
    snippet = text[start:start + SNIPPET_CHARS]
    return ("…" if start else "") + snippet + ("…" if start + SNIPPET_CHARS < len(text) else "")


def highlights(*, papers: list[Paper], search: Search) -> dict[int, tuple[SafeString, SafeString]]:
    """Paper pk -> its title and a snippet with the matches marked (one
    query on PostgreSQL: ``ts_headline`` for the page's papers only)."""
    if not papers:
        return {}
    if connection.vendor == "postgresql":
        query = _tsquery(search)
        options = {"config": CONFIG, "start_sel": MARK_START, "stop_sel": MARK_STOP}
        marked = {
            pk: (title, snippet)
            for pk, title, snippet in Paper.objects.filter(pk__in=[p.pk for p in papers]).annotate(
                title_marked=SearchHeadline("title", query, highlight_all=True, **options),
                snippet_marked=SearchHeadline(
                    "abstract", query, max_words=40, min_words=20, max_fragments=2,
                    fragment_delimiter=" … ", **options,
                ),
            ).values_list("pk", "title_marked", "snippet_marked")
        }
    else:
        wanted, _ = search_terms(search.text)
        marked = {
            p.pk: (_python_marks(p.title, wanted), _python_marks(_python_snippet(p.abstract, wanted), wanted))
            for p in papers
        }
    return {pk: (marked_html(title), marked_html(snippet)) for pk, (title, snippet) in marked.items()}
