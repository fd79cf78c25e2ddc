"""The confirmation, welcome and preferences-link emails: both parts,
headers, links, footer."""

import re

import pytest
from django.core import mail

from subscribers import emails
from subscribers.emails import confirmation_send, preferences_link_send, welcome_send
from subscribers.models import Subscriber, Suppression
from subscribers.suppression import LIFTABLE_REASONS, suppression_add
from tests.factories import reader_make
from tests.subscriber_helpers import html_part

pytestmark = pytest.mark.django_db


def test_confirmation_email_has_both_parts_and_a_confirm_link():
    subscriber = reader_make(status=Subscriber.Status.PENDING)
    assert confirmation_send(subscriber=subscriber) is True
    [message] = mail.outbox
    assert message.subject == "Confirm your subscription to Daily Papers"
    assert message.from_email == "Daily Papers <papers@example.org>"
    assert message.to == [subscriber.email]
    link = re.search(r"https://papers\.example\.org/confirm/[^/\s]+/", message.body).group(0)
    assert "The link works for 7 days." in message.body
    assert "Daily Papers, 1 Test Street, 00000 Testville" in message.body
    html = html_part(message)
    assert f'href="{link}"' in html
    assert ">Confirm my subscription</a>" in html
    # Transactional: no list headers.
    assert "List-Unsubscribe" not in message.message()


def test_confirmation_html_is_inlined_with_media_queries_kept():
    subscriber = reader_make(status=Subscriber.Status.PENDING)
    confirmation_send(subscriber=subscriber)
    html = html_part(mail.outbox[0])
    assert html.lower().startswith("<!doctype html>")
    assert re.search(r'<a class="account-button" href="https://[^"]+/confirm/[^"]+" style="[^"]*'
                     r'color:#fff\b', html)
    assert re.search(r'<td class="account-button-cell" style="[^"]*background-color:#c2410c', html)
    # Media queries cannot be inlined: they stay in a style block, !important
    # so they beat the inlined styles on small screens and in dark mode.
    assert re.search(r"@media \(max-width: \d+px\) \{[^@]*\.account-body \{\s*padding-left: 16px !important",
                     html)
    assert re.search(r"@media \(prefers-color-scheme: dark\) \{[^@]*\.account-body, \.account-title \{\s*"
                     r"color: #f3f4f6 !important", html)


@pytest.mark.parametrize("send", [confirmation_send, welcome_send, preferences_link_send])
def test_account_emails_share_the_digest_layout_header_and_footer(send):
    subscriber = reader_make(status=Subscriber.Status.PENDING if send is confirmation_send else "active")
    assert send(subscriber=subscriber)
    html = html_part(mail.outbox[-1])
    # The digest's stylesheet, its table layout and its header: the brand name as text.
    assert '<meta name="color-scheme" content="light dark">' in html
    assert re.search(r'<table role="presentation" class="container" width="600"', html)
    assert re.search(r'<a class="brand" href="https://papers\.example\.org/" style="[^"]+">Daily Papers</a>',
                     html)
    assert "<div" not in html
    footer = html[html.index('<td class="footer"'):]
    assert "Daily Papers, 1 Test Street, 00000 Testville" in footer
    # Footer links are tap targets of at least 44 px: 20 px of line and 12 px above and below.
    for style in re.findall(r'<a class="account-footer-link" href="[^"]+" style="([^"]+)"', footer):
        assert "display:inline-block" in style and "padding:12px 4px" in style and "line-height:20px" in style


@pytest.mark.parametrize("send", [confirmation_send, welcome_send, preferences_link_send])
def test_account_email_text_lines_fit_78_characters(send):
    subscriber = reader_make(status=Subscriber.Status.PENDING if send is confirmation_send else "active",
                             topics=("reasoning", "code", "multimodal", "agents-tools", "evaluation"),
                             timezone="America/Argentina/Buenos_Aires")
    assert send(subscriber=subscriber)
    body = mail.outbox[-1].body
    long = [line for line in body.splitlines() if len(line) > 78 and not line.startswith("https://")]
    assert long == []
    assert re.search(r"^https://papers\.example\.org/(confirm|preferences)/[^/\s]+/$", body, re.M)


def test_premailer_runs_once_per_template_not_once_per_reader():
    emails._inlined_html.cache_clear()
    for _ in range(3):
        confirmation_send(subscriber=reader_make(status=Subscriber.Status.PENDING))
    info = emails._inlined_html.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    links = {re.search(r'href="(https://[^"]+/confirm/[^"]+)"', html_part(m)).group(1) for m in mail.outbox}
    assert len(links) == 3  # each reader still gets their own link


def test_welcome_email_is_a_list_email_with_one_click_headers_and_footer():
    subscriber = reader_make(topics=("reasoning", "code"), frequency="weekly", weekday=2,
                             timezone="Europe/Berlin", send_hour=8)
    assert welcome_send(subscriber=subscriber) is True
    [message] = mail.outbox
    assert message.subject == "Welcome to Daily Papers"
    headers = message.message()
    assert re.fullmatch(
        r"<https://papers\.example\.org/unsubscribe/[^>]+/>, <mailto:papers@example\.org\?subject=[^>]+>",
        " ".join(headers["List-Unsubscribe"].split()),
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Daily Papers <digest.papers.example.org>"
    assert "every Wednesday at 08:00 (Europe/Berlin)" in message.body
    assert "Your topics: Reasoning & test-time compute, Code & software engineering" in message.body
    assert re.search(r"https://papers\.example\.org/preferences/[^/\s]+/", message.body)
    assert re.search(r"Unsubscribe:\nhttps://papers\.example\.org/unsubscribe/[^/\s]+/", message.body)
    html = html_part(message)
    assert "Reasoning &amp; test-time compute, Code &amp; software engineering" in html
    assert re.search(r'href="https://papers\.example\.org/unsubscribe/[^"]+/"[^>]*>Unsubscribe</a>', html)
    assert "Daily Papers, 1 Test Street, 00000 Testville" in html


def test_welcome_uses_the_bulk_stream_on_postmark(settings):
    settings.EMAIL_PROVIDER = "postmark"
    settings.POSTMARK_MESSAGE_STREAM = "broadcast"
    welcome_send(subscriber=reader_make())
    assert mail.outbox[0].esp_extra == {"MessageStream": "broadcast"}


def test_personal_values_are_escaped_in_html():
    subscriber = reader_make(timezone="UTC")
    subscriber.topics.all()[0].__class__.objects.filter(slug="reasoning").update(name="<b>Reasoning</b>")
    welcome_send(subscriber=subscriber)
    html = html_part(mail.outbox[0])
    assert "<b>Reasoning</b>" not in html
    assert "&lt;b&gt;Reasoning&lt;/b&gt;" in html


@pytest.mark.parametrize("reason", [Suppression.Reason.BOUNCED, Suppression.Reason.COMPLAINED])
def test_confirmation_is_not_sent_to_a_bounced_or_complained_address(reason):
    subscriber = reader_make(status=Subscriber.Status.PENDING)
    suppression_add(email=subscriber.email, reason=reason)
    assert confirmation_send(subscriber=subscriber) is False
    assert mail.outbox == []


@pytest.mark.parametrize("reason", [Suppression.Reason.ERASED, Suppression.Reason.UNSUBSCRIBED])
def test_confirmation_may_go_to_an_erased_or_unsubscribed_address(reason):
    subscriber = reader_make(status=Subscriber.Status.PENDING)
    suppression_add(email=subscriber.email, reason=reason)
    assert confirmation_send(subscriber=subscriber) is True


@pytest.mark.parametrize("reason", list(Suppression.Reason))
def test_welcome_is_never_sent_to_a_suppressed_address(reason):
    subscriber = reader_make()
    suppression_add(email=subscriber.email, reason=reason)
    assert welcome_send(subscriber=subscriber) is False
    assert mail.outbox == []


def test_welcome_is_not_sent_to_a_reader_who_is_not_active():
    assert welcome_send(subscriber=reader_make(status=Subscriber.Status.PENDING)) is False
    assert mail.outbox == []


def test_preferences_link_email_has_both_parts_a_fresh_link_and_the_unsubscribe_link():
    subscriber = reader_make()
    assert preferences_link_send(subscriber=subscriber) is True
    [message] = mail.outbox
    assert message.subject == "Your Daily Papers preferences link"
    assert message.to == [subscriber.email]
    link = re.search(r"https://papers\.example\.org/preferences/[^/\s]+/", message.body).group(0)
    assert re.search(r"Unsubscribe:\nhttps://papers\.example\.org/unsubscribe/[^/\s]+/", message.body)
    assert "Daily Papers, 1 Test Street, 00000 Testville" in message.body
    html = html_part(message)
    assert html.lower().startswith("<!doctype html>")
    assert f'href="{link}"' in html and ">Your preferences</a>" in html
    assert re.search(r'href="https://papers\.example\.org/unsubscribe/[^"]+/"[^>]*>Unsubscribe</a>', html)
    # The reader asked for it: transactional, no list headers.
    assert "List-Unsubscribe" not in message.message()


@pytest.mark.parametrize("reason", sorted(set(Suppression.Reason) - set(LIFTABLE_REASONS)))
def test_preferences_link_is_never_sent_to_a_blocked_address(reason):
    subscriber = reader_make()
    suppression_add(email=subscriber.email, reason=reason)
    assert preferences_link_send(subscriber=subscriber) is False
    assert mail.outbox == []


@pytest.mark.parametrize("status", ["pending", "bounced", "complained"])
def test_preferences_link_is_only_for_active_readers_and_those_who_left(status):
    assert preferences_link_send(subscriber=reader_make(status=status)) is False
    assert mail.outbox == []


def test_a_reader_who_unsubscribed_may_still_get_a_link_to_their_data():
    subscriber = reader_make(status="unsubscribed")
    suppression_add(email=subscriber.email, reason=Suppression.Reason.UNSUBSCRIBED)
    assert preferences_link_send(subscriber=subscriber) is True
    assert [m.to for m in mail.outbox] == [[subscriber.email]]
