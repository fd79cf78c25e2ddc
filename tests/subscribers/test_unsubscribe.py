"""/unsubscribe/<token>/: the page with a button, and RFC 8058 one-click."""

import re

import pytest
from django.core import mail

from subscribers.emails import list_unsubscribe_headers, welcome_send
from subscribers.models import Subscriber, Suppression
from subscribers.tokens import token_make
from tests.factories import reader_make
from tests.subscriber_helpers import fresh_client

pytestmark = pytest.mark.django_db

ONE_CLICK = b"List-Unsubscribe=One-Click"


def unsubscribe_path(subscriber) -> str:
    return f"/unsubscribe/{token_make(subscriber=subscriber, purpose='unsubscribe')}/"


def provider():
    """A mailbox provider's HTTP client: no cookies, and CSRF enforced as
    for any real request."""
    return fresh_client(enforce_csrf_checks=True,
                        HTTP_USER_AGENT="Mozilla/5.0 (compatible; Google-Unsubscribe)")


def multipart_one_click() -> tuple[bytes, str]:
    boundary = "----provider0boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n'
        "\r\n"
        "One-Click\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_one_click_urlencoded_post_unsubscribes_at_once_without_cookies_or_csrf():
    subscriber = reader_make()
    client = provider()
    response = client.generic("POST", unsubscribe_path(subscriber), ONE_CLICK,
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200  # no redirect
    assert "You're unsubscribed" in response.content.decode()
    assert not client.cookies
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_one_click_multipart_post_unsubscribes():
    subscriber = reader_make()
    body, content_type = multipart_one_click()
    response = provider().generic("POST", unsubscribe_path(subscriber), body, content_type=content_type)
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_one_click_address_is_the_one_in_the_list_unsubscribe_header():
    subscriber = reader_make()
    assert welcome_send(subscriber=subscriber)
    [message] = mail.outbox
    header = message.message()["List-Unsubscribe"]
    url = re.match(r"<(https://papers\.example\.org/unsubscribe/[^>]+/)>, <mailto:", header).group(1)
    assert message.message()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = provider().generic("POST", url.removeprefix("https://papers.example.org"), ONE_CLICK,
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_list_unsubscribe_headers_offer_https_then_mailto(settings):
    settings.LIST_UNSUBSCRIBE_MAILTO = "unsubscribe@papers.example.org"
    subscriber = reader_make()
    headers = list_unsubscribe_headers(subscriber=subscriber)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert re.fullmatch(r"<https://papers\.example\.org/unsubscribe/[\w.:-]+/>", https)
    assert re.fullmatch(r"<mailto:unsubscribe@papers\.example\.org\?subject=unsubscribe%20[\w.:%-]+>", mailto)
    assert subscriber.email not in headers["List-Unsubscribe"]


def test_one_click_twice_is_harmless():
    subscriber = reader_make()
    for _ in range(2):
        response = provider().generic("POST", unsubscribe_path(subscriber), ONE_CLICK,
                                      content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200
    assert Suppression.objects.filter(lifted_at__isnull=True).count() == 1


@pytest.mark.parametrize("purpose", ["confirm", "preferences", "digest"])
def test_one_click_refuses_a_token_made_for_another_purpose(purpose):
    subscriber = reader_make()
    token = token_make(subscriber=subscriber, purpose=purpose)
    response = provider().generic("POST", f"/unsubscribe/{token}/", ONE_CLICK,
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_one_click_with_a_tampered_token_is_refused_in_words():
    subscriber = reader_make()
    response = provider().generic("POST", unsubscribe_path(subscriber)[:-5] + "XXXX/", ONE_CLICK,
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_get_shows_a_button_and_changes_nothing():
    # Mail scanners fetch every link in a message.
    subscriber = reader_make()
    response = fresh_client().get(unsubscribe_path(subscriber))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unsubscribe</button>" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "List-Unsubscribe" not in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_page_button_posts_with_csrf_and_unsubscribes():
    subscriber = reader_make()
    client = fresh_client(enforce_csrf_checks=True)
    page = client.get(unsubscribe_path(subscriber))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(unsubscribe_path(subscriber), {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    html = response.content.decode()
    assert "You're unsubscribed" in html
    assert "Subscribe again" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.parametrize(
    "body", [b"", b"List-Unsubscribe=Yes", b"list-unsubscribe=one-click", b"confirm=1"],
    ids=["empty", "other value", "wrong case", "other field"],
)
def test_a_post_that_is_not_one_click_needs_the_csrf_token(body):
    subscriber = reader_make()
    response = provider().generic("POST", unsubscribe_path(subscriber), body,
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_other_methods_are_not_allowed():
    subscriber = reader_make()
    assert fresh_client().put(unsubscribe_path(subscriber)).status_code == 405


def test_unsubscribe_suppresses_the_address_and_no_list_email_goes_out():
    subscriber = reader_make()
    provider().generic("POST", unsubscribe_path(subscriber), ONE_CLICK,
                       content_type="application/x-www-form-urlencoded")
    suppression = Suppression.objects.get()
    assert suppression.reason == Suppression.Reason.UNSUBSCRIBED
    assert suppression.detail == "reader unsubscribed (one-click)"
    # Even if the status were flipped back by mistake, the send path refuses.
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.ACTIVE)
    subscriber.refresh_from_db()
    assert welcome_send(subscriber=subscriber) is False
    assert mail.outbox == []


def test_unsubscribe_cancels_a_pending_resubscription():
    subscriber = reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=subscriber.pk).update(
        confirmation_requested_at="2026-01-01T00:00:00Z", pending_choices={"topics": ["code"]}
    )
    provider().generic("POST", unsubscribe_path(subscriber), ONE_CLICK,
                       content_type="application/x-www-form-urlencoded")
    subscriber.refresh_from_db()
    assert subscriber.confirmation_requested_at is None
    assert subscriber.pending_choices is None


def test_bounced_reader_keeps_the_bounced_status():
    subscriber = reader_make(status=Subscriber.Status.BOUNCED)
    provider().generic("POST", unsubscribe_path(subscriber), ONE_CLICK,
                       content_type="application/x-www-form-urlencoded")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED


def test_already_unsubscribed_page_says_so():
    subscriber = reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    html = fresh_client().get(unsubscribe_path(subscriber)).content.decode()
    assert "was already unsubscribed" in html
    assert "Unsubscribe</button>" not in html
