"""Email-provider and webhook settings fail at start-up, in one line, when a
credential is missing or malformed."""

from __future__ import annotations

import base64
import functools
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config.env import ConfigError
from config.mail import email_settings, webhook_providers, webhook_secrets, webhook_settings
from subscribers.provider_events.checks import webhooks_authenticated_check
from tests.ops.test_config_errors import run_manage

GOOD_SECRET = "hooks:Zq8-vT2pZ_w8LmN4rX7sYb1c"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("POSTMARK_API_URL", "MAILGUN_API_URL", "SENDGRID_API_URL", "BREVO_API_URL",
                 "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY",
                 "WEBHOOK_PROVIDERS", "ANYMAIL_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "debug", "message"),
    [
        ("justapassword", False, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        (":password-without-user-123", True, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        ("hooks:", True, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        ("hooks:short", False, "password is too short"),
    ],
)
def test_bad_webhook_secret_is_refused(raw, debug, message):
    with pytest.raises(ConfigError, match=message):
        webhook_secrets(raw, debug=debug)


def test_webhook_secrets_accept_rotation():
    old = "old:Yp7-uS1oY_v7KmM3qW6rXa0b"
    assert webhook_secrets(f"{GOOD_SECRET}, {old}", debug=False) == [GOOD_SECRET, old]
    assert webhook_secrets("", debug=False) == []


# --- Which webhooks are routed, and what authenticates them -----------------

@pytest.mark.parametrize(
    ("raw", "email_provider", "routed"),
    [
        ("", "smtp", []),
        ("", "file", []),
        ("", "console", []),
        ("", "locmem", []),
        ("", "postmark", ["postmark"]),
        ("", "Amazon_SES", ["amazon_ses"]),
        ("postmark", "smtp", ["postmark"]),
        (" Postmark , brevo,postmark", "mailgun", ["postmark", "brevo"]),
    ],
)
def test_only_the_sending_provider_or_the_named_ones_are_routed(raw, email_provider, routed):
    assert webhook_providers(raw, email_provider=email_provider) == routed


@pytest.mark.parametrize("raw", ["mailjet", "postmark,sparkpost", "smtp", "postmark;brevo"])
def test_a_webhook_provider_we_do_not_know_is_refused(raw):
    message = r"WEBHOOK_PROVIDERS: '.+' is not a provider with a tracking webhook; use postmark, mailgun, "
    with pytest.raises(ConfigError, match=message + "amazon_ses, brevo, sendgrid"):
        webhook_providers(raw, email_provider="smtp")


WEBHOOK_VARIABLES = ("WEBHOOK_PROVIDERS", "ANYMAIL_WEBHOOK_SECRET", "MAILGUN_WEBHOOK_SIGNING_KEY",
                     "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY")


def webhooks(env, *, email_provider="smtp", debug=False, **variables):
    """webhook_settings with exactly these variables set."""
    for name in WEBHOOK_VARIABLES:
        env.delenv(name, raising=False)
    for name, value in variables.items():
        env.setenv(name, value)
    return webhook_settings(email_provider=email_provider, anymail={}, debug=debug)


@pytest.mark.parametrize(
    ("email_provider", "variables", "message"),
    [
        ("postmark", {}, "ANYMAIL_WEBHOOK_SECRET must be set (user:password) when EMAIL_PROVIDER=postmark "
                         "and DEBUG is off; without it anyone could post to the postmark webhook"),
        ("smtp", {"WEBHOOK_PROVIDERS": "brevo"},
         "ANYMAIL_WEBHOOK_SECRET must be set (user:password) when WEBHOOK_PROVIDERS=brevo and DEBUG is off"),
        # A key SendGrid's signature could be checked with, but not set.
        ("sendgrid", {}, "without it anyone could post to the sendgrid webhook"),
        ("smtp", {"WEBHOOK_PROVIDERS": "mailgun"},
         "WEBHOOK_PROVIDERS=mailgun needs MAILGUN_WEBHOOK_SIGNING_KEY"),
        ("smtp", {"WEBHOOK_PROVIDERS": "sendgrid", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": "nope"},
         "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is not a public key"),
    ],
)
def test_a_routed_webhook_nothing_authenticates_stops_start_up(clean_env, email_provider, variables, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        webhooks(clean_env, email_provider=email_provider, **variables)


def test_a_provider_signature_or_the_basic_auth_authenticates_a_webhook(clean_env):
    signed = webhooks(clean_env, WEBHOOK_PROVIDERS="mailgun,sendgrid",
                      MAILGUN_WEBHOOK_SIGNING_KEY="signing-key-1",
                      SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY=sendgrid_public_key())
    basic = webhooks(clean_env, email_provider="postmark", ANYMAIL_WEBHOOK_SECRET=GOOD_SECRET)
    laptop = webhooks(clean_env, email_provider="postmark", debug=True, ANYMAIL_WEBHOOK_SECRET="")

    assert signed["WEBHOOK_PROVIDERS"] == ["mailgun", "sendgrid"]
    assert signed["ANYMAIL"]["MAILGUN_WEBHOOK_SIGNING_KEY"] == "signing-key-1"
    assert signed["ANYMAIL"]["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] == sendgrid_public_key()
    assert basic == {"WEBHOOK_PROVIDERS": ["postmark"], "ANYMAIL": {"WEBHOOK_SECRET": [GOOD_SECRET]}}
    assert laptop["WEBHOOK_PROVIDERS"] == ["postmark"]  # DEBUG on: anymail warns, start-up goes on


def test_local_mail_needs_no_webhook_secret(clean_env):
    expected = {"WEBHOOK_PROVIDERS": [], "ANYMAIL": {"WEBHOOK_SECRET": []}}
    assert webhooks(clean_env, email_provider="smtp") == expected


def test_deploy_check_names_each_unauthenticated_webhook(settings):
    settings.WEBHOOK_PROVIDERS = ["postmark", "mailgun", "brevo"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": [], "MAILGUN_WEBHOOK_SIGNING_KEY": "signing-key-1"}

    warnings = webhooks_authenticated_check(None)

    assert [w.id for w in warnings] == ["subscribers.W001"] * 2
    assert [w.msg.split(" tracking")[0] for w in warnings] == ["The postmark", "The brevo"]
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": [GOOD_SECRET]}
    assert webhooks_authenticated_check(None) == []


def test_mailgun_needs_its_webhook_signing_key(clean_env):
    clean_env.setenv("MAILGUN_API_KEY", "key-1")
    clean_env.setenv("MAILGUN_SENDER_DOMAIN", "mg.example.org")

    with pytest.raises(ConfigError, match="EMAIL_PROVIDER=mailgun needs MAILGUN_WEBHOOK_SIGNING_KEY"):
        email_settings("mailgun")
    clean_env.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "signing-key-1")
    assert email_settings("mailgun")["ANYMAIL"]["MAILGUN_WEBHOOK_SIGNING_KEY"] == "signing-key-1"


def test_api_url_override_must_be_http(clean_env):
    clean_env.setenv("POSTMARK_SERVER_TOKEN", "token")
    clean_env.setenv("POSTMARK_API_URL", "api.postmarkapp.com")

    with pytest.raises(ConfigError, match=r"POSTMARK_API_URL='api\.postmarkapp\.com' must be an https://"):
        email_settings("postmark")


@pytest.mark.parametrize("region", ["", "europe", "EU-WEST-1"])
def test_amazon_ses_needs_a_region_name(clean_env, region):
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_DEFAULT_REGION", region)

    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION"):
        email_settings("amazon_ses")
    clean_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert email_settings("amazon_ses")["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {"region_name": "eu-west-1"}


@functools.cache
def sendgrid_public_key() -> str:
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(public).decode()


def test_sendgrid_verification_key_must_be_a_public_key(clean_env):
    clean_env.setenv("SENDGRID_API_KEY", "SG.key")
    clean_env.setenv("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", "not a key")

    with pytest.raises(ConfigError, match="SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is not a public key"):
        email_settings("sendgrid")

    clean_env.setenv("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", sendgrid_public_key())
    assert "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY" in email_settings("sendgrid")["ANYMAIL"]


# The same checks seen from the command line: one line, exit 2.

@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": "token", "ANYMAIL_WEBHOOK_SECRET": None},
         "ANYMAIL_WEBHOOK_SECRET must be set (user:password) when EMAIL_PROVIDER=postmark and DEBUG is off"),
        ({"EMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "key", "MAILGUN_SENDER_DOMAIN": "mg.example.org",
          "MAILGUN_WEBHOOK_SIGNING_KEY": None, "ANYMAIL_WEBHOOK_SECRET": GOOD_SECRET},
         "EMAIL_PROVIDER=mailgun needs MAILGUN_WEBHOOK_SIGNING_KEY to be set"),
        ({"EMAIL_PROVIDER": "smtp", "WEBHOOK_PROVIDERS": "postmark", "ANYMAIL_WEBHOOK_SECRET": None},
         "ANYMAIL_WEBHOOK_SECRET must be set (user:password) when WEBHOOK_PROVIDERS=postmark "
         "and DEBUG is off"),
        ({"WEBHOOK_PROVIDERS": "postmark,mailjet"},
         "WEBHOOK_PROVIDERS: 'mailjet' is not a provider with a tracking webhook; use postmark, mailgun, "
         "amazon_ses, brevo, sendgrid (comma-separated)"),
    ],
)
def test_start_up_stops_with_one_line(overrides, expected):
    result = run_manage("check", **overrides)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Configuration error: {expected}")


def test_provider_with_webhook_secret_starts():
    result = run_manage("check", EMAIL_PROVIDER="postmark", POSTMARK_SERVER_TOKEN="token",
                        ANYMAIL_WEBHOOK_SECRET=GOOD_SECRET)

    assert result.returncode == 0, result.stderr


def test_local_mail_starts_without_a_webhook_secret():
    result = run_manage("check", EMAIL_PROVIDER="smtp", ANYMAIL_WEBHOOK_SECRET=None)

    assert result.returncode == 0, result.stderr


def test_check_deploy_reports_an_unauthenticated_webhook():
    # DEBUG on lets it start (a staging copy); the deploy check still says so.
    result = run_manage("check", "--deploy", DEBUG="true", WEBHOOK_PROVIDERS="postmark",
                        ANYMAIL_WEBHOOK_SECRET=None)

    assert "subscribers.W001" in result.stderr + result.stdout
    assert "The postmark tracking webhook is routed and nothing authenticates it" in result.stderr
