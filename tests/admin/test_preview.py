""""Preview as…" and "Send test to me" on the edition page: the preview is
the message the sender sends (same functions), and a test send goes to the
editor only, marked as a test, with no Delivery."""

import html as html_lib
import re
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse

from bench.fake_provider import FakePostmark
from newsletter.digest.build import digest_for
from newsletter.digest.run import digests_run
from newsletter.models import Delivery, Edition
from subscribers.models import Subscriber, Suppression
from subscribers.suppression import suppression_add
from subscribers.tokens import PURPOSES, TokenInvalid, token_read
from tests.digest_support import use_fake_postmark
from tests.factories import DAY, edition_make, edition_small, reader_make, topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]

# Per-send parts: the signed tokens in links (they name the reader and are
# minted per message).
TOKEN = re.compile(
    r"/(confirm|preferences|unsubscribe|feedback/[\d-]+|feedback|digests/[\d-]+)/[A-Za-z0-9_:.\-]+/"
)
MAILTO_TOKEN = re.compile(r"unsubscribe%20[A-Za-z0-9_:.\-]+")


def tokens_out(text: str) -> str:
    return MAILTO_TOKEN.sub("unsubscribe%20<token>", TOKEN.sub(r"/\1/<token>/", text))


@pytest.fixture
def fake(settings):
    with FakePostmark() as server:
        use_fake_postmark(settings, server)
        yield server


@pytest.fixture
def edition():
    edition_small()
    return edition_make(note="Quantization day.")


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    return client


def page(edition, **params):
    url = reverse("admin:newsletter_edition_change", args=[edition.pk])
    return url, params


def preview_get(client, edition, **params):
    url, params = page(edition, **params)
    response = client.get(url, params)
    assert response.status_code == 200
    return response


def send_test(client, edition, **data):
    return client.post(reverse("admin:newsletter_edition_send_test", args=[edition.pk]), data)


def test_reader_preview_is_byte_for_byte_the_email_the_sender_sends(editor_client, edition, fake):
    reader_make("q@example.org", topics=("quantization-compression",))
    preview = preview_get(editor_client, edition, preview="reader", preview_email="Q@example.org").context[
        "preview"
    ]
    assert not Delivery.objects.exists()  # previewing planned nothing

    report = digests_run(edition_date=DAY, now=True)
    assert len(report.outcome.sent) == 1
    [sent] = fake.accepted()
    assert sent.to == "q@example.org"
    assert sent.subject == preview.subject
    assert sent.subject.endswith(" · Daily Papers, Thu 10 Jul")
    assert sent.html != tokens_out(sent.html)  # the normalisation does find the tokens
    assert tokens_out(sent.html) == tokens_out(preview.html)
    assert tokens_out(sent.text) == tokens_out(preview.text)
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # After sending, the preview shows the frozen papers: still the same email.
    again = preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
    assert tokens_out(again.context["preview"].html) == tokens_out(sent.html)


def test_preview_page_shows_subject_preheader_sandboxed_html_and_text(editor_client, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    response = preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
    preview = response.context["preview"]
    html = response.content.decode()
    assert preview.preheader == "Top: Paper 2507.00007 · and 3 more for you, 3 trending"
    assert preview.preheader in html
    assert '<iframe sandbox title="HTML part of the digest"' in html
    assert 'srcdoc="&lt;!DOCTYPE html' in html or 'srcdoc="&lt;html' in html
    assert "<script" not in preview.html.lower()
    assert "W4A16 kernels for fast inference" in html
    assert 'class="dp-preview-text"' in html and "Paper 2507.00007" in preview.text
    # Inline styles in the frame need the page's policy to allow them.
    assert "style-src 'self' 'unsafe-inline'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_preview_creates_and_changes_nothing(editor_client, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    before = (Delivery.objects.count(), LogEntry.objects.count(), Edition.objects.get().note)
    preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
    preview_get(editor_client, edition, preview="topics", preview_topic=[topic("reasoning").pk])
    assert (Delivery.objects.count(), LogEntry.objects.count(), Edition.objects.get().note) == before
    assert mail.outbox == []


def test_ad_hoc_topic_preview_is_what_a_new_reader_of_those_topics_gets(editor_client, edition, fake):
    quantization = topic("quantization-compression")
    response = preview_get(editor_client, edition, preview="topics", preview_topic=[quantization.pk],
                           preview_keywords="")
    preview = response.context["preview"]
    assert preview.message.to == ["editor@example.org"]
    cards = preview.text.split("== For you ==", 1)[1]
    titles = re.findall(r"^(Paper 2507\.0000\d|W4A16 kernels for fast inference)$", cards, re.M)
    # Pinned G first, then A, C, B for the topic; D, E, H trending (F is hidden).
    assert titles == ["Paper 2507.00007", "W4A16 kernels for fast inference", "Paper 2507.00003",
                          "Paper 2507.00002", "Paper 2507.00004", "Paper 2507.00005", "Paper 2507.00008"]
    assert "Paper 2507.00006" not in preview.text
    # A real new reader following the same topic is sent the same email.
    reader_make("new@example.org", topics=("quantization-compression",))
    digests_run(edition_date=DAY, now=True)
    [sent] = fake.accepted()
    assert tokens_out(sent.html) == tokens_out(preview.html)
    assert tokens_out(sent.text) == tokens_out(preview.text)


def test_ad_hoc_keywords_select_papers_and_bad_topic_ids_are_refused(editor_client, edition):
    response = preview_get(editor_client, edition, preview="topics", preview_topic=[topic("code").pk],
                           preview_keywords="w4a16")
    preview = response.context["preview"]
    assert preview.label == "Code & software engineering + w4a16"
    assert "for you" in preview.preheader
    assert "W4A16 kernels for fast inference" in preview.text
    bad = preview_get(editor_client, edition, preview="topics", preview_topic=["99999"])
    assert bad.context["preview"] is None
    assert "no active topic has the id 99999" in bad.content.decode()
    worse = preview_get(editor_client, edition, preview="topics", preview_topic=["x"])
    assert "topics are chosen by their ids" in worse.content.decode()


def test_reader_search_lists_matching_addresses_to_choose_from(editor_client, edition):
    reader_make("ada@example.org")
    reader_make("adam@example.org")
    reader_make("bob@example.org")
    response = preview_get(editor_client, edition, preview="reader", preview_email="ada")
    assert [email for email, _ in response.context["preview_candidates"]] == ["ada@example.org",
                                                                             "adam@example.org"]
    chosen = editor_client.get(response.context["preview_candidates"][1][1])
    assert chosen.context["preview"].label == "adam@example.org"
    nobody = preview_get(editor_client, edition, preview="reader", preview_email="zed")
    assert "no reader’s address contains “zed”" in nobody.content.decode()


def test_a_reader_with_nothing_new_gets_no_email_and_the_page_says_why(editor_client, edition):
    edition_make(DAY.replace(day=11))
    reader_make("q@example.org", topics=("quantization-compression",))
    response = preview_get(editor_client, Edition.objects.get(date=DAY.replace(day=11)),
                           preview="reader", preview_email="q@example.org")
    assert response.context["preview"].message is None
    assert "No email: this edition has no visible papers." in response.content.decode()


def test_a_suppressed_reader_preview_warns_that_the_sender_would_not_mail_them(editor_client, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    suppression_add(email="q@example.org", reason=Suppression.Reason.COMPLAINED)
    response = preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
    assert "q@example.org is on the suppression list: the sender would not mail them." in (
        response.content.decode()
    )


def test_send_test_goes_to_the_editor_marked_as_test_with_no_delivery(editor_client, edition, fake):
    reader_make("q@example.org", topics=("quantization-compression",))
    # One frozen second: the links' signed tokens carry the time they were made.
    with time_machine.travel(datetime(2025, 7, 10, 9, 0, tzinfo=UTC), tick=False):
        page = preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
        preview = page.context["preview"]
        response = send_test(editor_client, edition, preview="reader", preview_email="q@example.org")
    assert response.status_code == 302
    assert response["Location"].endswith("?preview=reader&preview_email=q%40example.org#preview")
    [sent] = fake.accepted()
    assert sent.to == "editor@example.org"
    assert sent.subject == "[TEST] " + preview.subject
    assert sent.headers["X-Daily-Papers-Test"] == "1"
    assert sent.tag == "test"
    assert "List-Unsubscribe" not in sent.headers  # would act for the reader
    assert "subscriber_id" not in sent.metadata and "delivery_id" not in sent.metadata
    assert sent.message_stream == "broadcast"
    assert sent.html == preview.html and sent.text == preview.text
    assert not Delivery.objects.exists()
    entry = LogEntry.objects.get()
    reader = Subscriber.objects.get(email="q@example.org")
    assert entry.change_message == f"Sent a test of the digest of reader #{reader.pk} to editor@example.org"
    assert entry.object_id == str(edition.pk)
    shown = editor_client.get(response["Location"])
    assert "A test of the digest of q@example.org was sent to editor@example.org." in shown.content.decode()


def test_send_test_of_an_ad_hoc_selection(editor_client, edition):
    response = send_test(editor_client, edition, preview="topics",
                         preview_topic=[topic("reasoning").pk], preview_keywords="")
    assert response.status_code == 302
    [sent] = mail.outbox
    assert sent.to == ["editor@example.org"]
    assert sent.subject.startswith("[TEST] Reasoning & test-time compute + ")
    assert sent.subject.endswith(" · Daily Papers, Thu 10 Jul")
    assert sent.extra_headers["X-Daily-Papers-Test"] == "1"
    assert sent.tags == ["test"]
    assert not Delivery.objects.exists()


def test_send_test_refuses_an_editor_without_an_address(editor, editor_client, edition):
    editor.email = ""
    editor.save()
    reader_make("q@example.org", topics=("quantization-compression",))
    response = send_test(editor_client, edition, preview="reader", preview_email="q@example.org")
    shown = editor_client.get(response["Location"]).content.decode()
    assert "No test was sent: your account has no email address" in shown
    assert mail.outbox == [] and not LogEntry.objects.exists()


def test_send_test_refuses_a_suppressed_editor_address(editor_client, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    suppression_add(email="Editor@example.org", reason=Suppression.Reason.BOUNCED)
    response = send_test(editor_client, edition, preview="reader", preview_email="q@example.org")
    shown = editor_client.get(response["Location"]).content.decode()
    assert "No test was sent: editor@example.org is on the suppression list" in shown
    assert mail.outbox == [] and not LogEntry.objects.exists()


def test_send_test_refuses_a_search_that_is_not_one_reader(editor_client, edition):
    reader_make("ada@example.org")
    reader_make("adam@example.org")
    response = send_test(editor_client, edition, preview="reader", preview_email="ada")
    shown = editor_client.get(response["Location"]).content.decode()
    assert "No test was sent: choose one reader" in shown
    assert mail.outbox == []


def test_send_test_needs_post_and_a_csrf_token(editor, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url = reverse("admin:newsletter_edition_send_test", args=[edition.pk])
    assert client.get(url, {"preview": "reader", "preview_email": "q@example.org"}).status_code == 405
    assert client.post(url, {"preview": "reader", "preview_email": "q@example.org"}).status_code == 403
    assert mail.outbox == []


def test_send_test_needs_staff(client, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    response = client.post(reverse("admin:newsletter_edition_send_test", args=[edition.pk]),
                           {"preview": "reader", "preview_email": "q@example.org"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert mail.outbox == []


def readable_tokens(text: str) -> set[str]:
    """The purposes of every piece of ``text`` that ``token_read`` accepts
    (any age, and the edition's scope for feedback links)."""
    found = set()
    pieces = set(re.split(r"[^A-Za-z0-9_:.\-]+", unquote(html_lib.unescape(text))))
    for piece in pieces - {""}:
        for purpose in PURPOSES:
            for scope in ("", DAY.isoformat()):
                try:
                    token_read(token=piece, purpose=purpose, scope=scope, any_age=True)
                except TokenInvalid:
                    continue
                found.add(purpose)
    return found


@pytest.fixture
def edition_viewer(django_user_model):
    """Staff who may view editions and nothing else."""
    user = django_user_model.objects.create_user("viewer", "viewer@example.org", "a-long-test-password",
                                                 is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_edition"))
    client = Client()
    client.force_login(user)
    return client


def test_an_editor_who_may_not_view_readers_can_neither_list_nor_preview_them(edition_viewer, edition):
    reader_make("q@example.org", topics=("quantization-compression",))
    reader_make("ada@example.org")
    page = preview_get(edition_viewer, edition)
    assert 'id="preview-topics"' in page.content.decode()
    assert 'id="preview-reader"' not in page.content.decode()
    for query in ("@", "example", "q@example.org"):
        response = preview_get(edition_viewer, edition, preview="reader", preview_email=query)
        html = response.content.decode()
        assert response.context["preview"] is None and response.context["preview_candidates"] == []
        assert "previewing as a reader needs the permission to view readers" in html
        assert "q@example.org" not in html.replace(f'value="{query}"', "") and "ada@" not in html
    sent = send_test(edition_viewer, edition, preview="reader", preview_email="q@example.org")
    assert "No test was sent: previewing as a reader needs the permission to view readers" in (
        edition_viewer.get(sent["Location"]).content.decode())
    assert mail.outbox == [] and not LogEntry.objects.exists()
    # An ad-hoc selection of topics shows no reader: still theirs to preview.
    topics = preview_get(edition_viewer, edition, preview="topics", preview_topic=[topic("reasoning").pk])
    assert topics.context["preview"].message is not None


def test_previews_and_test_copies_carry_no_link_that_opens_a_readers_pages(editor_client, edition, fake):
    reader = reader_make("q@example.org", topics=("quantization-compression",))
    # The check finds every kind of link in the email the reader is sent.
    sent = digest_for(subscriber=reader, day=DAY).message()
    assert readable_tokens(sent.body + sent.alternatives[0][0] + str(sent.extra_headers)) == {
        "preferences", "unsubscribe", "digest", "feedback"}

    page = preview_get(editor_client, edition, preview="reader", preview_email="q@example.org")
    preview = page.context["preview"]
    send_test(editor_client, edition, preview="reader", preview_email="q@example.org")
    ad_hoc = preview_get(editor_client, edition, preview="topics",
                         preview_topic=[topic("quantization-compression").pk]).context["preview"]
    send_test(editor_client, edition, preview="topics", preview_topic=[topic("quantization-compression").pk])
    copies = fake.accepted()
    assert len(copies) == 2
    for text in (page.content.decode(), preview.text, preview.html, str(preview.message.extra_headers),
                 ad_hoc.html, ad_hoc.text, *(c.html + c.text + str(c.headers) for c in copies)):
        assert readable_tokens(text) == set()
    # The links are there, inert.
    for name in ("preferences", "unsubscribe", f"digests/{DAY}", f"feedback/{DAY}"):
        assert f"https://papers.example.org/{name}/preview-link/" in preview.html
        assert f"https://papers.example.org/{name}/preview-link/" in copies[0].text
    assert "/preview-link/2507.00001/more/" in preview.text
    response = Client().get("/preferences/preview-link/")
    assert response.status_code == 400 and "This link does not work" in response.content.decode()
