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
from newsletter.digest.text import html_ascii

# Per-reader values, filled in by assemble.py.
READER_SLOTS = (
    "subject", "preheader", "web_url", "preferences_url", "unsubscribe_url", "why_text", "rate_url",
)
BLOCK_SLOTS = ("for_you", "trending", "if_trending", "end_trending")
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


@dataclass(frozen=True, slots=True)
class Card:
    """What a paper card shows, with every field ready to print."""

    arxiv_id: str
    title: str
    hf_url: str
    abs_url: str
    pdf_url: str
    authors: str
    excerpt: str
    stats: str
    github_url: str
    stars: str
    project_url: str
    topics: str
    topic_names: tuple[str, ...]


def _count(n: int) -> str:
    return f"{n / 1000:.1f}k".replace(".0k", "k") if n >= 1000 else str(n)


def paper_card(paper: PoolPaper) -> Card:
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    stats = []
    if paper.upvotes:
        stats.append(f"▲ {paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if paper.num_comments:
        stats.append(f"💬 {paper.num_comments} comment{'s' if paper.num_comments != 1 else ''}")
    names = tuple(name for _, name, _, _ in paper.topics)
    return Card(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        hf_url=paper.hf_url,
        abs_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        authors=authors,
        excerpt=paper.excerpt,
        stats=" · ".join(stats),
        github_url=paper.github_repo,
        stars=_count(paper.github_stars) if paper.github_stars else "",
        project_url=paper.project_page,
        topics=", ".join(names),
        topic_names=names,
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


def _base_context(pool: EditionPool) -> dict:
    return {
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
    """Everything per-reader assembly joins. ``html`` and ``text`` come in two
    variants: without and with the "Also trending" section."""

    html: tuple[Fillable, Fillable]
    text: tuple[Fillable, Fillable]
    # Per paper: the card before its "why", and after it, cut where the
    # reader's feedback link prefix goes.
    cards_html: tuple[tuple[str, tuple[str, ...]], ...]
    cards_text: tuple[tuple[str, tuple[str, ...]], ...]
    subject: Fillable
    mail: MailConfig


def _markers(nonce: str) -> tuple[dict, dict, dict]:
    html_blocks = {name: mark_safe(f"<!--DP{nonce}:{name}-->") for name in BLOCK_SLOTS}  # noqa: S308
    text_blocks = {name: f"__DP{nonce}_{name}__" for name in BLOCK_SLOTS}
    values = {name: f"__DP{nonce}_{name}__" for name in READER_SLOTS}
    return html_blocks, text_blocks, values


def _cards_inline(cards_html: list[str], css: str) -> list[str]:
    """Inline all cards in one premailer run and cut them apart again."""
    if not cards_html:
        return []
    sep = f"<!--{CARD_SEPARATOR}-->"
    doc = (
        f"<html><head><style>{css}</style></head><body><table><tr><td class=\"cards\">"
        + sep.join(cards_html)
        + "</td></tr></table></body></html>"
    )
    inlined = _inline(doc)
    inner = inlined.split('<td class="cards"', 1)[1].split(">", 1)[1].rsplit("</td></tr></table>", 1)[0]
    pieces = inner.split(sep)
    if len(pieces) != len(cards_html):
        raise RuntimeError("paper cards could not be split after inlining")
    return pieces


def parts_build(*, pool: EditionPool, mail: MailConfig | None = None) -> EditionParts:
    """Render and inline the edition once (two premailer runs in all)."""
    mail = mail or mail_config()
    nonce = secrets.token_hex(6)
    html_blocks, text_blocks, values = _markers(nonce)
    why = f"__DP{nonce}_why__"
    feedback = f"__DP{nonce}_feedback__"
    base = _base_context(pool)

    html = _inline(render_to_string("emails/digest-body.html", {**base, **values, "slots": html_blocks}))
    text = render_to_string("emails/digest-body.txt", {**base, **values, "slots": text_blocks})

    cards = [paper_card(paper) for paper in pool.papers]
    css = render_to_string("emails/digest-style.css")
    cards_html = _cards_inline(
        [render_to_string("emails/digest-paper.html", {"card": c, "why": why, "feedback_prefix": feedback})
         for c in cards], css
    )
    cards_text = [
        render_to_string("emails/digest-paper.txt", {"card": c, "why": why, "feedback_prefix": feedback})
        for c in cards
    ]
    subject = render_to_string(
        "emails/digest-subject.txt", {**base, "lead_title": f"__DP{nonce}_lead_title__"}
    ).strip()

    def halves(rendered: str) -> tuple[str, tuple[str, ...]]:
        before, found, after = rendered.partition(why)
        if not found:
            raise RuntimeError("a paper card lost its 'why' slot")
        return before, tuple(after.split(feedback))

    return EditionParts(
        html=_variants(_split(html, nonce)),
        text=_variants(_split(text, nonce)),
        cards_html=tuple(halves(c) for c in cards_html),
        cards_text=tuple(halves(c) for c in cards_text),
        subject=_fillable(_split(subject, nonce), keep_trending=False),
        mail=mail,
    )


def parts_get(*, pool: EditionPool) -> EditionParts:
    """The pool's parts, built on first use (and again if the site settings
    changed); one build per pool even with several threads."""
    mail = mail_config()
    parts = pool.parts
    if parts is None or parts.mail != mail:
        with pool.lock:
            if pool.parts is None or pool.parts.mail != mail:
                pool.parts = parts_build(pool=pool, mail=mail)
            parts = pool.parts
    return parts  # type: ignore[return-value]


def digest_render_naive(*, pool: EditionPool, picks_for_you, picks_trending, values: dict) -> tuple[str, str]:
    """The reference path: full templates rendered and inlined for one reader.
    Returns (html, text). Used by the benchmark and to check the fast path."""
    cards = {pick.index: paper_card(pool.papers[pick.index]) for pick in (*picks_for_you, *picks_trending)}
    context = {
        **_base_context(pool),
        **values,
        "slots": {},
        "for_you": [{"card": cards[p.index], "why": p.why} for p in picks_for_you],
        "trending": [{"card": cards[p.index], "why": p.why} for p in picks_trending],
    }
    html = _inline(render_to_string("emails/digest-body.html", context))
    text = render_to_string("emails/digest-body.txt", context)
    return html, text
