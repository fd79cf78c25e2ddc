"""A task enqueued by the web process is executed by a real Celery worker."""

import pytest

from newsletter.models import WorkerPing
from tests.conftest import VENV_BIN, broker_purge, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_admin_ping_is_answered_by_a_real_worker(admin_client, service_env, start_service):
    broker_purge()
    worker = start_service(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
        service_env, "worker",
    )
    page = admin_client.get("/admin/worker/")
    assert "No worker has answered yet" in page.content.decode()

    response = admin_client.post("/admin/worker/")
    assert response.status_code == 302
    ping = WorkerPing.objects.get()
    assert ping.answered_at is None

    wait_for(
        lambda: WorkerPing.objects.filter(pk=ping.pk, answered_at__isnull=False).exists(),
        timeout=60, what="the worker to answer the ping", service=worker,
    )
    assert "A worker last answered" in admin_client.get("/admin/worker/").content.decode()
