"""The emails' stylesheet keeps text readable: contrast of at least 4.5:1
(WCAG AA) in light and dark mode, and no text under 14 px."""

import re

import pytest
from django.template.loader import render_to_string

MIN_CONTRAST = 4.5
CSS = render_to_string("emails/digest-style.css")
DARK = CSS[CSS.index("@media (prefers-color-scheme: dark)"):]
LIGHT = CSS[:CSS.index("@media")]

# (text classes, the class whose background they sit on)
PAIRS = [
    (["text", "h1", "title-link", "toc-link", "excerpt", "dateline", "authors", "counts", "links", "feedback",
      "footer", "footer-link", "section-hint", "c-meta", "muted", "link", "why", "section-title", "group",
      "c-why"], "container"),
    (["link", "why", "authors", "counts", "title-link", "excerpt"], "card-pinned"),
    (["note-label", "note"], "note"),
    (["brand"], "header"),
]


def _declared(css: str, cls: str, prop: str) -> str | None:
    """The last ``prop`` colour a rule naming ``.cls`` (alone or in a list) declares."""
    found = None
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        names = {s.strip() for s in selectors.split(",")}
        if f".{cls}" in names or (cls == "body" and "body" in names):
            match = re.search(rf"(?:^|;)\s*{prop}\s*:\s*(#[0-9a-fA-F]{{6}})", body)
            if match:
                found = match.group(1)
    return found


def _colour(scheme: str, cls: str, prop: str) -> str:
    light = _declared(LIGHT, cls, prop)
    if scheme == "dark":
        return _declared(DARK, cls, prop) or light
    return light


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_colour_contrasts_with_its_background(scheme):
    checked = 0
    for classes, background_class in PAIRS:
        background = _colour(scheme, background_class, "background-color")
        assert background, f"no background for .{background_class}"
        for cls in classes:
            colour = _colour(scheme, cls, "color") or _colour(scheme, "body", "color")
            ratio = contrast(colour, background)
            assert ratio >= MIN_CONTRAST, f"{scheme}: .{cls} {colour} on {background} is {ratio:.2f}:1"
            checked += 1
    assert checked > 25


def test_contrast_is_computed_as_wcag_does():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#c2410c", "#ffffff"), 2) == 5.18


def test_no_text_is_smaller_than_14px():
    sizes = [int(px) for px in re.findall(r"font-size:\s*(\d+)px", CSS)]
    # 1 px is the hidden preheader's.
    assert sizes and min(size for size in sizes if size != 1) >= 14
