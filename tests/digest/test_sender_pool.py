"""A chunk's digests sent many at a time (sender_pool): each reader once,
claims and results batched, a 429 hands untried messages back uncounted."""

import threading
from datetime import UTC, datetime

import pytest
from anymail.backends.postmark import EmailBackend as PostmarkBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.fake_provider import FakePostmark
from newsletter.digest.schedule import deliveries_plan
from newsletter.digest.send import deliveries_send
from newsletter.models import Delivery
from tests.digest_support import use_fake_postmark
from tests.factories import edition_small, reader_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_pools")]
T0 = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)
S = Delivery.Status


def sends_counted(monkeypatch):
    """Count the backend's sends under way and keep the peak. The first send
    waits (up to 30 s) until a second one has started: a pool that sends one
    message at a time cannot pass, however fast or slow the machine."""
    send = PostmarkBackend.send_messages
    lock, second_started = threading.Lock(), threading.Event()
    counts = {"now": 0, "peak": 0, "sends": 0}

    def send_messages(backend, messages):
        with lock:
            counts["sends"] += 1
            counts["now"] += 1
            counts["peak"] = max(counts["peak"], counts["now"])
            first = counts["sends"] == 1
            if counts["now"] >= 2:
                second_started.set()
        try:
            if first:
                second_started.wait(30)
            return send(backend, messages)
        finally:
            with lock:
                counts["now"] -= 1

    monkeypatch.setattr(PostmarkBackend, "send_messages", send_messages)
    return counts


def test_many_in_flight_each_reader_once_with_few_queries(settings, monkeypatch):
    settings.DIGEST_SEND_CONCURRENCY = 8
    edition_small()
    emails = [f"r{i}@example.org" for i in range(40)]
    for email in emails:
        reader_make(email, topics=("quantization-compression",))
    ids = deliveries_plan(now=T0).delivery_ids
    counts = sends_counted(monkeypatch)
    with FakePostmark() as fake:
        use_fake_postmark(settings, fake)
        with CaptureQueriesContext(connection) as queries:
            outcome = deliveries_send(delivery_ids=ids)
        assert sorted(m.to for m in fake.accepted()) == sorted(emails)
        # One connection per sending thread, each reused for several messages.
        assert 2 <= fake.stats.connections <= 8
    # Messages went out concurrently, never more at once than the window holds.
    assert counts["sends"] == 40 and 2 <= counts["peak"] <= 8
    assert sorted(outcome.sent) == sorted(ids)
    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    by_to = {m.to: m for m in fake.accepted()}
    for email in emails:
        assert rows[email].status == S.SENT and rows[email].attempts == 1
        assert rows[email].provider_message_id == by_to[email].message_id
    # Per delivery: the frozen selection; per group of messages: one claim and
    # one result update; per chunk: a handful of reads (and, this first time,
    # building the edition's pool).
    assert len(queries) <= len(ids) + 20


def test_claims_and_records_find_their_rows_by_key_only(require_postgres, settings):
    """Never through the status index: every digest passes through 'sending',
    so its dead entries pile up and a scan of them grows with the morning."""
    settings.DIGEST_SEND_CONCURRENCY = 4
    edition_small()
    for i in range(12):
        reader_make(f"r{i}@example.org", topics=("quantization-compression",))
    ids = deliveries_plan(now=T0).delivery_ids
    with FakePostmark() as fake:
        use_fake_postmark(settings, fake)
        with CaptureQueriesContext(connection) as queries:
            deliveries_send(delivery_ids=ids)
    batches = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "WITH")) and "unnest(" in q["sql"]]
    assert any("claimed_at" in sql for sql in batches), "claims seen"
    assert any("provider_message_id" in sql for sql in batches), "records seen"
    with connection.cursor() as cursor:
        # Statistics taken now say no row is pending or sending (as on a
        # morning's first chunks, before autovacuum has seen the new rows),
        # which makes the status index look like the cheap way in.
        cursor.execute("ANALYZE newsletter_delivery")
        cursor.execute("SET enable_seqscan = off")  # on a big table: which index?
        try:
            for sql in batches:
                cursor.execute("EXPLAIN " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "newsletter_delivery_pkey" in plan and "delivery_status_claimed_idx" not in plan, plan
        finally:
            cursor.execute("RESET enable_seqscan")


def test_a_429_hands_back_what_was_not_tried_without_counting_an_attempt(settings):
    settings.DIGEST_SEND_CONCURRENCY = 2
    edition_small()
    emails = [f"r{i:02d}@example.org" for i in range(30)]
    for email in emails:
        reader_make(email, topics=("quantization-compression",))
    ids = deliveries_plan(now=T0).delivery_ids
    with FakePostmark(latency_ms=5) as fake:
        use_fake_postmark(settings, fake)
        fake.fault("r03@example.org", "429", retry_after=300)
        outcome = deliveries_send(delivery_ids=ids)
        accepted = {m.to for m in fake.accepted()}
    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    assert rows["r03@example.org"].status == S.PENDING and rows["r03@example.org"].attempts == 1
    untried = [e for e in emails if e not in accepted and e != "r03@example.org"]
    assert untried, "the pool stopped before the end of the chunk"
    for email in untried:
        assert rows[email].status == S.PENDING and rows[email].attempts == 0
        assert rows[email].next_attempt_at is not None
    for email in accepted:
        assert rows[email].status == S.SENT and rows[email].attempts == 1
    assert set(outcome.deferred) == {rows[e].pk for e in [*untried, "r03@example.org"]}
    assert not Delivery.objects.filter(status=S.SENDING).exists()
