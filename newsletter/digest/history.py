"""What readers already received, read from their own Delivery rows.

No separate table: ``Delivery.paper_ids`` already records every paper a
reader was sent, and the unique (subscriber, edition) index makes "this
reader's deliveries of the last N days" an index range scan. One query per
chunk of readers; N is ``DIGEST_REPEAT_WINDOW_DAYS`` because papers trend for
days, not months.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings

from newsletter.models import Delivery

_VERSION = re.compile(r"v\d+$")
# Reasons of failures where the provider certainly did not deliver.
REFUSED_PREFIX = "rejected"


@dataclass
class History:
    received: set[str] = field(default_factory=set)
    last_sent_on: date | None = None  # edition date of the last digest sent


def readers_history(
    *, subscriber_ids: Iterable[int], before: date, exclude_delivery_ids: Iterable[int] = ()
) -> dict[int, History]:
    """Subscriber id -> History over the repeat window ending at ``before``.

    Every delivery counts as received except skipped ones and failures the
    provider refused: a send that was interrupted or timed out may have gone
    out, so its papers are never offered again.
    """
    ids = list(subscriber_ids)
    histories: dict[int, History] = {pk: History() for pk in ids}
    if not ids:
        return histories
    window_start = before - timedelta(days=settings.DIGEST_REPEAT_WINDOW_DAYS)
    rows = (
        Delivery.objects.filter(subscriber_id__any_of=ids, edition__date__gte=window_start)
        .exclude(pk__any_of=list(exclude_delivery_ids))
        .exclude(status=Delivery.Status.SKIPPED)
        .values_list("subscriber_id", "edition__date", "status", "reason", "paper_ids")
    )
    for subscriber_id, day, status, reason, paper_ids in rows:
        if status == Delivery.Status.FAILED and reason.startswith(REFUSED_PREFIX):
            continue
        history = histories[subscriber_id]
        history.received.update(_VERSION.sub("", str(pid)) for pid in paper_ids or ())
        if status == Delivery.Status.SENT and (history.last_sent_on is None or day > history.last_sent_on):
            history.last_sent_on = day
    return histories
