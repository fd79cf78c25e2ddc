"""Hostile paper content stays inert in the digest: the web copies, both
email parts and the headers."""

import re

import pytest
import time_machine
from django.utils import timezone

from newsletter.digest.build import digest_for
from subscribers.tokens import token_make
from tests.factories import DAY, edition_make, paper_make, reader_make
from tests.html_checks import (
    assert_headers_not_split,
    assert_inert_email_html,
    assert_inert_page,
    parsed_headers,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def hostile():
    """A pinned paper (so it leads, and its title makes the subject) full of
    markup, line breaks and non-web links, next to a benign one."""
    edition_make(note=f"Editor's note {SCRIPT} {IMG}")
    paper_make(
        "2507.09001", topics={"quantization-compression": 2.0}, pinned=True,
        title=f"Quantization {SCRIPT}\r\nBcc: victim@example.org",
        abstract=f"Abstract {IMG} and {SCRIPT}.",
        ai_summary=f"Summary {SCRIPT}",
        authors=[f"Eve {IMG}", "Mallory\r\nCc: x@example.org"],
        github_repo="javascript:alert(3)",
        project_page="data:text/html,<script>alert(4)</script>",
    )
    paper_make("2507.09002", topics={"quantization-compression": 1.0}, title="A benign paper")
    return reader_make("reader@example.org", topics=("quantization-compression",),
                       keywords=f"<b>bold</b>, Quantization {SCRIPT}")


@pytest.fixture(params=["full", "compact"])
def hostile_format(request, hostile):
    hostile.digest_format = request.param
    hostile.save(update_fields=["digest_format"])
    return hostile


def html_part(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_digest_email_parts_are_inert(hostile_format):
    message = digest_for(subscriber=hostile_format, day=DAY).message()
    html = html_part(message)
    assert_inert_email_html(html)
    # Markup from the paper arrives as text: escaped, never as tags.
    assert "<script" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    if hostile_format.digest_format == "full":  # the compact layout shows no authors
        assert "&lt;img src=x onerror=" in html
    assert "javascript:" not in html and "data:text/html" not in html
    # The text part shows the text literally (it is not HTML).
    assert "Quantization <script>alert(1)</script>" in message.body
    assert "javascript:alert(3)" not in message.body and "data:text/html" not in message.body


def test_digest_headers_are_never_split(hostile_format):
    hostile = hostile_format
    # Frozen: the signed link made below must carry the same timestamp.
    with time_machine.travel(timezone.now(), tick=False):
        message = digest_for(subscriber=hostile, day=DAY).message()
        token = token_make(subscriber=hostile, purpose="unsubscribe")
    benign_names = {"Content-Type", "MIME-Version", "Subject", "From", "To", "Date", "Message-ID",
                    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}
    expected = set(parsed_headers(message).keys())
    assert "Bcc" not in expected and "Cc" not in expected
    assert_headers_not_split(message, expected=expected)
    assert benign_names <= expected
    subject = parsed_headers(message)["Subject"]
    assert "Quantization" in subject and "\n" not in subject and "\r" not in subject
    assert "<" not in message.subject and ">" not in message.subject
    # The signed links do not depend on the content.
    assert f"/unsubscribe/{token}/" in parsed_headers(message)["List-Unsubscribe"]


@pytest.mark.parametrize("digest_format", ["full", "compact"])
def test_a_hostile_title_in_the_subject_loses_its_markup_and_line_breaks(digest_format):
    # No topics anywhere: the subject's words are the paper's title.
    paper_make("2507.09011", pinned=True, title=f"Quantization {SCRIPT}\r\nBcc: victim@example.org {IMG}")
    reader = reader_make("everything@example.org", topics=(), digest_format=digest_format)
    message = digest_for(subscriber=reader, day=DAY).message()
    assert message.subject == "Quantization alert(1) Bcc… · Daily Papers, Thu 10 Jul"
    assert "Bcc" not in parsed_headers(message) and "\n" not in parsed_headers(message)["Subject"]
    title = html_part(message).split("<title>")[1].split("</title>")[0]
    assert "<" not in title and "&lt;" not in title


def test_digest_web_pages_are_inert(hostile, client):
    public = client.get(f"/digests/{DAY.isoformat()}/")
    assert public.status_code == 200
    assert_inert_page(public.content.decode())
    token = token_make(subscriber=hostile, purpose="digest")
    personal = client.get(f"/digests/{DAY.isoformat()}/{token}/")
    assert personal.status_code == 200
    html = personal.content.decode()
    assert_inert_page(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("token", ["x", "WzEsImFiYyJd:1abc:def", "a" * 500])
def test_broken_digest_links_get_a_page_not_an_error(hostile, client, token):
    response = client.get(f"/digests/{DAY.isoformat()}/{token}/")
    assert response.status_code in (400, 404)
    assert "link" in response.content.decode().lower()


def test_a_token_for_another_purpose_does_not_open_the_web_copy(hostile, client):
    for purpose in ("unsubscribe", "preferences", "confirm"):
        token = token_make(subscriber=hostile, purpose=purpose)
        response = client.get(f"/digests/{DAY.isoformat()}/{token}/")
        assert response.status_code in (400, 404), purpose
        assert not re.search(r"A benign paper", response.content.decode())
