"""How a topic's words are matched against a paper: tokens, stems, acronyms,
weighted phrases and patterns. Plain Python, no database.

Keyword syntax (``Topic.keywords``: one item per line, or comma-separated):

    draft model          a phrase, matched on word stems in any case and with
                         hyphens or spaces ("Draft-models" matches)
    MoE, W4A16, RL       written with two capitals or a digit: matched exactly,
                         a plural "s" allowed ("LLMs"), so "RL" never matches "url"
    "coding"             in double quotes: whole words as written, any case, no
                         stemming ("coding" then does not match "code")
    draft model^3        a weight (default 1; a negative weight counts against)
    title:benchmark^2    counts only when it appears in the title
    /\\bW\\d+A\\d+\\b/^3     a regular expression on the raw text (case-sensitive;
                         start it with (?i) to ignore case), on a line of its own

The topic's name and description are matched too, as phrases split at
commas, "&" and "and": with weight ``DESCRIPTION_WEIGHT`` next to keywords,
or ``NAME_ONLY_WEIGHT`` for a topic that has no keywords yet (so a topic an
editor just named already finds papers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

# A phrase in the title says more about a paper than the same phrase in its
# abstract: title hits get this bonus on top of their abstract weight.
TITLE_BONUS = 2.0
DESCRIPTION_WEIGHT = 0.5
NAME_ONLY_WEIGHT = 1.5

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)*|[.,;:!?()\[\]]")
_WEIGHT_RE = re.compile(r"\^(-?\d+(?:\.\d+)?)$")
_ACRONYM_RE = re.compile(r"[A-Z].*[A-Z]|\d")
_SENTINEL = ("", "")

# Longest first; (suffix, replacement). Only consistency matters: keywords
# and text go through the same function.
_SUFFIXES = (
    ("izations", "iz"), ("ization", "iz"), ("isations", "iz"), ("isation", "iz"),
    ("ications", "y"), ("ication", "y"), ("izing", "iz"), ("ized", "iz"), ("izes", "iz"),
    ("izers", "iz"), ("izer", "iz"), ("ize", "iz"), ("ations", "at"), ("ation", "at"),
    ("ssions", "ss"), ("ssion", "ss"), ("iers", "y"), ("ier", "y"), ("ies", "y"), ("ied", "y"),
    ("ings", ""), ("ing", ""),
    ("ities", ""), ("ity", ""), ("ers", ""), ("er", ""), ("ed", ""), ("es", ""), ("s", ""),
    ("e", ""),
)


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """A light suffix stemmer: "quantized", "quantization", "quantizing" ->
    "quantiz"; "decoding", "decoder" -> "decod"; "models" -> "model"."""
    word = word.lower()
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            base = word[: -len(suffix)] + replacement
            # "planning" -> "plan", but "prefilling" -> "prefill".
            if (suffix in ("ing", "ings", "ed", "er", "ers") and len(base) > 3
                    and base[-1] == base[-2] and base[-1] not in "lsz" and base[-1] not in "aeiou"):
                base = base[:-1]
            return base
    return word


def _is_acronym(token: str) -> bool:
    return bool(_ACRONYM_RE.search(token))


def tokens(text: str) -> list[tuple[str, str]]:
    """(original, stem) per word; punctuation becomes a sentinel so phrases
    never match across a comma or a sentence end."""
    out = []
    for raw in _TOKEN_RE.findall(text or ""):
        if raw[0].isalnum():
            out.append((raw, stem(raw)))
        else:
            out.append(_SENTINEL)
    return out


class TextIndex:
    """Positions of every word of a text, for fast phrase counting."""

    def __init__(self, text: str):
        self.text = text or ""
        self.tokens = tokens(self.text)
        self.positions: dict[tuple[str, str], list[int]] = {}
        for position, (original, stemmed) in enumerate(self.tokens):
            if not original:
                continue
            self.positions.setdefault(("w", stemmed), []).append(position)
            self.positions.setdefault(("x", original.lower()), []).append(position)
            if _is_acronym(original):
                self.positions.setdefault(("a", original), []).append(position)
                if original.endswith("s") and len(original) > 2:
                    self.positions.setdefault(("a", original[:-1]), []).append(position)
            self.positions.setdefault(("i", original.lower()), []).append(position)
            if original.endswith(("s", "S")) and len(original) > 2:
                self.positions.setdefault(("i", original[:-1].lower()), []).append(position)

    def _matches_at(self, position: int, key: tuple[str, str]) -> bool:
        if position >= len(self.tokens):
            return False
        original, stemmed = self.tokens[position]
        if not original:
            return False
        kind, value = key
        if kind == "w":
            return stemmed == value
        if kind == "x":
            return original.lower() == value
        if kind == "i":
            lower = original.lower()
            return lower == value or (lower.endswith("s") and lower[:-1] == value)
        return original == value or (original.endswith("s") and original[:-1] == value)

    def count(self, keys: tuple[tuple[str, str], ...]) -> int:
        found = 0
        for start in self.positions.get(keys[0], ()):
            if all(self._matches_at(start + i, key) for i, key in enumerate(keys[1:], start=1)):
                found += 1
        return found


@dataclass(frozen=True)
class Keyword:
    source: str
    weight: float
    title_only: bool
    keys: tuple[tuple[str, str], ...] | None = None  # a phrase
    pattern: re.Pattern | None = None  # or a regular expression

    def counts(self, title: TextIndex, body: TextIndex) -> tuple[int, int]:
        if self.pattern is not None:
            return len(self.pattern.findall(title.text)), len(self.pattern.findall(body.text))
        return title.count(self.keys), body.count(self.keys)


def phrase_keys(phrase: str, *, acronyms_any_case: bool = False) -> tuple[tuple[str, str], ...]:
    """What a phrase matches: word stems, acronyms as written (in any case
    with ``acronyms_any_case``; a plural "s" allowed either way), or (in
    double quotes) whole words in any case. Empty for a phrase with no words."""
    exact = len(phrase) > 2 and phrase.startswith('"') and phrase.endswith('"')
    keys = []
    for original, stemmed in tokens(phrase.strip('"') if exact else phrase):
        if not original:
            continue
        if _is_acronym(original):
            keys.append(("i", original.lower()) if acronyms_any_case else ("a", original))
        else:
            keys.append(("x", original.lower()) if exact else ("w", stemmed))
    return tuple(keys)


def keyword_parse(item: str, *, weight: float = 1.0) -> Keyword | None:
    """One keyword item -> Keyword; None for an empty or invalid item."""
    item = item.strip()
    title_only = item.lower().startswith("title:")
    if title_only:
        item = item[len("title:"):].strip()
    match = _WEIGHT_RE.search(item)
    if match:
        weight = float(match.group(1))
        item = item[: match.start()].strip()
    if len(item) > 2 and item.startswith("/") and item.endswith("/"):
        try:
            pattern = re.compile(item[1:-1])
        except re.error:
            return None
        return Keyword(source=item, weight=weight, title_only=title_only, pattern=pattern)
    keys = phrase_keys(item)
    if not keys:
        return None
    return Keyword(source=item, weight=weight, title_only=title_only, keys=keys)


def keyword_items(keywords: str) -> list[str]:
    """Split a keywords field: lines, then commas, except that a line that is a
    regular expression stays whole (it may contain commas)."""
    items = []
    for line in (keywords or "").splitlines():
        stripped = line.strip()
        if re.match(r"^(title:)?\s*/", stripped, re.IGNORECASE):
            items.append(stripped)
        else:
            items.extend(part.strip() for part in stripped.split(","))
    return [item for item in items if item]


def _description_phrases(name: str, description: str) -> list[str]:
    text = f"{name}, {description}".replace("&", ",")
    parts = re.split(r",|;|\.\s|\.$|\band\b|\bor\b", text)
    return [p.strip() for p in parts if len(p.strip()) > 2]


@lru_cache(maxsize=256)
def topic_keywords(name: str, description: str, keywords: str) -> tuple[Keyword, ...]:
    """A topic's compiled keywords (cached: the same text compiles once)."""
    compiled: dict[tuple, Keyword] = {}
    weight = DESCRIPTION_WEIGHT if keyword_items(keywords) else NAME_ONLY_WEIGHT
    for phrase in _description_phrases(name, description):
        keyword = keyword_parse(phrase, weight=weight)
        if keyword is not None:
            compiled[(keyword.keys, False)] = keyword
    for item in keyword_items(keywords):
        keyword = keyword_parse(item)
        if keyword is not None:
            # An explicit keyword replaces the same phrase from the description
            # (or an earlier item): one phrase counts once.
            compiled[(keyword.keys or keyword.source, keyword.title_only)] = keyword
    return tuple(compiled.values())


def keywords_score(*, keywords: tuple[Keyword, ...], title: TextIndex, body: TextIndex) -> float:
    """Sum over keywords of weight x (title bonus + a saturating body count)."""
    score = 0.0
    for keyword in keywords:
        in_title, in_body = keyword.counts(title, body)
        if keyword.title_only:
            in_body = 0
        if not in_title and not in_body:
            continue
        hits = (TITLE_BONUS if in_title else 0.0) + (math.log2(1 + min(in_body + in_title, 7)))
        score += keyword.weight * hits
    return score
