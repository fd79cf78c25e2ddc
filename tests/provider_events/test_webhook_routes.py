"""Only the configured provider's tracking webhook is routed: a forged bounce
or complaint posted to any other provider's address finds nothing there
(404) and changes nothing, and a routed webhook always needs credentials."""

from __future__ import annotations

import types

import pytest
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.urls import include, path

from subscribers.models import ProviderEvent, Subscriber, Suppression
from subscribers.provider_events.webhooks import tracking_urlpatterns
from tests import provider_payloads as p
from tests.event_helpers import process_pending, reader_status
from tests.factories import reader_make
from tests.ops.test_config_errors import run_manage

Status = Subscriber.Status
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
GOOD_SECRET = "hooks:Zq8-vT2pZ_w8LmN4rX7sYb1c"
# Every tracking webhook anymail has a view for, ours or not.
ANYMAIL_TRACKING = sorted(
    p_.name.removesuffix("_tracking_webhook") for p_ in anymail_urlpatterns
    if (p_.name or "").endswith("_tracking_webhook")
)


@pytest.fixture
def mount(settings):
    """Route the tracking webhooks of these providers only, as config/urls.py would."""

    def mount(*providers: str) -> None:
        urlconf = types.ModuleType("webhooks_urlconf")
        urlconf.urlpatterns = [
            path("anymail/", include(tracking_urlpatterns(providers=list(providers)))),
            # The pages the 404 page links to.
            path("", include("newsletter.urls")),
            path("", include("subscribers.urls")),
        ]
        settings.ROOT_URLCONF = urlconf

    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    return mount


def forged_complaints(client, email: str) -> dict[str, int]:
    """Each provider's real complaint format, with valid credentials, posted
    to its route; and a Postmark-shaped one to every other anymail route."""
    complaint_of = {
        "postmark": lambda: p.post_json(client, "/anymail/postmark/tracking/",
                                        p.postmark_spam_complaint(email)),
        "mailgun": lambda: p.post_json(client, "/anymail/mailgun/tracking/", p.mailgun_failed(
            email, signing_key=MAILGUN_KEY, reason="suppress-complaint")),
        "amazon_ses": lambda: p.post_sns(client, p.sns_notification(p.ses_complaint(email))),
        "sendgrid": lambda: p.post_json(client, "/anymail/sendgrid/tracking/", [
            p.sendgrid_event(email, "spamreport", sg_event_id="sg-forged-1")]),
        "brevo": lambda: p.post_json(client, "/anymail/brevo/tracking/", p.brevo_event(email, "spam")),
    }
    return {
        name: (complaint_of.get(name) or (lambda name=name: p.post_json(
            client, f"/anymail/{name}/tracking/", p.postmark_spam_complaint(email))))().status_code
        for name in ANYMAIL_TRACKING
    }


@pytest.mark.django_db
def test_a_forged_complaint_to_an_unrouted_webhook_changes_nothing(client, mount):
    reader = reader_make("ada@example.com")
    mount("postmark")

    answers = forged_complaints(client, "ada@example.com")
    process_pending()

    assert {name: status for name, status in answers.items() if name != "postmark"} == {
        name: 404 for name in ANYMAIL_TRACKING if name != "postmark"
    }
    # The one routed webhook still works: the complaint it carries is applied.
    assert answers["postmark"] == 200
    assert ProviderEvent.objects.get().provider == "postmark"
    assert reader_status(reader) == Status.COMPLAINED


@pytest.mark.django_db
def test_no_webhook_routed_means_no_complaint_lands(client, mount):
    reader = reader_make("ada@example.com")
    mount()

    answers = forged_complaints(client, "ada@example.com")

    assert answers == dict.fromkeys(ANYMAIL_TRACKING, 404)
    assert not ProviderEvent.objects.exists() and not Suppression.objects.exists()
    assert reader_status(reader) == Status.ACTIVE


# The real settings and URLs, in a subprocess, as docker compose runs them
# (static files unhashed: nothing ran collectstatic for the 404 page).
PROBE = (
    "from django.test import Client, override_settings; c = Client(HTTP_HOST='papers.example.org'); "
    f"names = {ANYMAIL_TRACKING!r}; "
    "static = {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}; "
    "files = {'BACKEND': 'django.core.files.storage.FileSystemStorage'}; "
    "storages = {'default': files, 'staticfiles': static}\n"
    "with override_settings(STORAGES=storages): "
    "print(' '.join(f'{n}=' + str(c.post(f'/anymail/{n}/tracking/', data='{}', "
    "content_type='application/json', secure=True).status_code) for n in names))"
)


def routed(**env) -> dict[str, int]:
    result = run_manage("shell", "--verbosity", "0", "-c", PROBE, **env)
    assert result.returncode == 0, result.stderr
    return {name: int(status) for name, status in (pair.split("=") for pair in result.stdout.split())}


@pytest.mark.parametrize("email_provider", ["smtp", "file", "console"])
def test_local_mail_routes_no_webhook_even_without_a_secret(email_provider):
    answers = routed(EMAIL_PROVIDER=email_provider, ANYMAIL_WEBHOOK_SECRET=None, WEBHOOK_PROVIDERS=None)

    assert answers == dict.fromkeys(ANYMAIL_TRACKING, 404)


def test_a_provider_routes_only_its_own_webhook():
    answers = routed(EMAIL_PROVIDER="postmark", POSTMARK_SERVER_TOKEN="token",
                     ANYMAIL_WEBHOOK_SECRET=GOOD_SECRET, WEBHOOK_PROVIDERS=None)

    # Postmark's answers, and refuses the post without its basic auth.
    assert answers == {name: 400 if name == "postmark" else 404 for name in ANYMAIL_TRACKING}


def test_webhook_providers_names_the_routes_outright():
    answers = routed(EMAIL_PROVIDER="smtp", WEBHOOK_PROVIDERS="postmark, brevo",
                     ANYMAIL_WEBHOOK_SECRET=GOOD_SECRET)

    assert answers == {name: 400 if name in {"postmark", "brevo"} else 404 for name in ANYMAIL_TRACKING}
