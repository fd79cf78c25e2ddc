"""Small text helpers shared by rendering, selection and assembly."""

import textwrap

# The text part's lines stay within 78 characters (RFC 5322's advice); a
# URL longer than that stays whole on a line of its own.
TEXT_WIDTH = 76


def html_ascii(html: str) -> str:
    """Non-ASCII characters as numeric references (``·`` -> ``&#183;``): the
    HTML part is then plain ASCII, which every client decodes the same way and
    which is joined per reader at one byte per character."""
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def text_wrap(text: str, *, width: int = TEXT_WIDTH, indent: str = "") -> str:
    """``text`` in lines of at most ``width`` characters, at spaces only (a
    long word or URL is never broken)."""
    if len(text) + len(indent) <= width and "\n" not in text:
        return indent + text  # most lines: no need for textwrap's machinery
    return "\n".join(textwrap.wrap(
        text, width=width, initial_indent=indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )) or indent.rstrip()
