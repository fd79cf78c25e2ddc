"""Preferences links open the reader's data (export, erase), so they expire
(``PREFERENCES_LINK_MAX_AGE_DAYS``) and come only by email: an expired one,
and the pages of links that never expire (unsubscribe, the web copy) or are
used up (confirmation), offer a button that emails a fresh one."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscribers.models import Subscriber, Suppression
from subscribers.suppression import suppression_add
from subscribers.tokens import token_make
from tests.factories import edition_small, reader_make
from tests.subscriber_helpers import fresh_client, html_part, link_path, sent_to

pytestmark = pytest.mark.django_db

PREFERENCES_LINK = re.compile(r"/preferences/(?!new-link/)[^/\s\"']+/")


def _button_action(html: str) -> str:
    return re.search(r'<form method="post" action="([^"]+)">', html).group(1)


def test_the_expired_page_emails_a_fresh_link_that_works(run, settings):
    settings.PREFERENCES_LINK_MAX_AGE_DAYS = 30
    reader = reader_make("ada@example.org")
    old = f"/preferences/{token_make(subscriber=reader, purpose='preferences')}/"
    later = timezone.now() + timedelta(days=31)
    with time_machine.travel(later, tick=False):
        client = fresh_client()
        page = client.get(old)
        assert page.status_code == 410
        html = page.content.decode()
        assert "Email me a new link</button>" in html
        assert mail.outbox == []  # a GET sends nothing
        answer = run(client.post, _button_action(html))
        assert answer.status_code == 200
        assert "A new link to your preferences is on its way to <strong>a•••@example.org" in (
            answer.content.decode())
        [message] = sent_to("ada@example.org")
        assert message.subject == "Your Daily Papers preferences link"
        assert "List-Unsubscribe" not in message.extra_headers  # asked for, not list mail
        fresh = link_path(message, "preferences")
        assert fresh in html_part(message)
        assert client.get(fresh).status_code == 200
        assert client.get(old).status_code == 410


def test_a_link_with_a_changed_address_gets_no_new_link(run):
    reader = reader_make("ada@example.org")
    token = token_make(subscriber=reader, purpose="preferences")
    Subscriber.objects.filter(pk=reader.pk).update(email="ada.new@example.org")
    for path in (f"/preferences/new-link/preferences/{token}/", f"/preferences/new-link/feed/{token}/"):
        response = run(fresh_client().post, path)
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert mail.outbox == []


def test_an_unsubscribed_reader_may_still_get_a_link_to_their_data_but_a_bounced_one_not(run):
    left = reader_make("left@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    suppression_add(email=left.email, reason=Suppression.Reason.UNSUBSCRIBED)
    bounced = reader_make("bounced@example.org", status=Subscriber.Status.BOUNCED)
    suppression_add(email=bounced.email, reason=Suppression.Reason.BOUNCED)
    for reader in (left, bounced):
        token = token_make(subscriber=reader, purpose="unsubscribe")
        response = run(fresh_client().post, f"/preferences/new-link/unsubscribe/{token}/")
        assert response.status_code == 200  # the same answer for both
    assert [m.to for m in mail.outbox] == [["left@example.org"]]


@pytest.mark.usefixtures("one_rate_window")
def test_asking_again_and_again_sends_only_a_few(run, settings):
    settings.SUBSCRIBE_EMAIL_COOLDOWN_SECONDS = 0  # the limit, not the cooldown, is tested here
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 2
    reader = reader_make("ada@example.org")
    path = f"/preferences/new-link/digest/{token_make(subscriber=reader, purpose='digest')}/"
    for _ in range(4):
        assert run(fresh_client().post, path).status_code == 200
    assert len(sent_to("ada@example.org")) == 2


def test_a_used_confirmation_link_offers_to_email_a_preferences_link_instead_of_showing_one(run):
    reader = reader_make("ada@example.org", status=Subscriber.Status.PENDING)
    path = f"/confirm/{token_make(subscriber=reader, purpose='confirm')}/"
    confirmed = run(fresh_client().post, path).content.decode()
    assert PREFERENCES_LINK.search(confirmed)  # the click that confirms may go straight there
    for again in (fresh_client().get(path), run(fresh_client().post, path)):
        html = again.content.decode()
        assert "You're subscribed" in html
        assert not PREFERENCES_LINK.search(html)
        assert f'href="/preferences/new-link/confirm/{path.split("/")[2]}/"' in html


def test_the_unsubscribe_pages_offer_to_email_a_preferences_link_instead_of_showing_one(run):
    reader = reader_make("ada@example.org")
    token = token_make(subscriber=reader, purpose="unsubscribe")
    client = fresh_client()
    for response in (client.get(f"/unsubscribe/{token}/"), client.post(f"/unsubscribe/{token}/"),
                     client.get(f"/unsubscribe/{token}/")):
        html = response.content.decode()
        assert not PREFERENCES_LINK.search(html)
        assert f'href="/preferences/new-link/unsubscribe/{token}/"' in html
    offer = client.get(f"/preferences/new-link/unsubscribe/{token}/")
    assert "Email me the link</button>" in offer.content.decode()
    assert mail.outbox == []
    run(client.post, f"/preferences/new-link/unsubscribe/{token}/")
    assert len(sent_to("ada@example.org")) == 1


def test_the_web_copy_offers_to_email_a_preferences_link(client):
    edition_small()
    reader = reader_make("ada@example.org", topics=("quantization-compression",))
    token = token_make(subscriber=reader, purpose="digest")
    html = client.get(f"/digests/2025-07-10/{token}/").content.decode()
    assert f'href="/preferences/new-link/digest/{token}/">Manage preferences</a>' in html
    assert not PREFERENCES_LINK.search(html)
