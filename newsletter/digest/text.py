"""Small text helpers shared by rendering, selection and assembly."""

import re

# The text part's lines stay within 78 characters (RFC 5322's advice); a
# URL longer than that stays whole on a line of its own.
TEXT_WIDTH = 76


def html_ascii(html: str) -> str:
    """Non-ASCII characters as numeric references (``·`` -> ``&#183;``): the
    HTML part is then plain ASCII, which every client decodes the same way and
    which is joined per reader at one byte per character."""
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")


TAG_OR_CONTROL = re.compile(r"<[^>]*>?|[\x00-\x1f\x7f]")


def plain_words(text: str) -> str:
    """Words for a header such as the subject: no markup, no control
    characters, single spaces."""
    return " ".join(TAG_OR_CONTROL.sub(" ", text).split())


def text_wrap(text: str, *, width: int = TEXT_WIDTH, indent: str = "") -> str:
    """``text`` in lines of at most ``width`` characters, broken at spaces
    only (a word or URL longer than that keeps a line of its own). Runs of
    whitespace become one space. A greedy loop: textwrap does the same at a
    tenth of the speed, and "why" lines are wrapped per reader profile."""
    words = text.split()
    if not words:
        return indent.rstrip()
    lines: list[str] = []
    line = indent + words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = indent + word
    lines.append(line)
    return "\n".join(lines)
