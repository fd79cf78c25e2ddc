"""Helpers shared by the digest tests: the Postmark settings that point
anymail's real backend at the fake provider."""

from __future__ import annotations


def use_fake_postmark(settings, fake) -> None:
    """Send through anymail's real Postmark backend to the fake provider."""
    settings.EMAIL_PROVIDER = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": fake.token, "POSTMARK_API_URL": fake.url}
