"""Confirmation emails through the real broker and a real Celery worker,
including a signup while the broker is unreachable."""

import email
import re
from email import policy
from pathlib import Path

import pytest
import requests
from django.test import Client

from subscribers.models import Subscriber
from subscribers.tasks import sweep
from tests.conftest import VENV_BIN, broker_purge, free_port, port_open, wait_for
from tests.subscriber_helpers import random_ip, signup_data, unique_email

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def outbox_messages(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def start_worker(start_service, service_env, outbox: Path):
    env = {**service_env, "EMAIL_PROVIDER": "file", "EMAIL_OUTBOX_DIR": str(outbox),
           "SUBSCRIBERS_SWEEP_GRACE_SECONDS": "0"}
    return start_service(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
        env, "worker",
    )


def test_signup_with_the_broker_down_succeeds_and_the_sweep_sends_it_once(
    service_env, start_service, tmp_path
):
    outbox = tmp_path / "outbox"
    closed_port, web_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    web = start_service(
        [str(VENV_BIN / "gunicorn"), "config.wsgi"],
        {**service_env, "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0", "BIND": f"127.0.0.1:{web_port}",
         "WEB_CONCURRENCY": "1", "SITE_URL": base, "EMAIL_PROVIDER": "file", "EMAIL_OUTBOX_DIR": str(outbox)},
        "web",
    )
    wait_for(lambda: port_open("127.0.0.1", web_port), timeout=60, what="gunicorn to listen", service=web)

    reader = unique_email()
    session = requests.Session()
    page = session.get(f"{base}/subscribe/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{base}/subscribe/", data={**signup_data(reader), "csrfmiddlewaretoken": csrf},
                            allow_redirects=False, timeout=60)
    assert response.status_code == 303, web.output()[-3000:]
    assert response.headers["Location"] == "/subscribe/check-your-inbox/"

    subscriber = Subscriber.objects.get(email=reader)
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.confirmation_requested_at is not None
    assert subscriber.confirmation_sent_at is None
    assert subscriber.consents.count() == 1
    assert "could not enqueue subscribers.tasks.send_confirmation" in web.output()
    assert outbox_messages(outbox) == []

    # The broker is back (this process's broker is up): beat's sweep runs on a
    # real worker, twice, and the email goes out exactly once.
    broker_purge()
    worker = start_worker(start_service, service_env, outbox)
    sweep.delay()
    sweep.delay()
    wait_for(
        lambda: len(re.findall(r"Task subscribers\.tasks\.sweep\[[^\]]+\] succeeded", worker.output())) == 2,
        timeout=90, what="two sweeps to finish", service=worker,
    )
    [message] = outbox_messages(outbox)
    assert message["To"] == reader
    assert message["Subject"] == "Confirm your subscription to Daily Papers"
    text = message.get_body(("plain",)).get_content()
    assert re.search(r"https://papers\.example\.org/confirm/[^/\s]+/", text)
    subscriber.refresh_from_db()
    assert subscriber.confirmation_sent_at is not None


def test_signup_and_confirmation_emails_are_sent_by_a_real_worker(service_env, start_service, tmp_path):
    outbox = tmp_path / "outbox"
    broker_purge()
    worker = start_worker(start_service, service_env, outbox)
    client = Client(REMOTE_ADDR=random_ip())
    reader = unique_email()

    assert client.post("/subscribe/", signup_data(reader)).status_code == 303
    wait_for(lambda: len(outbox_messages(outbox)) == 1, timeout=90, what="the confirmation email",
             service=worker)
    [confirmation] = outbox_messages(outbox)
    text = confirmation.get_body(("plain",)).get_content()
    path = re.search(r"https://papers\.example\.org(/confirm/[^/\s]+/)", text).group(1)
    assert "List-Unsubscribe" not in confirmation

    assert client.post(path).status_code == 200
    wait_for(lambda: len(outbox_messages(outbox)) == 2, timeout=90, what="the welcome email", service=worker)
    welcome = outbox_messages(outbox)[1]
    assert welcome["Subject"] == "Welcome to Daily Papers"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Subscriber.objects.get(email=reader).status == Subscriber.Status.ACTIVE
