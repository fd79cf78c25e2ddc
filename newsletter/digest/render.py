"""Render and inline once per edition; split into ready parts.

premailer is slow (milliseconds per document), so it never runs per reader.
For an edition pool we render the email skeleton and every paper card once,
with unguessable slot markers where per-reader content goes, inline the CSS
(skeleton: one premailer run; all cards: one more), and split the results at
the markers. Assembling a reader's email is then joining strings.

The same templates, rendered in full per reader and inlined (``digest_render_naive``),
give the reference output: the benchmark measures against it and a test
checks both paths agree.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from config.lib.emails import css_inline, list_id, list_unsubscribe_mailbox
from config.mail import bulk_message_options
from newsletter.digest.pool import EditionPool, PoolPaper
from newsletter.digest.selection import EDITORS_PICKS, KEYWORDS_GROUP, MORE_FOR_YOU
from newsletter.digest.text import TEXT_WIDTH, html_ascii, text_wrap

# Per-reader values, filled in by assemble.py.
READER_SLOTS = (
    "subject", "preheader", "web_url", "preferences_url", "unsubscribe_url", "why_text", "why_lines",
    "rate_url",
)
BLOCK_SLOTS = ("overview", "for_you", "trending", "if_trending", "end_trending")
CARD_SEPARATOR = "DP-CARD-BREAK"
# Invisible filler after the preheader so clients do not pad the preview
# with the first lines of the body.
PREHEADER_FILL = mark_safe("&#847;&zwnj;&nbsp;" * 40)  # noqa: S308 (a constant)

# Counts premailer runs, so a test can prove it is once per edition, not per reader.
inline_runs = 0


def _inline(html: str) -> str:
    global inline_runs
    inline_runs += 1
    # ASCII only (unlike the account emails): these parts are joined per reader.
    return html_ascii(css_inline(html))


# The two layouts a reader chooses between (Subscriber.DigestFormat).
FULL, COMPACT = "full", "compact"
FORMATS = (FULL, COMPACT)
TOC_TITLE_LIMIT = 64  # "In this issue": one short line per paper


@dataclass(frozen=True, slots=True)
class Card:
    """What a paper card shows, with every field ready to print."""

    arxiv_id: str
    anchor: str  # the card's id, which "In this issue" links to
    title: str
    title_short: str
    page_url: str  # the paper's page on our site
    hf_url: str
    abs_url: str
    pdf_url: str
    authors: str
    excerpt: str
    stats: str
    counts: str  # "▲ 50 upvotes · 💬 3 comments · ★ 1.2k stars", and the day in weekly digests
    counts_short: str  # "▲ 50 · 💬 3 · ★ 1.2k", after the day in weekly digests
    links: tuple[tuple[str, str], ...]  # (label, url): arXiv, PDF, code, project; no URL twice
    github_url: str
    stars: str
    project_url: str
    topics: str
    topic_names: tuple[str, ...]
    pinned: bool
    # The text part's lines, wrapped.
    title_text: str
    authors_text: str
    counts_text: str
    excerpt_text: str
    links_text: str


def _count(n: int) -> str:
    return f"{n / 1000:.1f}k".replace(".0k", "k") if n >= 1000 else str(n)


def clip(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _plural(n: int, word: str) -> str:
    return f"{_count(n)} {word}{'s' if n != 1 else ''}"


def _text_link(label: str, url: str) -> str:
    line = f"{label}: {url}"
    return line if len(line) <= TEXT_WIDTH else f"{label}:\n{url}"


def paper_card(paper: PoolPaper, *, site_url: str = "", day_shown: bool = False) -> Card:
    """A paper as a card; ``day_shown``: a weekly digest says the day it trended."""
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    stats, short = [], []
    if paper.upvotes:
        stats.append(f"▲ {_plural(paper.upvotes, 'upvote')}")
        short.append(f"▲ {_count(paper.upvotes)}")
    if paper.num_comments:
        stats.append(f"💬 {_plural(paper.num_comments, 'comment')}")
        short.append(f"💬 {_count(paper.num_comments)}")
    stars = _count(paper.github_stars) if paper.github_stars else ""
    counts = list(stats)
    if stars and paper.github_repo:
        counts.append(f"★ {_plural(paper.github_stars or 0, 'star')}")
        short.append(f"★ {stars}")
    if day_shown and paper.featured_on is not None:
        day = paper.featured_on
        counts.insert(0, f"Trended {day:%a} {day.day} {day:%b}")
        short.insert(0, f"{day:%a} {day.day} {day:%b}")
    links: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label, url in (("arXiv", paper.abs_url), ("PDF", paper.pdf_url), ("Code", paper.github_repo),
                       ("Project", paper.project_page)):
        key = url.rstrip("/").lower()
        if url and key not in seen:
            seen.add(key)
            links.append((label, url))
    names = tuple(name for _, name, _, _ in paper.topics)
    page_url = f"{site_url}/papers/{paper.arxiv_id}/"
    return Card(
        arxiv_id=paper.arxiv_id,
        anchor="p-" + re.sub(r"[^A-Za-z0-9]", "-", paper.arxiv_id),
        title=paper.title,
        title_short=clip(paper.title, TOC_TITLE_LIMIT),
        page_url=page_url,
        hf_url=paper.hf_url,
        abs_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        authors=authors,
        excerpt=paper.excerpt,
        stats=" · ".join(stats),
        counts=" · ".join(counts),
        counts_short=" · ".join(short),
        links=tuple(links),
        github_url=paper.github_repo,
        stars=stars,
        project_url=paper.project_page,
        topics=", ".join(names),
        topic_names=names,
        pinned=paper.pinned,
        title_text=text_wrap(paper.title),
        authors_text=text_wrap(authors),
        counts_text=text_wrap(" · ".join(counts)),
        excerpt_text=text_wrap(paper.excerpt),
        links_text="\n".join(_text_link(label, url) for label, url in [("Read", page_url), *links]),
    )


def pool_labels(pool: EditionPool) -> dict:
    """Edition-wide wording: date line, subject date, trending title."""
    last = pool.last
    if pool.is_single_day:
        return {
            "dateline": f"{last:%A} {last.day} {last:%B %Y}",
            "short_date": f"{last:%a} {last.day} {last:%b}",
            "trending_title": "Also trending today",
        }
    first = pool.first
    span = f"{first.day} {first:%b}" if first.month != last.month else f"{first.day}"
    return {
        "dateline": f"Your week: {span}–{last.day} {last:%B %Y}",
        "short_date": f"week of {first.day} {first:%b}",
        "trending_title": "Also trending this week",
    }


def _base_context(pool: EditionPool, digest_format: str = FULL) -> dict:
    return {
        "compact": digest_format == COMPACT,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "postal_address": settings.POSTAL_ADDRESS,
        "note": pool.note,
        "preheader_fill": PREHEADER_FILL,
        **pool_labels(pool),
    }


def _split(text: str, nonce: str) -> tuple[str, ...]:
    """``"a<!--DPn:x-->b__DPn_y__c"`` -> ``("a", "x", "b", "y", "c")``."""
    pattern = re.compile(rf"<!--DP{nonce}:(\w+)-->|__DP{nonce}_(\w+?)__")
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        out.append(text[position:match.start()])
        out.append(match.group(1) or match.group(2))
        position = match.end()
    out.append(text[position:])
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Fillable:
    """A split template: ``pieces`` with placeholders at ``slots`` positions
    (position, slot name). Filling is a list copy, a few stores and a join."""

    pieces: tuple[str, ...]
    slots: tuple[tuple[int, str], ...]


def _fillable(sequence: tuple[str, ...], *, keep_trending: bool) -> Fillable:
    """From ``_split`` output; the trending section is kept or cut out."""
    pieces: list[str] = []
    slots: list[tuple[int, str]] = []
    skipping = False
    for position, piece in enumerate(sequence):
        if position % 2 == 0:
            if not skipping:
                pieces.append(piece)
        elif piece == "if_trending":
            skipping = not keep_trending
        elif piece == "end_trending":
            skipping = False
        elif not skipping:
            slots.append((len(pieces), piece))
            pieces.append("")
    return Fillable(pieces=tuple(pieces), slots=tuple(slots))


def _variants(sequence: tuple[str, ...]) -> tuple[Fillable, Fillable]:
    """(without the trending section, with it)."""
    return _fillable(sequence, keep_trending=False), _fillable(sequence, keep_trending=True)


@dataclass(frozen=True, slots=True)
class MailConfig:
    """The settings assembly needs, read once per edition rather than per reader."""

    site_url: str
    site_name: str
    from_email: str
    postal_address: str
    secret_key: str
    list_id: str
    unsubscribe_mailbox: str
    bulk_options: tuple[tuple[str, object], ...]


_mail_config: MailConfig | None = None


@receiver(setting_changed)
def _mail_config_forget(**kwargs) -> None:
    global _mail_config  # a cache of settings, dropped when they change
    _mail_config = None


def mail_config() -> MailConfig:
    """The settings the emails use. Read once per process (per message it
    cost as much as a quarter of the assembly); forgotten when a setting
    changes (tests)."""
    global _mail_config
    if _mail_config is None:
        _mail_config = _mail_config_read()
    return _mail_config


def _mail_config_read() -> MailConfig:
    return MailConfig(
        site_url=settings.SITE_URL,
        site_name=settings.SITE_NAME,
        from_email=settings.DEFAULT_FROM_EMAIL,
        postal_address=settings.POSTAL_ADDRESS,
        secret_key=settings.SECRET_KEY,
        list_id=list_id(),
        unsubscribe_mailbox=list_unsubscribe_mailbox(),
        bulk_options=tuple(bulk_message_options().items()),
    )


@dataclass(frozen=True, slots=True)
class EditionParts:
    """Everything per-reader assembly joins, for one format. ``html`` and
    ``text`` come in two variants: without and with the "Also trending" section."""

    digest_format: str
    html: tuple[Fillable, Fillable]
    text: tuple[Fillable, Fillable]
    # Per paper: the card before its "why", and after it, cut where the
    # reader's feedback link prefix goes.
    cards_html: tuple[tuple[str, tuple[str, ...]], ...]
    cards_text: tuple[tuple[str, tuple[str, ...]], ...]
    # Per paper: its line in "In this issue" (full format only).
    toc_html: tuple[str, ...]
    toc_text: tuple[str, ...]
    # Group heading -> its piece (the topics' names, the editor's picks...).
    groups_html: dict[str, str]
    groups_text: dict[str, str]
    subject: Fillable
    mail: MailConfig


def _markers(nonce: str) -> tuple[dict, dict, dict]:
    html_blocks = {name: mark_safe(f"<!--DP{nonce}:{name}-->") for name in BLOCK_SLOTS}  # noqa: S308
    text_blocks = {name: f"__DP{nonce}_{name}__" for name in BLOCK_SLOTS}
    values = {name: f"__DP{nonce}_{name}__" for name in READER_SLOTS}
    return html_blocks, text_blocks, values


def _fragments_inline(fragments: list[str], css: str) -> list[str]:
    """Inline all fragments (cards, overview lines, headings) in one premailer
    run and cut them apart again."""
    if not fragments:
        return []
    sep = f"<!--{CARD_SEPARATOR}-->"
    doc = (
        f"<html><head><style>{css}</style></head><body><table><tr><td class=\"cards\">"
        + sep.join(fragments)
        + "</td></tr></table></body></html>"
    )
    inlined = _inline(doc)
    inner = inlined.split('<td class="cards"', 1)[1].split(">", 1)[1].rsplit("</td></tr></table>", 1)[0]
    pieces = inner.split(sep)
    if len(pieces) != len(fragments):
        raise RuntimeError("paper cards could not be split after inlining")
    return pieces


def card_templates(digest_format: str) -> tuple[str, str]:
    """(HTML, text) template of one paper in ``digest_format``."""
    if digest_format == COMPACT:
        return "emails/digest-paper-compact.html", "emails/digest-paper-compact.txt"
    return "emails/digest-paper.html", "emails/digest-paper.txt"


def group_labels(pool: EditionPool) -> list[str]:
    """Every heading a digest of this pool may show: what parts are made of."""
    return [EDITORS_PICKS, *pool.topic_names.values(), KEYWORDS_GROUP, MORE_FOR_YOU,
            pool_labels(pool)["trending_title"]]


def pool_cards(pool: EditionPool, *, site_url: str) -> list[Card]:
    return [paper_card(p, site_url=site_url, day_shown=not pool.is_single_day) for p in pool.papers]


def parts_build(
    *, pool: EditionPool, mail: MailConfig | None = None, digest_format: str = FULL
) -> EditionParts:
    """Render and inline the edition once in ``digest_format`` (two premailer runs in all)."""
    if digest_format not in FORMATS:
        raise ValueError(f"unknown digest format {digest_format!r}")
    mail = mail or mail_config()
    nonce = secrets.token_hex(6)
    html_blocks, text_blocks, values = _markers(nonce)
    why = f"__DP{nonce}_why__"
    feedback = f"__DP{nonce}_feedback__"
    base = _base_context(pool, digest_format)

    html = _inline(render_to_string("emails/digest-body.html", {**base, **values, "slots": html_blocks}))
    text = render_to_string("emails/digest-body.txt", {**base, **values, "slots": text_blocks})

    cards = pool_cards(pool, site_url=mail.site_url)
    card_html, card_text = card_templates(digest_format)
    labels = list(dict.fromkeys(group_labels(pool)))
    full = digest_format == FULL
    css = render_to_string("emails/digest-style.css")
    fragments = [
        *(render_to_string(card_html, {"card": c, "why": why, "feedback_prefix": feedback}) for c in cards),
        *(render_to_string("emails/digest-toc.html", {"card": c}) for c in (cards if full else ())),
        *(render_to_string("emails/digest-group.html", {"label": label}) for label in labels),
    ]
    inlined = _fragments_inline(fragments, css)
    n = len(cards)
    cards_html, toc_html = inlined[:n], inlined[n:2 * n] if full else [""] * n
    groups_html = dict(zip(labels, inlined[2 * n if full else n:], strict=True))
    cards_text = [
        render_to_string(card_text, {"card": c, "why_text": why, "feedback_prefix": feedback}) for c in cards
    ]
    toc_text = [render_to_string("emails/digest-toc.txt", {"card": c}) if full else "" for c in cards]
    groups_text = {label: render_to_string("emails/digest-group.txt", {"label": label}) for label in labels}
    subject = render_to_string(
        "emails/digest-subject.txt", {**base, "headline": f"__DP{nonce}_headline__"}
    ).strip()

    def halves(rendered: str) -> tuple[str, tuple[str, ...]]:
        before, found, after = rendered.partition(why)
        if not found:
            raise RuntimeError("a paper card lost its 'why' slot")
        return before, tuple(after.split(feedback))

    return EditionParts(
        digest_format=digest_format,
        html=_variants(_split(html, nonce)),
        text=_variants(_split(text, nonce)),
        cards_html=tuple(halves(c) for c in cards_html),
        cards_text=tuple(halves(c) for c in cards_text),
        toc_html=tuple(toc_html),
        toc_text=tuple(toc_text),
        groups_html=groups_html,
        groups_text=groups_text,
        subject=_fillable(_split(subject, nonce), keep_trending=False),
        mail=mail,
    )


def parts_get(*, pool: EditionPool, digest_format: str = FULL) -> EditionParts:
    """The pool's parts in ``digest_format``, built on first use (and again if
    the site settings changed); one build per pool and format even with
    several threads."""
    mail = mail_config()
    parts = pool.parts.get(digest_format)
    if parts is None or parts.mail != mail:
        with pool.lock:
            parts = pool.parts.get(digest_format)
            if parts is None or parts.mail != mail:
                parts = parts_build(pool=pool, mail=mail, digest_format=digest_format)
                pool.parts[digest_format] = parts
    return parts


def digest_render_naive(
    *, pool: EditionPool, overview: list, for_you: list, trending: list, values: dict,
    digest_format: str = FULL,
) -> tuple[str, str]:
    """The reference path: full templates rendered and inlined for one reader.
    ``overview``, ``for_you`` and ``trending`` are lists of entries: a
    heading (a label, str) or a pick. Returns (html, text). Used by the
    benchmark and to check the fast path."""
    cards = pool_cards(pool, site_url=values.get("site_url") or mail_config().site_url)

    def entries(items):
        return [{"group": item} if isinstance(item, str) else
                {"card": cards[item.index], "why": item.why, "why_text": item.why_text} for item in items]

    card_html, card_text = card_templates(digest_format)
    context = {
        **_base_context(pool, digest_format),
        **values,
        "slots": {},
        "card_html": card_html,
        "card_text": card_text,
        "overview": entries(overview),
        "for_you": entries(for_you),
        "trending": entries(trending),
    }
    html = _inline(render_to_string("emails/digest-body.html", context))
    text = render_to_string("emails/digest-body.txt", context)
    return html, text
