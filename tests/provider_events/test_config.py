"""Email-provider and webhook settings fail at start-up, in one line, when a
credential is missing or malformed."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config.env import ConfigError
from config.mail import email_settings, webhook_secrets
from tests.ops.test_config_errors import run_manage

GOOD_SECRET = "hooks:Zq8-vT2pZ_w8LmN4rX7sYb1c"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("POSTMARK_API_URL", "MAILGUN_API_URL", "SENDGRID_API_URL", "BREVO_API_URL",
                 "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "debug", "message"),
    [
        ("", False, "ANYMAIL_WEBHOOK_SECRET must be set (user:password) when EMAIL_PROVIDER=postmark"),
        ("justapassword", False, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        (":password-without-user-123", True, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        ("hooks:", True, "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        ("hooks:short", False, "password is too short"),
    ],
)
def test_bad_webhook_secret_is_refused(raw, debug, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        webhook_secrets(raw, provider="postmark", debug=debug)


def test_webhook_secrets_accept_rotation_and_local_modes():
    old = "old:Yp7-uS1oY_v7KmM3qW6rXa0b"
    assert webhook_secrets(f"{GOOD_SECRET}, {old}", provider="postmark", debug=False) == [GOOD_SECRET, old]
    assert webhook_secrets("", provider="postmark", debug=True) == []  # a laptop
    assert webhook_secrets("", provider="file", debug=False) == []  # no provider, no webhooks


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


def test_sendgrid_verification_key_must_be_a_public_key(clean_env):
    clean_env.setenv("SENDGRID_API_KEY", "SG.key")
    clean_env.setenv("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", "not a key")

    with pytest.raises(ConfigError, match="SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is not a public key"):
        email_settings("sendgrid")

    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    clean_env.setenv("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", base64.b64encode(public).decode())
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
