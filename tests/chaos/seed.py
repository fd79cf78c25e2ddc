"""Seed a fault test's private database: today's small edition and N active
readers due now. Run as ``python -m tests.chaos.seed N`` with
DATABASE_URL pointing at the private cluster (already migrated)."""

from __future__ import annotations

import sys

import django


def main(readers: int) -> None:
    django.setup()
    from django.utils import timezone

    from subscribers.models import Subscriber
    from tests.factories import edition_small, topic

    edition_small(day=timezone.localdate())
    quantization = topic("quantization-compression")
    # Send hour 0 in UTC: every reader is due as soon as beat plans.
    Subscriber.objects.bulk_create(
        [
            Subscriber(email=f"reader{i}@example.org", status=Subscriber.Status.ACTIVE, timezone="UTC",
                       send_hour=0)
            for i in range(readers)
        ],
        batch_size=2000,
    )
    through = Subscriber.topics.through
    through.objects.bulk_create(
        [through(subscriber_id=pk, topic_id=quantization.pk)
         for pk in Subscriber.objects.values_list("pk", flat=True)],
        batch_size=5000,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
