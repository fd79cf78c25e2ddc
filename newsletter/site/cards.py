"""What a paper card prints, made ready in Python: every list of the site
shows its papers through one template (``newsletter/_cards.html``), and
reversing each link inside it was half of a list's rendering time. Here each
distinct link is reversed once per list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.safestring import SafeString

from newsletter.models import Paper

AUTHORS_SHOWN = 5


@dataclass(slots=True)
class Card:
    paper: Paper
    url: str
    day_url: str
    authors: str
    topics: list[tuple[str, str]]  # (name, link), best first
    title_html: SafeString | None = None  # search: the title with matches marked
    snippet_html: SafeString | None = None  # search: where the matches are


def cards_of(papers: Iterable[Paper], *, marks: dict | None = None) -> list[Card]:
    """Cards for papers whose ``topic_links`` are prefetched; ``marks`` maps
    a paper's pk to its highlighted (title, snippet)."""
    links: dict[tuple[str, object], str] = {}

    def link(name: str, arg) -> str:
        if (name, arg) not in links:
            links[name, arg] = reverse(name, args=[arg])
        return links[name, arg]

    cards = []
    for paper in papers:
        authors = [str(a) for a in paper.authors or []]
        title_html, snippet_html = (marks or {}).get(paper.pk, (None, None))
        cards.append(Card(
            paper=paper,
            url=paper.get_absolute_url(),
            day_url=link("digest-edition", paper.featured_on) if paper.featured_on else "",
            authors=", ".join(authors[:AUTHORS_SHOWN]) + (" et al." if len(authors) > AUTHORS_SHOWN else ""),
            topics=[(item.topic.name, link("topic", item.topic.slug)) for item in paper.topic_links],
            title_html=title_html,
            snippet_html=snippet_html,
        ))
    return cards
