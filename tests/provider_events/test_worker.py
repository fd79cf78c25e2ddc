"""A bounce posted to the webhook is processed by a real Celery worker
(Redis and PostgreSQL under CI=true), not by the web process."""

import pytest

from subscribers.models import ProviderEvent, Subscriber
from subscribers.suppression import is_suppressed
from tests import provider_payloads as p
from tests.conftest import VENV_BIN, broker_purge, wait_for
from tests.factories import delivery_make, reader_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_webhook_event_is_processed_by_a_real_worker(client, service_env, start_service):
    broker_purge()
    reader = reader_make("ada@example.com")
    delivery = delivery_make(reader=reader)
    worker = start_service(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
        service_env, "worker",
    )

    response = p.post_json(client, "/anymail/postmark/tracking/",
                           p.postmark_bounce("ada@example.com", metadata={"delivery_id": str(delivery.pk)}))

    assert response.status_code == 200
    event = wait_for(
        lambda: ProviderEvent.objects.filter(processed_at__isnull=False).first(),
        timeout=60, what="the worker to process the bounce", service=worker,
    )
    assert (event.delivery_id, event.subscriber_id) == (delivery.pk, reader.pk)
    assert Subscriber.objects.get(pk=reader.pk).status == Subscriber.Status.BOUNCED
    assert is_suppressed("ada@example.com")
    assert "subscribers.tasks.process_provider_event" in worker.output()
