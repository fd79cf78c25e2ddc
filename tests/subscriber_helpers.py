"""Helpers shared by the subscription tests (not a test module)."""

from __future__ import annotations

import contextlib
import random
import re
import uuid

from django.core import mail
from django.test import Client


def unique_email(prefix: str = "reader") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def random_ip() -> str:
    # Rate limits count per IP in a cache that outlives one test (Redis in
    # CI): a fresh address per test keeps tests independent.
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def fresh_client(**defaults) -> Client:
    return Client(REMOTE_ADDR=random_ip(), **defaults)


@contextlib.contextmanager
def eager_tasks():
    """Run Celery tasks in-process (the broker is not what these tests test)."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def signup_data(email: str, *, topics=("reasoning", "agents-tools"), **overrides) -> dict:
    data = {
        "email": email,
        "topics": list(topics),
        "keywords": "",
        "frequency": "daily",
        "weekday": "0",
        "timezone": "Europe/Paris",
        "send_hour": "7",
        "leave_empty": "",
    }
    data.update(overrides)
    return data


def link_path(message, name: str) -> str:
    """The path of the first ``/<name>/<token>/`` link in an email's text part."""
    match = re.search(rf"https?://[^/\s]+(/{name}/[^/\s]+/)", message.body)
    assert match, f"no /{name}/ link in:\n{message.body}"
    return match.group(1)


def html_part(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def sent_to(email: str) -> list:
    return [m for m in mail.outbox if email in m.to]


def import_run(text: str, *, filename: str = "readers.csv", **kwargs):
    """Store CSV ``text`` as an import and run it to its end, as a worker does."""
    from subscribers.importing import subscriber_import_create, subscriber_import_run

    stored = subscriber_import_create(data=text.encode(), filename=filename, **kwargs)
    return subscriber_import_run(import_id=stored.pk)
