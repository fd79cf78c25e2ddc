"""Checks that a page or an email is inert (not a test module): no script a
page did not ship itself, no event-handler attributes, links only to the
web. Shared by the hostile-content tests (and the digest's, when it lands)."""

from __future__ import annotations

import email
from email import policy
from html.parser import HTMLParser

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "srcset", "poster", "background", "data", "xlink:href",
}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}


class _Inspector(HTMLParser):
    def __init__(self, *, script_prefixes: tuple[str, ...], link_schemes: tuple[str, ...]):
        super().__init__(convert_charrefs=True)
        self.script_prefixes = script_prefixes
        self.link_schemes = link_schemes
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            src = attributes.get("src") or ""
            if not self.script_prefixes or not src.startswith(self.script_prefixes):
                self.problems.append(f"<script src={src!r}>")
            self._in_script = True
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and value is not None:
                url = value.strip()
                # Relative links (our own pages) or the allowed schemes only.
                scheme_less = url.startswith(("/", "#", "?")) and not url.startswith("//")
                if not scheme_less and not url.lower().startswith(self.link_schemes):
                    self.problems.append(f"<{tag} {name}={url[:60]!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]!r}")


def html_problems(html: str, *, script_prefixes=("/static/",),
                  link_schemes=("http://", "https://", "mailto:")) -> list[str]:
    """What in ``html`` could run or lead somewhere other than the web."""
    inspector = _Inspector(script_prefixes=script_prefixes, link_schemes=link_schemes)
    inspector.feed(html)
    inspector.close()
    return inspector.problems


def assert_inert_page(html: str) -> None:
    assert html_problems(html) == []


def assert_inert_email_html(html: str) -> None:
    # No script of any kind in an email.
    assert html_problems(html, script_prefixes=()) == []


def parsed_headers(message) -> email.message.EmailMessage:
    """The message as a mail server reads it back from the wire."""
    return email.message_from_bytes(message.message().as_bytes(), policy=policy.default)


def assert_headers_not_split(message, *, expected: set[str]) -> None:
    """Exactly the expected headers, each on its own logical line: no value
    grew an extra header (Bcc:, a second To:) out of a line break."""
    parsed = parsed_headers(message)
    names = [name.lower() for name in parsed]
    assert set(names) == {name.lower() for name in expected}, names
    assert len(names) == len(set(names)), names
    for name, value in parsed.items():
        assert "\r" not in value and "\n" not in value, (name, value)
