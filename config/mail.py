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
    key = env_str("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY")
    if provider == "sendgrid" and key:
        # cryptography comes with optional extras, not with every install:
        # only a SendGrid verification key needs it.
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            load_pem_public_key(f"-----BEGIN PUBLIC KEY-----\n{key}\n-----END PUBLIC KEY-----".encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY is not a public key; copy the "
                "verification key from SendGrid's Event Webhook settings"
            ) from None


def webhook_secrets(raw: str, *, provider: str, debug: bool) -> list[str]:
    """The ``user:password`` pairs providers must send with every webhook
    (several, comma-separated, while rotating). Required once a real
    provider sends mail and DEBUG is off: without it anyone could post
    bounces and unsubscribe readers."""
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
    if not secrets and not debug and provider.lower() in ANYMAIL_PROVIDERS:
        raise ConfigError(
            f"ANYMAIL_WEBHOOK_SECRET must be set (user:password) when EMAIL_PROVIDER={provider.lower()} "
            "and DEBUG is off; the provider's webhook URL carries it"
        )
    return secrets


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
