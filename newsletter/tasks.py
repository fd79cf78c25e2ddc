"""Celery tasks: thin wrappers that take ids, re-fetch state and call the
core, and the functions that enqueue them once the caller's transaction has
committed. The top layer: nothing below imports this module."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from newsletter.digest.schedule import chunks, deliveries_plan
from newsletter.digest.send import deliveries_send, stale_deliveries_settle
from newsletter.feedback.learning import tastes_refresh
from newsletter.ingest.arxiv import papers_ingest_arxiv_categories
from newsletter.ingest.hf import papers_ingest_hf
from newsletter.models import WorkerPing
from newsletter.tagging import papers_retag_all

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def ping(ping_id: int) -> None:
    """Answer a WorkerPing. Idempotent: answering twice only moves the stamp."""
    WorkerPing.objects.filter(pk=ping_id).update(
        answered_at=timezone.now(), hostname=socket.gethostname()[:200]
    )


def worker_ping_request() -> WorkerPing:
    """Create a ping and enqueue it once the row is committed, so the worker
    never looks for a row that is not there yet."""
    row = WorkerPing.objects.create()
    transaction.on_commit(lambda: ping.delay(row.pk))
    return row


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Run by beat: records that a worker is alive, for the admin index."""
    now = timezone.now()
    WorkerPing.objects.create(requested_at=now, answered_at=now, hostname=socket.gethostname()[:200])
    # Keep the table small: one day of heartbeats is plenty.
    WorkerPing.objects.filter(requested_at__lt=now - timezone.timedelta(days=1)).delete()


def _report_log(scope: str, report) -> None:
    for key, reason in report.skipped:
        log.warning("%s: skipped %s: %s", scope, key, reason)
    log.info("%s: %s", scope, report.summary())


@shared_task(ignore_result=True)
def ingest_hf_recent() -> None:
    """Run by beat every INGEST_HF_EVERY_MINUTES: today's and yesterday's
    Daily Papers (UTC), to pick up new papers and refresh upvotes and
    comments. Idempotent and all-or-nothing per run; a failure raises (the
    HTTP layer already retried) and the next run simply tries again."""
    today = timezone.now().astimezone(UTC).date()
    report = papers_ingest_hf(days=[today - timedelta(days=1), today])
    _report_log(f"hf {today - timedelta(days=1)}..{today}", report)


@shared_task(ignore_result=True)
def ingest_arxiv_daily() -> None:
    """Run by beat once a day: the newest ARXIV_MAX_RESULTS submissions of
    each of ARXIV_CATEGORIES, one category after another (one process keeps
    arXiv's one-request-every-3-seconds rule). Idempotent."""
    report, errors = papers_ingest_arxiv_categories(
        categories=settings.ARXIV_CATEGORIES, max_results=settings.ARXIV_MAX_RESULTS
    )
    _report_log(f"arxiv {','.join(settings.ARXIV_CATEGORIES)}", report)
    if errors:
        raise RuntimeError("arXiv ingestion failed for: " + " | ".join(errors))


@shared_task(ignore_result=True)
def topics_retag(topic_ids: list[int] | None = None) -> None:
    """Re-tag existing papers for these topics (all when None), after an
    editor added a topic or changed what it matches. Editor decisions are
    kept. Idempotent: running it twice gives the same tags."""
    count = papers_retag_all(topic_ids=topic_ids)
    log.info("re-tagged %d papers for topics %s", count, topic_ids or "all")


def topics_retag_later(*, topic_ids: list[int]) -> None:
    """Re-tag existing papers for these topics in the background, once the
    current transaction has committed (the worker must see the new keywords)."""
    ids = sorted(set(topic_ids))
    transaction.on_commit(lambda: topics_retag.delay(ids))


@shared_task(ignore_result=True)
def digests_schedule() -> None:
    """Run by beat: create Deliveries for readers whose hour has come and
    enqueue them in chunks, a committed batch at a time (the first digests
    leave while the rest are planned). Safe to run twice at once."""
    deliveries_plan(on_batch=deliveries_enqueue)


@shared_task(ignore_result=True)
def deliveries_sweep() -> None:
    """Run by beat: end interrupted sends, settle unanswered ones with the
    provider, re-enqueue digests whose task was lost or that must go again."""
    deliveries_enqueue(stale_deliveries_settle().requeued)


# The database went away mid-chunk (a restart, a failover): try the chunk
# again soon rather than leave its pending digests to the sweep.
@shared_task(
    bind=True, ignore_result=True, max_retries=None,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_backoff_max=60,
)
def digests_send_chunk(self, delivery_ids: list[int]) -> None:
    """Send a chunk of digests. Idempotent (rows are claimed before sending),
    so a redelivered or duplicated task sends nothing twice. Digests that hit
    a transient failure come back in a retry of this task with only their
    ids; how often is bounded per digest in the database (DIGEST_MAX_ATTEMPTS).
    A database error retries the whole chunk (the claim makes that safe)."""
    outcome = deliveries_send(delivery_ids=delivery_ids)
    if outcome.deferred:
        wait = (min(outcome.deferred.values()) - timezone.now()).total_seconds()
        raise self.retry(args=[sorted(outcome.deferred)], countdown=max(0.0, wait))


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Enqueue chunk tasks once the current transaction commits."""
    for chunk in chunks(list(delivery_ids)):
        transaction.on_commit(lambda chunk=chunk: digests_send_chunk.delay(chunk))


@shared_task(ignore_result=True)
def reader_tastes_refresh() -> None:
    """Run by beat: rebuild the tastes of readers who clicked papers in their
    digests since the last run (with a margin; rebuilding is idempotent)."""
    since = timezone.now() - timedelta(seconds=2 * settings.TASTES_REFRESH_EVERY_SECONDS)
    log.info("rebuilt %d readers' tastes from clicks", tastes_refresh(since=since))
