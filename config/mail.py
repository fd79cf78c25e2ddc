"""Email backends chosen by ``EMAIL_PROVIDER``, and the local outbox.

The outbox backend writes one ``.eml`` file per message under ``var/outbox/``
so a laptop without any mail server can see exactly what readers would get.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from config.env import ConfigError, env_str

# provider name -> (anymail backend path, required env vars, optional env vars)
# Optional API-URL overrides let tests and staging point a real anymail
# backend at a local fake provider.
ANYMAIL_PROVIDERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "postmark": (
        "anymail.backends.postmark.EmailBackend",
        ("POSTMARK_SERVER_TOKEN",),
        ("POSTMARK_API_URL", "POSTMARK_MESSAGE_STREAM"),
    ),
    "mailgun": (
        "anymail.backends.mailgun.EmailBackend",
        # Without its own signing key anymail would check webhook signatures
        # with the API key, which Mailgun no longer uses to sign: every
        # event would be refused.
        ("MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN", "MAILGUN_WEBHOOK_SIGNING_KEY"),
        ("MAILGUN_API_URL",),
    ),
    "amazon_ses": (
        "anymail.backends.amazon_ses.EmailBackend",
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"),
        ("AMAZON_SES_CONFIGURATION_SET_NAME",),
    ),
    "brevo": (
        "anymail.backends.brevo.EmailBackend",
        ("BREVO_API_KEY",),
        ("BREVO_API_URL",),
    ),
    "sendgrid": (
        "anymail.backends.sendgrid.EmailBackend",
        ("SENDGRID_API_KEY",),
        ("SENDGRID_API_URL", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"),
    ),
}

LOCAL_BACKENDS = {
    "file": "config.mail.OutboxBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    # In-memory, for tests only.
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}

PROVIDER_NAMES = (*LOCAL_BACKENDS, *ANYMAIL_PROVIDERS)


def email_settings(provider: str) -> dict:
    """Settings for the chosen provider. Missing credentials fail here, at
    start-up, rather than at the first send hours later."""
    provider = provider.lower()
    if provider in LOCAL_BACKENDS:
        return {"EMAIL_BACKEND": LOCAL_BACKENDS[provider], "ANYMAIL": {}}
    if provider not in ANYMAIL_PROVIDERS:
        raise ConfigError(
            f"EMAIL_PROVIDER={provider!r} is unknown; choose one of {', '.join(PROVIDER_NAMES)}"
        )
    backend, required, optional = ANYMAIL_PROVIDERS[provider]
    missing = [name for name in required if not env_str(name)]
    if missing:
        raise ConfigError(f"EMAIL_PROVIDER={provider} needs {', '.join(missing)} to be set")
    _check_credentials(provider, (*required, *optional))
    anymail: dict = {}
    if provider == "amazon_ses":
        try:
            # boto3 is optional (the ses extra): only an SES setup needs it.
            import boto3  # noqa: F401
        except ImportError:
            raise ConfigError(
                "EMAIL_PROVIDER=amazon_ses needs boto3; install it with pip install '.[ses]'"
            ) from None
        anymail["AMAZON_SES_CLIENT_PARAMS"] = {"region_name": env_str("AWS_DEFAULT_REGION")}
        if env_str("AMAZON_SES_CONFIGURATION_SET_NAME"):
            anymail["AMAZON_SES_CONFIGURATION_SET_NAME"] = env_str(
                "AMAZON_SES_CONFIGURATION_SET_NAME"
            )
    else:
        for name in (*required, *optional):
            if env_str(name) and name != "POSTMARK_MESSAGE_STREAM":
                anymail[name] = env_str(name)
    return {"EMAIL_BACKEND": backend, "ANYMAIL": anymail}


AWS_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
MIN_WEBHOOK_PASSWORD = 16


def _check_credentials(provider: str, names: tuple[str, ...]) -> None:
    """Catch malformed credentials we can recognise without asking the
    provider, so they fail at start-up rather than at the first send."""
    for name in names:
        value = env_str(name)
        if name.endswith("_API_URL") and value and not value.startswith(("https://", "http://")):
            raise ConfigError(f"{name}={value!r} must be an https:// address")
    region = env_str("AWS_DEFAULT_REGION")
    if provider == "amazon_ses" and not AWS_REGION_RE.match(region):
        raise ConfigError(f"AWS_DEFAULT_REGION={region!r} is not an AWS region name (e.g. eu-west-1)")
    if provider == "sendgrid":
        _check_sendgrid_key()


def _check_sendgrid_key() -> None:
    key = env_str("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY")
    if not key:
        return
    # cryptography comes with optional extras, not with every install: only
    # a SendGrid verification key needs it.
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        load_pem_public_key(f"-----BEGIN PUBLIC KEY-----\n{key}\n-----END PUBLIC KEY-----".encode())
    except (ValueError, TypeError):
        raise ConfigError(
            "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is not a public key; copy the "
            "verification key from SendGrid's Event Webhook settings"
        ) from None


def webhook_secrets(raw: str, *, debug: bool) -> list[str]:
    """The ``user:password`` pairs providers must send with every webhook
    (several, comma-separated, while rotating)."""
    secrets = [part.strip() for part in raw.split(",") if part.strip()]
    for secret in secrets:
        user, sep, password = secret.partition(":")
        if not (sep and user and password):
            raise ConfigError("ANYMAIL_WEBHOOK_SECRET must be user:password (several separated by commas)")
        if not debug and len(password) < MIN_WEBHOOK_PASSWORD:
            raise ConfigError(
                f"ANYMAIL_WEBHOOK_SECRET's password is too short; use at least {MIN_WEBHOOK_PASSWORD} "
                "random characters"
            )
    return secrets


# The key anymail checks a provider's own webhook signature with: a routed
# webhook with one is authenticated even without the basic auth. Mailgun
# signs every webhook; SendGrid once its Event Webhook's signing is on.
# Postmark, Brevo and Amazon SES (anymail does not check SNS's signature)
# have only the basic auth.
WEBHOOK_SIGNATURE_KEYS = {
    "mailgun": "MAILGUN_WEBHOOK_SIGNING_KEY",
    "sendgrid": "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
}


def webhook_providers(raw: str, *, email_provider: str) -> list[str]:
    """The providers whose tracking webhook is routed: those
    ``WEBHOOK_PROVIDERS`` names (comma-separated), else the one
    ``EMAIL_PROVIDER`` sends through; none for smtp, file and console. Any
    other provider's webhook address answers 404."""
    names = list(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    for name in names:
        if name not in ANYMAIL_PROVIDERS:
            raise ConfigError(
                f"WEBHOOK_PROVIDERS: {name!r} is not a provider with a tracking webhook; "
                f"use {', '.join(ANYMAIL_PROVIDERS)} (comma-separated)"
            )
    if names:
        return names
    email_provider = email_provider.lower()
    return [email_provider] if email_provider in ANYMAIL_PROVIDERS else []


def webhooks_unauthenticated(*, providers: list[str], anymail: dict) -> list[str]:
    """The routed webhooks anyone could post to: no basic auth and no key of
    the provider's own to check its signature with."""
    if anymail.get("WEBHOOK_SECRET"):
        return []
    return [
        name for name in providers
        if name not in WEBHOOK_SIGNATURE_KEYS or not anymail.get(WEBHOOK_SIGNATURE_KEYS[name])
    ]


def webhook_settings(*, email_provider: str, anymail: dict, debug: bool) -> dict:
    """``WEBHOOK_PROVIDERS`` and the ``ANYMAIL`` settings their webhooks are
    checked with. With DEBUG off, a routed webhook nothing authenticates
    stops start-up: anyone could post bounces and complaints and suppress
    any reader."""
    raw = env_str("WEBHOOK_PROVIDERS")
    providers = webhook_providers(raw, email_provider=email_provider)
    named_by = f"WEBHOOK_PROVIDERS={','.join(providers)}" if raw else f"EMAIL_PROVIDER={email_provider}"
    anymail = {**anymail, "WEBHOOK_SECRET": webhook_secrets(env_str("ANYMAIL_WEBHOOK_SECRET"), debug=debug)}
    for name in providers:
        key = WEBHOOK_SIGNATURE_KEYS.get(name)
        if key and env_str(key):
            anymail[key] = env_str(key)
    if "mailgun" in providers and not anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY"):
        # Anymail would refuse every Mailgun webhook without it.
        raise ConfigError(f"{named_by} needs MAILGUN_WEBHOOK_SIGNING_KEY to be set")
    if "sendgrid" in providers:
        _check_sendgrid_key()
    unauthenticated = webhooks_unauthenticated(providers=providers, anymail=anymail)
    if unauthenticated and not debug:
        raise ConfigError(
            f"ANYMAIL_WEBHOOK_SECRET must be set (user:password) when {named_by} and DEBUG is off; "
            f"without it anyone could post to the {', '.join(unauthenticated)} webhook "
            "(the provider's webhook URL carries it)"
        )
    return {"WEBHOOK_PROVIDERS": providers, "ANYMAIL": anymail}


class OutboxBackend(BaseEmailBackend):
    """Writes each message to ``EMAIL_OUTBOX_DIR/<time>-<id>.eml``.

    Files are written under a temporary name and renamed, so a reader of the
    folder never sees half a message.
    """

    _lock = threading.Lock()

    def send_messages(self, email_messages):
        outbox = Path(settings.EMAIL_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            tmp = outbox / f".{name}.tmp"
            data = message.message().as_bytes(linesep="\n")
            with self._lock:
                tmp.write_bytes(data)
                os.replace(tmp, outbox / name)
            sent += 1
        return sent


def bulk_message_options(*, provider: str | None = None) -> dict:
    """Attributes every bulk (list) message carries for the configured
    provider, e.g. Postmark's broadcast message stream, so digests never share
    a reputation stream with transactional mail. Apply with
    ``for k, v in bulk_message_options().items(): setattr(message, k, v)``."""
    provider = (provider or settings.EMAIL_PROVIDER).lower()
    if provider == "postmark":
        return {"esp_extra": {"MessageStream": settings.POSTMARK_MESSAGE_STREAM}}
    # Others separate bulk mail by account settings (SES: the configuration
    # set in AMAZON_SES_CONFIGURATION_SET_NAME) or need nothing per message.
    return {}
