"""Helpers shared by the public-site tests: papers on given days, the order
in which a page lists them, and feeds read by a real feed parser."""

from __future__ import annotations

import re
from datetime import date

import feedparser

from newsletter.models import Paper
from tests.factories import paper_make

_CARD_ID_RE = re.compile(r'<li class="paper" id="paper-([^"]+)"')


def listed(response) -> list[str]:
    """The arXiv ids of the paper cards on a page, in order."""
    assert response.status_code == 200, response.status_code
    return _CARD_ID_RE.findall(response.content.decode())


def papers_on(day: date, count: int, *, prefix: str, **fields) -> list[Paper]:
    """``count`` papers featured on ``day`` with ids ``<prefix>0001``...
    (``prefix`` is "YYMM." and up to two digits)."""
    width = 10 - len(prefix)
    return [paper_make(f"{prefix}{n:0{width}d}", day=day, **fields) for n in range(1, count + 1)]


def feed_read(response):
    """The parsed feed; fails unless it is well-formed XML of a known kind."""
    assert response.status_code == 200, response.status_code
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version in {"atom10", "rss20"}, parsed.version
    return parsed
