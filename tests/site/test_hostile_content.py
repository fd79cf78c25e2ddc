"""Hostile paper and topic content: markup and event handlers in titles,
abstracts and names, javascript: and data: links, line breaks in anything
that reaches an email header. Web pages and both email parts show it as
inert text, links go only to http(s), headers are never split."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsletter.ingest.files import papers_ingest_file
from newsletter.models import Paper, PaperTopic, Topic
from subscribers.choices import Choices
from subscribers.emails import confirmation_send, welcome_send
from subscribers.models import Subscriber
from subscribers.services import subscriber_signup
from subscribers.tokens import token_make
from tests.factories import paper_make, reader_make
from tests.fuzz_strategies import HOSTILE_STRINGS, hostile_text
from tests.html_checks import (
    assert_headers_not_split,
    assert_inert_email_html,
    assert_inert_page,
    html_problems,
    parsed_headers,
)
from tests.subscriber_helpers import html_part

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ONERROR = '"><img src=x onerror=alert(1)>'
INJECTION = "Hello\r\nBcc: victim@example.org"
BAD_LINKS = ["javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)",
             "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "ftp://example.org/"]


def hostile_paper(**fields) -> Paper:
    values = {
        "title": f"{SCRIPT} Fast attention {ONERROR}",
        "abstract": f"We {SCRIPT} propose {ONERROR} a method.",
        "ai_summary": f"{ONERROR} summary {SCRIPT}",
        "authors": [SCRIPT, ONERROR, "Ada\r\nLovelace"],
        "organization": SCRIPT,
        "github_repo": "javascript:alert(1)",
        "project_page": "data:text/html,<script>alert(1)</script>",
        "upvotes": 3,
    }
    values.update(fields)
    return paper_make(values.pop("arxiv_id", "2501.00001"), day=timezone.localdate(), **values)


def test_front_page_shows_hostile_paper_text_as_text(client):
    hostile_paper()

    html = client.get("/").content.decode()

    assert_inert_page(html)  # no script, no on*= attribute, no non-web link
    assert SCRIPT not in html and ONERROR not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Fast attention" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert ">Code" not in html and ">Project<" not in html  # no link for non-web addresses


@pytest.mark.parametrize("link", BAD_LINKS)
def test_only_web_addresses_become_links(client, link):
    hostile_paper(github_repo=link, project_page=link)

    html = client.get("/").content.decode()

    assert_inert_page(html)
    assert ">Code" not in html and ">Project<" not in html


def test_web_addresses_stay_links(client):
    hostile_paper(github_repo="https://github.com/org/repo", project_page="HTTP://project.example.org/")

    html = client.get("/").content.decode()

    assert 'href="https://github.com/org/repo">Code' in html
    assert 'href="HTTP://project.example.org/">Project' in html


def test_hostile_ingested_paper_is_inert_on_the_front_page(client, tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(json.dumps([{"paper": {
        "id": "2501.00002", "title": f"{SCRIPT}\r\n{ONERROR}", "summary": ONERROR,
        "authors": [{"name": SCRIPT}], "githubRepo": "javascript:alert(1)",
        "projectPage": "data:text/html,x", "submittedOnDailyAt": timezone.now().isoformat(),
    }}]))
    papers_ingest_file(path=path)

    html = client.get("/").content.decode()

    assert_inert_page(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img" in html


texts = st.one_of(hostile_text, st.sampled_from(HOSTILE_STRINGS))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=texts.filter(str.strip), abstract=texts, author=texts,
    link=st.one_of(texts, st.sampled_from(BAD_LINKS)),
)
# Lone surrogates (as an editor can type them in the admin's JSON): stored as U+FFFD.
@example(title="0", abstract="", author="\ud800", link="")
@example(title="0", abstract="", author="", link="\ud800")
def test_any_paper_text_renders_inert_on_the_public_pages(client, title, abstract, author, link):
    with transaction.atomic():
        cache.clear()  # the list is cached by a fingerprint of the day's papers
        paper_make(
            "2501.00003", day=timezone.localdate(), title=title.replace("\x00", "")[:500],
            abstract=abstract.replace("\x00", ""), authors=[author.replace("\x00", "")],
            github_repo=link.replace("\x00", "")[:500],
        )
        day = timezone.localdate()
        for path in ("/", "/papers/2501.00003/", f"/month/{day:%Y-%m}/", "/search/?q=0"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert_inert_page(response.content.decode())
        transaction.set_rollback(True)


def test_admin_shows_a_hostile_paper_as_text(client, django_user_model):
    paper = hostile_paper()
    django_user_model.objects.create_superuser("editor", "editor@example.org", "right-password-123")
    client.login(username="editor", password="right-password-123")

    for path in ("/admin/newsletter/paper/", f"/admin/newsletter/paper/{paper.pk}/change/"):
        html = client.get(path).content.decode()
        assert SCRIPT not in html
        assert 'href="javascript:' not in html.lower() and 'href="data:' not in html.lower()


# --- editor-written topics on the forms and in email --------------------------

@pytest.fixture
def hostile_topic():
    return Topic.objects.create(
        slug="hostile", name=f"{SCRIPT} {INJECTION}", description=ONERROR, position=99,
    )


def test_hostile_paper_and_topic_are_inert_on_every_public_page(client, hostile_topic):
    paper = hostile_paper(thumbnail="javascript:alert(1)", ai_keywords=[SCRIPT, ONERROR])
    PaperTopic.objects.create(paper=paper, topic=hostile_topic, score=1.0)
    other = hostile_paper(arxiv_id="2501.00009", thumbnail="data:image/png;base64,xx")
    PaperTopic.objects.create(paper=other, topic=hostile_topic, score=1.0)
    day = timezone.localdate()
    week = day.isocalendar()

    for path in ("/", f"/digests/{day}/", f"/week/{week.year}-W{week.week:02d}/", f"/month/{day:%Y-%m}/",
                 "/papers/2501.00001/", "/topics/", "/topics/hostile/", "/search/?q=attention",
                 f"/search/?q={SCRIPT}", "/subscribe/?topics=hostile"):
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 200, path
        assert_inert_page(html)
        assert SCRIPT not in html and ONERROR not in html, path
        assert "<img src=" not in html.replace('<img src="/static/', ""), path  # no non-web thumbnail


def test_topic_text_is_inert_on_the_signup_and_preferences_forms(client, hostile_topic):
    reader = reader_make(topics=("hostile",))

    for path in ("/subscribe/", f"/preferences/{token_make(subscriber=reader, purpose='preferences')}/"):
        html = client.get(path).content.decode()
        assert_inert_page(html)
        assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_welcome_email_shows_hostile_topics_as_text_and_keeps_its_headers(hostile_topic):
    benign = reader_make(email="carol@example.org", topics=("reasoning",))
    welcome_send(subscriber=benign)
    expected = set(parsed_headers(mail.outbox[0]).keys())
    reader = reader_make(email="ada@example.org", topics=("hostile",))

    assert welcome_send(subscriber=reader) is True

    message = mail.outbox[1]
    assert_headers_not_split(message, expected=expected)
    assert parsed_headers(message)["To"] == "ada@example.org"
    html = html_part(message)
    assert_inert_email_html(html)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The text part is text/plain: markup there is inert by nature (wrapped
    # at 78 characters, its line breaks are plain \n).
    assert f"Your topics: {SCRIPT} {INJECTION}".replace("\r\n", "\n") in message.body


def test_confirmation_email_keeps_its_headers_whatever_the_site_name(settings):
    reader = reader_make(email="ada@example.org", status=Subscriber.Status.PENDING)
    confirmation_send(subscriber=reader)
    expected = set(parsed_headers(mail.outbox[0]).keys())
    settings.SITE_NAME = f"Papers {INJECTION} {SCRIPT}"

    confirmation_send(subscriber=reader)

    message = mail.outbox[1]
    assert_headers_not_split(message, expected=expected)
    assert message.subject == f"Confirm your subscription to Papers Hello Bcc: victim@example.org {SCRIPT}"
    assert "victim@example.org" not in parsed_headers(message).get_all("To")[0]
    assert_inert_email_html(html_part(message))
    assert SCRIPT not in html_part(message)


@pytest.mark.parametrize(
    "address",
    ["ada@example.org\r\nBcc: victim@example.org", "ada@example.org\nBcc: victim@example.org",
     "ada@exa\rmple.org", "<script>@example.org", "ada@example.org, victim@example.org"],
)
def test_an_address_that_could_split_headers_is_never_stored(address):
    with pytest.raises(ValueError, match="email address"):
        subscriber_signup(email=address, choices=Choices.build(topics=["reasoning"]))

    assert not Subscriber.objects.exists()


def test_the_form_refuses_an_address_with_a_line_break():
    response = Client().post("/subscribe/", {
        "email": "ada@example.org\r\nBcc: victim@example.org", "topics": ["reasoning"], "frequency": "daily",
        "weekday": "0", "timezone": "UTC", "send_hour": "7",
    })

    assert response.status_code == 400
    assert "An email address must be on one line." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_stored_address_with_a_line_break_is_never_sent_to():
    # Written past every check (a raw SQL import): sending refuses, no header is split.
    reader = reader_make(email="ada@example.org\r\nBcc: victim@example.org",
                         status=Subscriber.Status.PENDING)

    with pytest.raises(ValueError, match="newline"):
        confirmation_send(subscriber=reader)

    assert mail.outbox == []


@pytest.mark.parametrize(
    "snippet",
    [SCRIPT, "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">x</a>',
     '<a href=" JaVaScRiPt:x">', '<a href="data:text/html,x">', '<iframe src="https://example.org/"></iframe>',
     '<body onload="x()">', '<script src="https://cdn.example.org/x.js"></script>',
     '<form action="javascript:x()">'],
)
def test_the_inertness_check_catches_what_it_looks_for(snippet):
    assert html_problems(snippet)


def test_the_inertness_check_lets_our_own_markup_through():
    html = ('<a href="https://arxiv.org/abs/2507.06607">arXiv</a> <a href="/subscribe/">Subscribe</a> '
            '<a href="mailto:papers@example.org">mail</a> '
            '<script src="/static/js/subscribe.js" defer></script>')
    assert html_problems(html) == []
    assert html_problems('<script src="/static/js/subscribe.js"></script>', script_prefixes=())
