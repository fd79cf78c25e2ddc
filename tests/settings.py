"""Settings for the test suite: production-like (DEBUG off) with test
defaults for the variables production requires. The environment still wins,
so CI's DATABASE_URL and REDIS_URL are used."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("POSTAL_ADDRESS", "Daily Papers, 1 Test Street, 00000 Testville")
os.environ.setdefault("EMAIL_PROVIDER", "locmem")
os.environ.setdefault("DEFAULT_FROM_EMAIL", "Daily Papers <papers@example.org>")
os.environ.setdefault("SITE_URL", "https://papers.example.org")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Providers send this basic auth with every webhook (subprocesses inherit it).
os.environ.setdefault("ANYMAIL_WEBHOOK_SECRET", "hooks:test-webhook-password-0123456789")
# No test reaches the real paper sources: unless a test points them at its
# local fake server, they answer "connection refused" at once.
os.environ.setdefault("HF_API_URL", "http://127.0.0.1:9")
os.environ.setdefault("ARXIV_API_URL", "http://127.0.0.1:9")
# One message in flight per chunk unless a test asks for more (the sender
# pool's own tests do): send order and connection counts stay exact.
os.environ.setdefault("DIGEST_SEND_CONCURRENCY", "1")
# Tests keep their own broker folder, outbox and SQLite files apart from a
# running `make run`.
os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from config.mail import ANYMAIL_PROVIDERS
from config.settings import *  # noqa: F403
from config.settings import STORAGES

# Every provider's webhook is routed, so each one's real payloads can be
# tested; a site routes only its own provider's (config.mail.webhook_providers).
WEBHOOK_PROVIDERS = list(ANYMAIL_PROVIDERS)

# No collectstatic step in tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
