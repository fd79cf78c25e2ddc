"""Small text helpers shared by rendering, selection and assembly."""


def html_ascii(html: str) -> str:
    """Non-ASCII characters as numeric references (``·`` -> ``&#183;``): the
    HTML part is then plain ASCII, which every client decodes the same way and
    which is joined per reader at one byte per character."""
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")
