"""One reader's email from the edition's ready parts: no template rendering,
no premailer, no database. Per reader we pick cards, fill the "why" lines,
sign three links and join strings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django.core.mail import EmailMultiAlternatives

from config.lib.emails import list_headers, message_build
from newsletter.digest.links import token_minter
from newsletter.digest.pool import EditionPool
from newsletter.digest.render import COMPACT, EditionParts, Fillable, MailConfig, clip, pool_labels
from newsletter.digest.selection import EDITORS_PICKS, MORE_FOR_YOU, Reader, Selection
from newsletter.digest.text import html_ascii, plain_words, text_wrap
from newsletter.feedback.links import feedback_links

DIGEST_TAG = "digest"
PREHEADER_LIMIT = 140
# A phone shows about 40 characters of a subject: the topics come first.
HEADLINE_LIMIT = 40
OVERVIEW_GROUPED_ABOVE = 5  # papers; fewer read fine as one list


@dataclass(frozen=True, slots=True)
class Links:
    web_url: str
    preferences_url: str
    unsubscribe_url: str
    unsubscribe_token: str  # named in the List-Unsubscribe mailto: (empty in previews)
    rate_url: str  # "Rate these papers"
    feedback_prefix: str  # each paper's "More/Less like this" starts with it


def reader_links(*, reader: Reader, pool: EditionPool, mail: MailConfig) -> Links:
    """Signed, stateless links for one reader (the unsubscribe token also goes
    into the List-Unsubscribe mailto:)."""
    site = mail.site_url
    day = pool.last.isoformat()
    unsubscribe, preferences, digest, feedback_token = token_minter(
        "unsubscribe", "preferences", "digest", "feedback", secret=mail.secret_key, scopes=("", "", "", day)
    ).mint(reader)
    feedback = feedback_links(token=feedback_token, day=day, site_url=site)
    return Links(
        rate_url=feedback.rate_url,
        feedback_prefix=feedback.prefix,
        web_url=f"{site}/digests/{day}/{digest}/",
        preferences_url=f"{site}/preferences/{preferences}/",
        unsubscribe_url=f"{site}/unsubscribe/{unsubscribe}/",
        unsubscribe_token=unsubscribe,
    )


# What previews and test copies carry where a reader's signed token goes: a
# link of the right shape that opens nobody's pages.
PREVIEW_PLACEHOLDER = "preview-link"


def preview_links(*, pool: EditionPool, mail: MailConfig) -> Links:
    """``reader_links`` with inert placeholders for every token: what an
    editor's preview or test copy shows, so it never hands out a reader's
    preferences, unsubscribe, web-copy or feedback links."""
    site, day, slot = mail.site_url, pool.last.isoformat(), PREVIEW_PLACEHOLDER
    feedback = feedback_links(token=slot, day=day, site_url=site)
    return Links(
        rate_url=feedback.rate_url, feedback_prefix=feedback.prefix, web_url=f"{site}/digests/{day}/{slot}/",
        preferences_url=f"{site}/preferences/{slot}/", unsubscribe_url=f"{site}/unsubscribe/{slot}/",
        unsubscribe_token="",
    )


def reader_why_text(*, reader: Reader, pool: EditionPool, site_name: str) -> str:
    """The footer's "why you got this"."""
    names = [pool.topic_names[t] for t in sorted(reader.topic_ids) if t in pool.topic_names]
    follows = []
    if names:
        follows.append("the topics " + ", ".join(names))
    if reader.keywords:
        follows.append("the keywords " + ", ".join(f"'{k}'" for k in reader.keywords))
    what = " and ".join(follows) if follows else "every topic (you have not picked any)"
    how = "a weekly" if reader.weekly else "a daily"
    return f"you subscribed to {how} digest of {site_name} and follow {what}."


def _fill(template: Fillable, values: dict[str, str], lists: dict[str, list[str]] | None = None) -> str:
    """Join the template's pieces with the values in its slots; a slot named
    in ``lists`` takes a list of pieces. One join, one copy of the text."""
    pieces = template.pieces
    out: list[str] = []
    last = 0
    for position, name in template.slots:
        out += pieces[last:position]
        if lists is not None and name in lists:
            out += lists[name]
        else:
            out.append(values[name])
        last = position + 1
    out += pieces[last:]
    return "".join(out)


def headline(*, pool: EditionPool, selection: Selection) -> str:
    """The subject's first words: what the papers are about, strongest
    first, then how many more (``"Speculative decoding, KV cache + 8 more"``:
    each label named stands for its best paper). As many distinct labels as
    fit in ``HEADLINE_LIMIT`` characters, at least one."""
    labels: list[str] = []
    # The reader's own topics and keywords before an editor's pick's.
    ordered = sorted(selection.for_you, key=lambda pick: pick.group == EDITORS_PICKS)
    for pick in ordered:
        label = pick.label or plain_words(pool.papers[pick.index].title)
        if label.lower() in {known.lower() for known in labels}:
            continue
        if labels and len(", ".join([*labels, label])) > HEADLINE_LIMIT:
            break
        labels.append(clip(label, HEADLINE_LIMIT))
    more = len(selection.picks) - len(labels)
    return ", ".join(labels) + (f" + {more} more" if more > 0 else "")


def preheader(*, pool: EditionPool, selection: Selection) -> str:
    """The inbox's second line: the top paper by name, then the count."""
    lead = plain_words(pool.papers[selection.for_you[0].index].title)
    others = len(selection.for_you) - 1
    tail = [f"{others} more for you"] if others else []
    if selection.trending:
        tail.append(f"{len(selection.trending)} trending")
    text = f"Top: {lead}" + (f" · and {', '.join(tail)}" if tail else "")
    return clip(text, PREHEADER_LIMIT)


def digest_groups(*, selection: Selection, grouped: bool) -> tuple[list, list]:
    """(overview, for you) as entries: a heading (str) or a pick, in order.
    Grouped: by the pick's group, groups in the order of their best paper."""
    if not grouped:
        return list(selection.for_you), list(selection.for_you)
    groups: dict[str, list] = {}
    for pick in selection.for_you:
        groups.setdefault(pick.group or MORE_FOR_YOU, []).append(pick)
    entries: list = []
    for label, picks in groups.items():
        entries.append(label)
        entries += picks
    return entries, entries


def digest_layout(*, pool: EditionPool, selection: Selection, digest_format: str) -> tuple[list, list]:
    """The overview and "For you" entries (see ``digest_groups``): the
    overview is grouped by topic above ``OVERVIEW_GROUPED_ABOVE`` papers, a
    weekly digest's papers always; trending papers close the overview."""
    weekly = not pool.is_single_day
    grouped = weekly or len(selection.picks) > OVERVIEW_GROUPED_ABOVE
    overview, _ = digest_groups(selection=selection, grouped=grouped)
    _, for_you = digest_groups(selection=selection, grouped=weekly)
    if digest_format == COMPACT:
        overview = []
    elif selection.trending:
        overview = [*overview, pool_labels(pool)["trending_title"], *selection.trending]
    return overview, for_you


@dataclass(frozen=True, slots=True)
class _Sections:
    """What a selection contributes to an email: its subject words, and its
    overview and paper cards as lists of ready pieces (references to the
    edition's strings, so keeping them on a shared selection costs a few
    hundred bytes)."""

    headline: str
    preheader: str
    preheader_html: str
    overview_html: list[str]
    overview_text: list[str]
    for_you_html: list[str]
    for_you_text: list[str]
    trending_html: list[str]
    trending_text: list[str]
    # Positions in the lists above where the reader's feedback link prefix goes.
    for_you_html_links: list[int]
    for_you_text_links: list[int]
    trending_html_links: list[int]
    trending_text_links: list[int]


def _sections(*, pool: EditionPool, parts: EditionParts, selection: Selection) -> _Sections:
    key = ("sections", parts.digest_format)
    cached = selection.rendered.get(key)
    if cached is not None and cached[0] is parts:
        return cached[1]
    cards_html, cards_text = parts.cards_html, parts.cards_text
    overview, for_you = digest_layout(pool=pool, selection=selection, digest_format=parts.digest_format)

    def card(out: list[str], links: list[int], before: str, why: str, after: tuple[str, ...]) -> None:
        # after = (piece, piece, ...): the reader's link prefix goes between pieces.
        out += (before, why, after[0])
        for piece in after[1:]:
            links.append(len(out))
            out += ("", piece)

    def pieces(entries) -> tuple[list[str], list[str], list[int], list[int]]:
        html: list[str] = []
        text: list[str] = []
        html_links: list[int] = []
        text_links: list[int] = []
        for entry in entries:
            if isinstance(entry, str):
                html.append(parts.groups_html.get(entry) or parts.groups_html[MORE_FOR_YOU])
                text.append(parts.groups_text.get(entry) or parts.groups_text[MORE_FOR_YOU])
                continue
            before, after = cards_html[entry.index]
            card(html, html_links, before, entry.why_html, after)
            before, after = cards_text[entry.index]
            card(text, text_links, before, entry.why_text, after)
            text.append("\n")
        return html, text, html_links, text_links

    overview_html = [parts.groups_html.get(e) or parts.groups_html[MORE_FOR_YOU] if isinstance(e, str)
                     else parts.toc_html[e.index] for e in overview]
    overview_text = [parts.groups_text.get(e) or parts.groups_text[MORE_FOR_YOU] if isinstance(e, str)
                     else parts.toc_text[e.index] for e in overview]
    for_you_html, for_you_text, for_you_html_links, for_you_text_links = pieces(for_you)
    trending_html, trending_text, trending_html_links, trending_text_links = pieces(selection.trending)
    words = preheader(pool=pool, selection=selection)
    sections = _Sections(
        headline=headline(pool=pool, selection=selection),
        preheader=words,
        preheader_html=html_ascii(escape(words, quote=False)),
        overview_html=overview_html,
        overview_text=overview_text,
        for_you_html=for_you_html,
        for_you_text=for_you_text,
        trending_html=trending_html,
        trending_text=trending_text,
        for_you_html_links=for_you_html_links,
        for_you_text_links=for_you_text_links,
        trending_html_links=trending_html_links,
        trending_text_links=trending_text_links,
    )
    if selection.shared:
        selection.rendered[key] = (parts, sections)
    return sections


def _with_links(pieces: list[str], positions: list[int], prefix: str) -> list[str]:
    """A section's pieces with the reader's feedback link prefix filled in:
    a list copy and a few stores (the shared pieces stay untouched)."""
    out = pieces.copy()
    for position in positions:
        out[position] = prefix
    return out


@lru_cache(maxsize=4096)
def why_lines(why_text: str) -> str:
    """The footer's "why you got this", wrapped for the text part."""
    # Readers share profiles, so a few thousand lines serve most of them.
    return text_wrap(f"Why you got this: {why_text}")


def digest_values(
    *, pool: EditionPool, reader: Reader, selection: Selection, links: Links, mail: MailConfig
) -> dict[str, str]:
    """Per-reader plain-text values (subject words, preheader, links, why),
    for the reference full render."""
    why_text = reader_why_text(reader=reader, pool=pool, site_name=mail.site_name)
    return {
        "headline": headline(pool=pool, selection=selection),
        "preheader": preheader(pool=pool, selection=selection),
        "web_url": links.web_url,
        "preferences_url": links.preferences_url,
        "unsubscribe_url": links.unsubscribe_url,
        "why_text": why_text,
        "why_lines": why_lines(why_text),
        "rate_url": links.rate_url,
        "feedback_prefix": links.feedback_prefix,
    }


def digest_subject(*, parts: EditionParts, values: dict[str, str]) -> str:
    return _fill(parts.subject, values)


def digest_message(
    *, mail: MailConfig, reader: Reader, subject: str, text: str, html: str, links: Links,
    edition: str, delivery_id: int | None,
) -> EmailMultiAlternatives:
    """The message object with its list headers, tags, metadata and bulk options."""
    metadata = {"edition": edition, "subscriber_id": str(reader.pk)}
    if delivery_id is not None:
        metadata["delivery_id"] = str(delivery_id)
    return message_build(
        subject=subject, text=text, html=html, to=reader.email, from_email=mail.from_email,
        headers=list_headers(unsubscribe_url=links.unsubscribe_url, token=links.unsubscribe_token,
                             mailbox=mail.unsubscribe_mailbox, list_id=mail.list_id),
        tags=[DIGEST_TAG], metadata=metadata, options=mail.bulk_options,
    )


def digest_assemble(
    *,
    pool: EditionPool,
    parts: EditionParts,
    reader: Reader,
    selection: Selection,
    delivery_id: int | None = None,
    placeholder_links: bool = False,
) -> EmailMultiAlternatives:
    """The ready-to-send message for one reader: subject, text and HTML parts,
    list headers, anymail tags and metadata (with the delivery id, so provider
    events map back to it). Pure string work: sends nothing, reads nothing,
    so previews and web copies use it too (previews with
    ``placeholder_links``: ``preview_links``). ``selection`` must not be empty."""
    if selection.empty:
        raise ValueError("an empty selection has no email")
    mail = parts.mail
    if placeholder_links:
        links = preview_links(pool=pool, mail=mail)
    else:
        links = reader_links(reader=reader, pool=pool, mail=mail)
    sections = _sections(pool=pool, parts=parts, selection=selection)
    why_text = reader_why_text(reader=reader, pool=pool, site_name=mail.site_name)
    subject = digest_subject(parts=parts, values={"headline": sections.headline})
    # Text nodes need only <, > and & escaped (what the template engine's
    # output looks like after lxml); links are base64url tokens under SITE_URL.
    values = {
        "subject": subject, "preheader": sections.preheader, "why_lines": why_lines(why_text),
        "web_url": links.web_url, "preferences_url": links.preferences_url,
        "unsubscribe_url": links.unsubscribe_url, "rate_url": links.rate_url,
    }
    html_values = {
        "subject": html_ascii(escape(subject, quote=False)), "preheader": sections.preheader_html,
        "why_text": html_ascii(escape(why_text, quote=False)),
        "web_url": escape(links.web_url), "preferences_url": escape(links.preferences_url),
        "unsubscribe_url": escape(links.unsubscribe_url), "rate_url": escape(links.rate_url),
    }
    variant = 1 if selection.trending else 0
    prefix = links.feedback_prefix  # base64url, ":" and the site URL: nothing to escape
    text = _fill(parts.text[variant], values, {
        "overview": sections.overview_text,
        "for_you": _with_links(sections.for_you_text, sections.for_you_text_links, prefix),
        "trending": _with_links(sections.trending_text, sections.trending_text_links, prefix),
    })
    html = _fill(parts.html[variant], html_values, {
        "overview": sections.overview_html,
        "for_you": _with_links(sections.for_you_html, sections.for_you_html_links, prefix),
        "trending": _with_links(sections.trending_html, sections.trending_html_links, prefix),
    })
    return digest_message(
        mail=mail, reader=reader, subject=subject, links=links, edition=pool.last.isoformat(),
        text=text, html=html, delivery_id=delivery_id,
    )
