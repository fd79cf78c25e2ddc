"""Daily Papers settings, read from the environment.

Every variable is listed with a comment in ``.env.example``. Safe local
defaults (SQLite, an embedded broker, emails as files) need no services;
production refuses to start without a real SECRET_KEY.
"""

import re
import zoneinfo
from email.utils import parseaddr
from pathlib import Path

from celery.schedules import crontab

from config.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)
from config.mail import email_settings, webhook_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# A development key is only acceptable while DEBUG is on; anything that can
# sign unsubscribe links in production must be a real secret.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off (generate one with "
                          "python -c 'import secrets; print(secrets.token_urlsafe(50))')")
    SECRET_KEY = _DEV_SECRET_KEY
elif len(SECRET_KEY) < 32 and not DEBUG:
    raise ConfigError("SECRET_KEY is too short for production; use at least 50 random characters")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must be set when DEBUG is off (e.g. papers.example.org)")

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ConfigError(f"SITE_URL={SITE_URL!r} must start with http:// or https://")
SITE_NAME = env_str("SITE_NAME", "Daily Papers")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "anymail",
    "newsletter",
    "subscribers",
]

MIDDLEWARE = [
    # Outermost: its headers go on every answer, the https redirect included.
    "config.security.SecurityHeadersMiddleware",
    "config.errors.MethodNotAllowedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body: refuses oversized webhook posts.
    "subscribers.provider_events.guard.WebhookGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses pages the views did not (the front page comes compressed
    # from its cache). After WhiteNoise, which serves static files already
    # compressed; before anything else that reads or writes the body.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), base_dir=BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis when REDIS_URL is set; otherwise an embedded broker (kombu's
# filesystem transport under var/) so the real worker and beat still run on a
# laptop with nothing installed.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigError(f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://")

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died unacknowledged comes back after this long.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=10),
    }
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dp",
            # Fail fast: a page waits at most this long for a missing Redis.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            # Shared between web, worker and beat processes (rate limits).
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

if not REDIS_URL:
    # The filesystem transport has no fanout exchange for remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # every task may run twice: idempotency lives in the database
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
TASTES_REFRESH_EVERY_SECONDS = env_int("TASTES_REFRESH_EVERY_SECONDS", 900, minimum=60)
SUBSCRIBERS_SWEEP_EVERY_SECONDS = env_int("SUBSCRIBERS_SWEEP_EVERY_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "newsletter.tasks.heartbeat",
        "schedule": env_int("HEARTBEAT_EVERY_SECONDS", 60, minimum=5),
    },
    # Provider events whose processing task was lost (broker down, worker
    # killed) are picked up here.
    "provider-events-sweep": {
        "task": "subscribers.tasks.sweep_provider_events",
        "schedule": env_int("PROVIDER_EVENTS_SWEEP_SECONDS", 60, minimum=5),
    },
    # Sends confirmation and welcome emails whose task never ran (broker
    # down at signup, worker crash); see subscribers/confirmations.py.
    "subscribers-sweep": {
        "task": "subscribers.tasks.sweep",
        "schedule": SUBSCRIBERS_SWEEP_EVERY_SECONDS,
    },
    # Readers' clicks in digests teach their tastes (weakly): rebuilt here.
    "reader-tastes-refresh": {
        "task": "newsletter.tasks.reader_tastes_refresh",
        "schedule": TASTES_REFRESH_EVERY_SECONDS,
    },
}

# Email
EMAIL_PROVIDER = env_str("EMAIL_PROVIDER", "file").lower()
_email = email_settings(EMAIL_PROVIDER)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
# The providers whose tracking webhook config/urls.py routes (WEBHOOK_PROVIDERS,
# else EMAIL_PROVIDER's), and the basic auth and signature keys they need.
_webhooks = webhook_settings(email_provider=EMAIL_PROVIDER, anymail=_email["ANYMAIL"], debug=DEBUG)
WEBHOOK_PROVIDERS = _webhooks["WEBHOOK_PROVIDERS"]
ANYMAIL = _webhooks["ANYMAIL"]
# Webhook posts larger than this are refused with 413 before being read.
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# This many soft bounces (on different messages) within the window suppress
# an address, as a hard bounce would.
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3, minimum=1)
SOFT_BOUNCE_WINDOW_DAYS = env_int("SOFT_BOUNCE_WINDOW_DAYS", 30, minimum=1)
EMAIL_OUTBOX_DIR = Path(env_str("EMAIL_OUTBOX_DIR", str(VAR_DIR / "outbox")))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Daily Papers <papers@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
POSTMARK_MESSAGE_STREAM = env_str("POSTMARK_MESSAGE_STREAM", "broadcast")
POSTAL_ADDRESS = env_str("POSTAL_ADDRESS", "Daily Papers, 1 Example Street, 00000 Example City")
if not DEBUG and not env_str("POSTAL_ADDRESS"):
    raise ConfigError("POSTAL_ADDRESS must be set when DEBUG is off (it is in every email footer)")

# Subscriptions: abuse limits on /subscribe/ and "resend confirmation",
# counted in the cache (Redis when REDIS_URL is set).
SUBSCRIBE_RATE_WINDOW_SECONDS = env_int("SUBSCRIBE_RATE_WINDOW_SECONDS", 3600, minimum=1)
SUBSCRIBE_RATE_PER_IP = env_int("SUBSCRIBE_RATE_PER_IP", 20, minimum=1)
# Client addresses the per-IP signup limit ignores (e.g. a load-test client).
RATE_LIMIT_EXEMPT_IPS = env_list("RATE_LIMIT_EXEMPT_IPS")
SUBSCRIBE_RATE_PER_ADDRESS = env_int("SUBSCRIBE_RATE_PER_ADDRESS", 3, minimum=1)
# After an email is owed to an address (a confirmation, a preferences link),
# asking again within this many seconds owes no second copy.
SUBSCRIBE_EMAIL_COOLDOWN_SECONDS = env_int("SUBSCRIBE_EMAIL_COOLDOWN_SECONDS", 300, minimum=0)
# Feedback pages ("More like this", "Rate these papers") per client address
# and window: generous for a reader, a wall for a script.
FEEDBACK_RATE_PER_IP = env_int("FEEDBACK_RATE_PER_IP", 120, minimum=1)
# Days a link to a reader's preferences page (which can export and erase
# their data) works; every digest brings a fresh one, and an expired link
# offers to email a new one. Unsubscribe links never expire (RFC 8058).
PREFERENCES_LINK_MAX_AGE_DAYS = env_int("PREFERENCES_LINK_MAX_AGE_DAYS", 90, minimum=1)
# Reverse proxies in front of the app that append to X-Forwarded-For (0: use
# the socket's address; a wrong value lets clients pick their own rate-limit key).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Seconds the sweep leaves a fresh confirmation or welcome email to its own task.
SUBSCRIBERS_SWEEP_GRACE_SECONDS = env_int("SUBSCRIBERS_SWEEP_GRACE_SECONDS", 120, minimum=0)
# Confirmation (and welcome) emails one sweep sends at most: the pace at which
# a CSV import's pending readers get theirs.
SUBSCRIBERS_SWEEP_BATCH = env_int("SUBSCRIBERS_SWEEP_BATCH", 500, minimum=1)
# The mailto: half of every List-Unsubscribe header (default: the sender's address).
LIST_UNSUBSCRIBE_MAILTO = env_str("LIST_UNSUBSCRIBE_MAILTO") or parseaddr(DEFAULT_FROM_EMAIL)[1]
if "@" not in LIST_UNSUBSCRIBE_MAILTO:
    raise ConfigError(
        f"LIST_UNSUBSCRIBE_MAILTO={LIST_UNSUBSCRIBE_MAILTO!r} is not an email address "
        "(it defaults to the address in DEFAULT_FROM_EMAIL)"
    )

# Papers and digests
HF_API_URL = env_str("HF_API_URL", "https://huggingface.co").rstrip("/")
ARXIV_API_URL = env_str("ARXIV_API_URL", "https://export.arxiv.org").rstrip("/")
for _name, _url in (("HF_API_URL", HF_API_URL), ("ARXIV_API_URL", ARXIV_API_URL)):
    if not _url.startswith(("http://", "https://")):
        raise ConfigError(f"{_name}={_url!r} must start with http:// or https://")
ARXIV_CATEGORIES = env_list("ARXIV_CATEGORIES", "cs.CL,cs.LG,cs.AI,cs.CV")
for _category in ARXIV_CATEGORIES:
    if not re.match(r"^[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$", _category):
        raise ConfigError(f"ARXIV_CATEGORIES: {_category!r} is not an arXiv category (e.g. cs.CL)")
HF_PAGE_SIZE = env_int("HF_PAGE_SIZE", 50, minimum=1)
HF_MAX_PAGES = env_int("HF_MAX_PAGES", 20, minimum=1)
ARXIV_PAGE_SIZE = env_int("ARXIV_PAGE_SIZE", 100, minimum=1)
ARXIV_MAX_RESULTS = env_int("ARXIV_MAX_RESULTS", 200, minimum=1)
# arXiv's terms: no more than one request every three seconds.
ARXIV_REQUEST_INTERVAL_SECONDS = env_float("ARXIV_REQUEST_INTERVAL_SECONDS", 3.0, minimum=0.0)
INGEST_HTTP_TIMEOUT_SECONDS = env_float("INGEST_HTTP_TIMEOUT_SECONDS", 30.0, minimum=0.1)
INGEST_HTTP_RETRIES = env_int("INGEST_HTTP_RETRIES", 3, minimum=0)
INGEST_HTTP_BACKOFF_SECONDS = env_float("INGEST_HTTP_BACKOFF_SECONDS", 2.0, minimum=0.0)
INGEST_HTTP_BACKOFF_MAX_SECONDS = env_float("INGEST_HTTP_BACKOFF_MAX_SECONDS", 60.0, minimum=0.0)
# Schedules (UTC). 0 minutes turns the Hugging Face refresh off; an empty
# ARXIV_CATEGORIES turns the arXiv run off.
INGEST_HF_EVERY_MINUTES = env_int("INGEST_HF_EVERY_MINUTES", 60, minimum=0)
INGEST_ARXIV_HOUR_UTC = env_int("INGEST_ARXIV_HOUR_UTC", 6, minimum=0)
if INGEST_ARXIV_HOUR_UTC > 23:
    raise ConfigError(f"INGEST_ARXIV_HOUR_UTC={INGEST_ARXIV_HOUR_UTC} must be an hour from 0 to 23")
if INGEST_HF_EVERY_MINUTES:
    CELERY_BEAT_SCHEDULE["ingest-hf-recent"] = {
        "task": "newsletter.tasks.ingest_hf_recent",
        "schedule": INGEST_HF_EVERY_MINUTES * 60,
    }
if ARXIV_CATEGORIES:
    CELERY_BEAT_SCHEDULE["ingest-arxiv-daily"] = {
        "task": "newsletter.tasks.ingest_arxiv_daily",
        "schedule": crontab(minute=15, hour=INGEST_ARXIV_HOUR_UTC),
    }
DIGEST_MAX_PAPERS = env_int("DIGEST_MAX_PAPERS", 10, minimum=1)
DIGEST_TRENDING_PAPERS = env_int("DIGEST_TRENDING_PAPERS", 3, minimum=0)
# Beat looks for readers whose local send hour has come this often.
DIGEST_SCHEDULE_EVERY_SECONDS = env_int("DIGEST_SCHEDULE_EVERY_SECONDS", 300, minimum=10)
DIGEST_CHUNK_SIZE = env_int("DIGEST_CHUNK_SIZE", 200, minimum=1)
# Digests in flight at once per worker process: its sending threads, each with
# its own kept-alive provider connection (a provider answering in 100 ms needs
# many), and the most digests a chunk has claimed and not yet recorded.
DIGEST_SEND_CONCURRENCY = env_int("DIGEST_SEND_CONCURRENCY", 16, minimum=1)
# Transient provider failures (network, timeouts, 429, 5xx): attempts per
# digest, and the exponential backoff between them (with jitter).
DIGEST_MAX_ATTEMPTS = env_int("DIGEST_MAX_ATTEMPTS", 5, minimum=1)
DIGEST_RETRY_BASE_SECONDS = env_float("DIGEST_RETRY_BASE_SECONDS", 30.0, minimum=0.0)
DIGEST_RETRY_MAX_SECONDS = env_float("DIGEST_RETRY_MAX_SECONDS", 1800.0, minimum=0.0)
# A digest claimed for sending longer ago than this was interrupted (its
# worker died): it ends failed, never re-sent.
# Keep it well above EMAIL_TIMEOUT. (The minimum is low so fault tests can
# watch the sweep at work; production keeps the default.)
DIGEST_SENDING_TIMEOUT_SECONDS = env_int("DIGEST_SENDING_TIMEOUT_SECONDS", 900, minimum=10)
# A send that got no answer (ambiguous or interrupted) is looked up at the
# provider this long after it was claimed (where the provider has a search:
# Postmark), long enough for its search to see the message; found -> sent,
# certainly not found -> sent once more. While the provider cannot answer,
# asked again every so often, until DIGEST_RECONCILE_GIVE_UP_SECONDS: then failed.
DIGEST_RECONCILE_AFTER_SECONDS = env_int("DIGEST_RECONCILE_AFTER_SECONDS", 300, minimum=1)
DIGEST_RECONCILE_GIVE_UP_SECONDS = env_int("DIGEST_RECONCILE_GIVE_UP_SECONDS", 4 * 3600, minimum=60)
# A pending digest untouched this long lost its task: it is enqueued again.
DIGEST_PENDING_REQUEUE_SECONDS = env_int("DIGEST_PENDING_REQUEUE_SECONDS", 1800, minimum=10)
# How far back "already received" looks (papers trend for days, not months).
DIGEST_REPEAT_WINDOW_DAYS = env_int("DIGEST_REPEAT_WINDOW_DAYS", 60, minimum=1)

# Beat: digests for readers whose hour has come, and the sweep that ends
# interrupted sends and re-enqueues digests whose task was lost.
CELERY_BEAT_SCHEDULE["digests-schedule"] = {
    "task": "newsletter.tasks.digests_schedule",
    "schedule": DIGEST_SCHEDULE_EVERY_SECONDS,
}
CELERY_BEAT_SCHEDULE["deliveries-sweep"] = {
    "task": "newsletter.tasks.deliveries_sweep",
    "schedule": DIGEST_SCHEDULE_EVERY_SECONDS,
}
# Messages per second to the provider across ALL workers (a token bucket in
# Redis; not enforced without Redis). 0: no limit.
EMAIL_RATE_LIMIT = env_float("EMAIL_RATE_LIMIT", 0.0, minimum=0.0)

# Internationalization
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ConfigError(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone (e.g. Europe/Paris)") from None
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# The manifest storage whatever DEBUG says: collectstatic under `make run`
# (DEBUG on) then leaves the manifest DEBUG off needs, and with DEBUG on
# {% static %} names the unhashed files anyway.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Security: secure by default in production, relaxed for local http.
SESSION_COOKIE_SECURE = not DEBUG and SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [SITE_URL]
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
# X-Forwarded-Proto is believed only behind a declared proxy (which must set
# it, not pass on the client's); from a client it is whatever they claim.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
ADMIN_LOGIN_MAX_FAILURES = env_int("ADMIN_LOGIN_MAX_FAILURES", 10, minimum=1)
ADMIN_LOGIN_WINDOW_SECONDS = env_int("ADMIN_LOGIN_WINDOW_SECONDS", 900, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact": {"()": "config.security.RedactingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "newsletter": {"level": LOG_LEVEL},
        "subscribers": {"level": LOG_LEVEL},
        # These two quote request paths, which carry tokens: redacted at the
        # source, so every handler (Sentry, a file, tests) gets the masked line.
        "django.request": {"level": "ERROR", "filters": ["redact"]},
        "django.security.csrf": {"filters": ["redact"]},
        # runserver's request lines carry URLs with tokens: redacted too.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
