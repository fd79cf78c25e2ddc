"""Laptop mode's outbox: the emails written to EMAIL_OUTBOX_DIR, readable
and clickable in the browser."""

import html
import re

import pytest
from django.core.mail import EmailMultiAlternatives

from config.mail import OutboxBackend
from config.outbox_views import html_links_leave_the_frame

pytestmark = pytest.mark.urls("tests.laptop_urls")

LINK = "https://papers.example.org/confirm/eyJzIjoxMjM0NTZ9:1uQ2xY:3nD0mLookingTokenThatGoesOnAndOnAndOn/"


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EMAIL_OUTBOX_DIR = tmp_path
    message = EmailMultiAlternatives(
        "Confirm your subscription", f"Confirm here:\n{LINK}\n\nThanks.", "papers@example.org",
        ["ada@example.org"],
    )
    message.attach_alternative(
        f'<!doctype html><html><head><title>x</title></head><body><a href="{LINK}">Confirm</a></body></html>',
        "text/html",
    )
    OutboxBackend().send_messages([message])
    [path] = tmp_path.glob("*.eml")
    return path.stem


def test_links_in_the_html_part_open_outside_the_frame(client, outbox):
    page = client.get(f"/outbox/{outbox}/").content.decode()
    frame = re.search(r'<iframe sandbox="([^"]*)" title="HTML part" srcdoc="([^"]*)"', page)
    assert set(frame.group(1).split()) == {"allow-popups", "allow-popups-to-escape-sandbox"}
    srcdoc = html.unescape(frame.group(2))
    assert srcdoc.startswith('<!doctype html><html><head><base target="_blank"><title>')
    assert "allow-scripts" not in page and "allow-same-origin" not in page


def test_urls_in_the_text_part_are_links(client, outbox):
    page = client.get(f"/outbox/{outbox}/").content.decode()
    text = re.search(r'<pre class="outbox-text">(.*?)</pre>', page, re.S).group(1)
    assert f'<a href="{LINK}" rel="nofollow">{LINK}</a>' in text
    assert text.startswith("Confirm here:")


def test_the_list_links_to_each_message(client, outbox):
    page = client.get("/outbox/").content.decode()
    assert f'href="/outbox/{outbox}/"' in page and "Confirm your subscription" in page


@pytest.mark.parametrize(("email_html", "expected"), [
    ("<html><body>x</body></html>", '<html><base target="_blank"><body>x</body></html>'),
    ('<HTML lang="en"><HEAD>', '<HTML lang="en"><HEAD><base target="_blank">'),
    ("<p>just a fragment</p>", '<base target="_blank"><p>just a fragment</p>'),
])
def test_the_base_goes_where_a_browser_reads_it(email_html, expected):
    assert html_links_leave_the_frame(email_html) == expected


def test_outside_laptop_mode_there_is_no_outbox(client, settings, outbox):
    settings.ROOT_URLCONF = "config.urls"
    assert client.get("/outbox/").status_code == 404
