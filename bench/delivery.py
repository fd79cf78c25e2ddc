"""The delivery benchmark: the whole sending pipeline against what the machine
and the provider allow, on the same machine, same provider stub, same
concurrency.

    python -m bench.delivery [--subscribers 100000] [--latency-ms 0 100] [--workers 4]
        [--concurrency 32] [--rate-limit 200] [--limit-messages 20000] [--json]

Needs PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``); ``make
bench-delivery`` runs it with the test settings.

* A dedicated PostgreSQL database (``<name>_bench_delivery``), created,
  migrated and dropped again: the working database is never touched.
* N readers (COPY), topic choices skewed like real interest, in a few time
  zones, all due now; one edition from the bundled sample papers.
* The fake Postmark API in its own process, with the given latency; it
  records who got what and when.
* **limit**: pre-built messages of the real size straight to anymail's
  Postmark backend, from ``workers`` processes with ``concurrency`` threads
  each, each thread with its own connection.
* **pipeline**: ``workers`` real Celery worker processes on Redis (solo pool:
  one process each, ``concurrency`` send threads per chunk task; the
  project's app with query counting, ``bench/celery_app.py``); timed from
  beat's scheduling task being enqueued until every Delivery is final. The
  reader's "send hour" is that moment (as if beat fired on the hour).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import random
import tempfile
import time
import zoneinfo
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.utils import timezone

import bench.bootstrap
from bench.admin_data import rows_insert
from bench.delivery_limit import limit_process
from bench.digests import readers_synthetic
from bench.processes import (
    celery_workers,
    cpu_others,
    cpu_per_message,
    cpu_seconds,
    fake_provider,
    get_json,
    peak_rss_mb,
    post,
    wait_until,
)
from newsletter.digest.assemble import digest_assemble
from newsletter.digest.pool import pool_get, pools_forget
from newsletter.digest.render import parts_get
from newsletter.digest.selection import Reader, digest_select, keywords_parse
from newsletter.ingest.files import SAMPLE_PATH, file_items_read, papers_ingest_file
from newsletter.models import Delivery, Paper, Topic
from newsletter.tasks import digests_schedule
from subscribers.models import Subscriber

DOMAIN = "bench-delivery.example.org"
TOKEN = "bench-delivery-token"  # noqa: S105 - the fake provider's, on 127.0.0.1
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Los_Angeles")
FINAL = (Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SKIPPED)
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.SENDING)


@dataclass
class RunResult:
    subscribers: int
    latency_ms: float
    workers: int
    concurrency: int  # send threads per worker process
    rate_limit: float
    limit_messages: int
    limit_per_s: float  # the mean of the two limit runs, before and after the pipeline's
    limit_before_per_s: float
    limit_after_per_s: float
    pipeline_per_s: float
    pipeline_seconds: float
    pipeline_steady_per_s: float  # over the middle 80% of the messages
    ratio: float
    p50_s: float
    p95_s: float
    worker_peak_rss_mb: float  # the largest peak of any one worker process
    worker_peak_rss_sum_mb: float  # the peaks of all worker processes, added
    queries_per_delivery: float
    limit_cpu_ms_per_message: float  # sending processes' CPU time per message accepted
    pipeline_cpu_ms_per_message: float  # workers' CPU time (planning included) per digest sent
    # The other programs' CPU per message during each run: the fake provider,
    # PostgreSQL's processes, Redis (they share the same cores).
    limit_cpu_others_ms: dict
    pipeline_cpu_others_ms: dict
    sent: int
    skipped: int
    failed: int
    duplicates: int
    losses: int
    load_average: float

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def line(self) -> str:
        limit = f"rate limit {self.rate_limit:g}/s · " if self.rate_limit else ""
        return (
            f"bench_delivery: {self.subscribers:,} readers · latency {self.latency_ms:g} ms · {limit}"
            f"{self.workers} workers x {self.concurrency} threads · "
            f"limit {self.limit_per_s:,.0f} msg/s ({self.limit_messages:,} msgs; "
            f"{self.limit_before_per_s:,.0f} before, {self.limit_after_per_s:,.0f} after) · "
            f"pipeline {self.pipeline_per_s:,.0f} msg/s ({self.pipeline_seconds:.1f} s; "
            f"steady {self.pipeline_steady_per_s:,.0f} msg/s) · "
            f"ratio {self.ratio:.0%} · "
            f"send hour -> accepted p50 {self.p50_s:.1f} s, p95 {self.p95_s:.1f} s · "
            f"worker peak RSS {self.worker_peak_rss_mb:.0f} MB max per process "
            f"({self.worker_peak_rss_sum_mb:.0f} MB all) · "
            f"{self.queries_per_delivery:.2f} queries/delivery · "
            f"CPU per message: limit {self.limit_cpu_ms_per_message:.2f} ms, "
            f"pipeline {self.pipeline_cpu_ms_per_message:.2f} ms; "
            f"others: limit {_others(self.limit_cpu_others_ms)}, "
            f"pipeline {_others(self.pipeline_cpu_others_ms)} · "
            f"sent {self.sent:,}, skipped {self.skipped:,}, failed {self.failed:,} · "
            f"duplicates {self.duplicates} · losses {self.losses} · load {self.load_average:.1f}"
        )


def _others(cpu: dict) -> str:
    return " ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())


# --- the dedicated database -----------------------------------------------------------


def _admin_execute(sql: str) -> None:
    db = connection.settings_dict
    with psycopg.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=True,
    ) as admin:
        admin.execute(sql)


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def bench_database():
    """Switch this process to a fresh, migrated database; drop it afterwards."""
    if connection.vendor != "postgresql":
        raise RuntimeError("bench_delivery needs PostgreSQL (DATABASE_URL=postgres://...)")
    if not settings.REDIS_URL:
        raise RuntimeError("bench_delivery needs Redis (REDIS_URL=redis://...) for the Celery workers")
    original = connection.settings_dict["NAME"]
    name = f"{original}_bench_delivery"
    connections.close_all()
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_execute(f'CREATE DATABASE "{name}"')
    connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield name
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = original
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def edition_seed() -> None:
    """The sample papers as today's edition."""
    today = timezone.localdate()
    papers_ingest_file(path=SAMPLE_PATH, featured_on=today)
    ids = [str((item.get("paper") or item).get("id", "")) for item in file_items_read(SAMPLE_PATH)]
    Paper.objects.filter(arxiv_id__in=ids).update(featured_on=today, hidden=False)


def readers_seed(*, count: int, seed: int = 7) -> None:
    """``count`` active daily readers, all due now (their send hour has come
    in their zone), topics and keywords drawn like the digest benchmark's."""
    rng = random.Random(seed)
    now = timezone.now()
    hours = {zone: now.astimezone(zoneinfo.ZoneInfo(zone)).hour for zone in ZONES}
    topic_ids = dict(Topic.objects.filter(active=True).values_list("slug", "pk"))
    paper_ids = list(Paper.objects.values_list("arxiv_id", flat=True)[:10])
    readers = list(readers_synthetic(count=count, topic_ids=topic_ids, paper_ids=paper_ids, seed=seed))

    def rows():
        for reader, _ in readers:
            zone = rng.choice(ZONES)
            yield {
                "email": f"reader{reader.pk}@{DOMAIN}", "status": "active",
                "keywords": ", ".join(reader.keywords),
                "frequency": "daily", "timezone": zone, "send_hour": rng.randint(0, hours[zone]),
                # Confirmed yesterday: their hour today counts (see newsletter.digest.schedule).
                "confirmed_at": now - timedelta(days=1), "created_at": now, "updated_at": now,
            }

    rows_insert(Subscriber, rows())
    pks = dict(Subscriber.objects.values_list("email", "pk"))
    rows_insert(Subscriber.topics.through, (
        {"subscriber_id": pks[f"reader{reader.pk}@{DOMAIN}"], "topic_id": topic_id}
        for reader, _ in readers for topic_id in reader.topic_ids
    ))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- the limit run ------------------------------------------------------------------------------


def message_sample():
    """A real digest for a seeded reader, as the pipeline would build it."""
    today = timezone.localdate()
    pool = pool_get(first=today, last=today)
    subscriber = Subscriber.objects.filter(email__endswith=DOMAIN).exclude(topics=None).order_by("pk").first()
    reader = Reader(
        pk=subscriber.pk, email=subscriber.email, keywords=keywords_parse(subscriber.keywords),
        topic_ids=frozenset(subscriber.topics.values_list("pk", flat=True)),
    )
    selection = digest_select(pool=pool, reader=reader)
    return digest_assemble(pool=pool, parts=parts_get(pool=pool, digest_format=reader.digest_format),
                           reader=reader, selection=selection,
                           delivery_id=0)


def limit_run(*, messages: int, workers: int, threads: int, api_url: str, provider_pid: int, rate: float):
    """Messages per second straight to anymail's backend, same processes and threads."""
    template = message_sample()
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    share = [messages // workers + (1 if n < messages % workers else 0) for n in range(workers)]
    procs = [
        ctx.Process(target=limit_process, kwargs={
            "template": pickle.dumps(template), "first": sum(share[:n]), "count": share[n],
            "threads": threads,
            "api_url": api_url, "token": TOKEN, "domain": DOMAIN, "rate": rate, "go": go, "results": results,
        })
        for n in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:  # every process has started Django and waits at the gate
        results.get(timeout=300)
    others = cpu_others(provider_pid)
    started = time.perf_counter()
    go.set()
    answers = [results.get(timeout=3600) for _ in procs]
    elapsed = time.perf_counter() - started
    others = cpu_per_message(others, cpu_others(provider_pid), messages)
    sent = sum(ok for ok, _, _ in answers)
    for proc in procs:
        proc.join()
    if sent != messages:
        errors = [e for _, some, _ in answers for e in some]
        raise RuntimeError(f"limit run: {sent} of {messages} messages accepted; {errors}")
    return messages / elapsed, sum(cpu for _, _, cpu in answers) * 1000 / messages, others


# --- the pipeline run -----------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _steady_rate(stamps: list[float]) -> float:
    """Messages per second over the middle 80% of the acceptances: the rate
    once sending is under way, without the first planning batch and the tail."""
    stamps = sorted(stamps)
    if len(stamps) < 10:
        return 0.0
    first, last = stamps[len(stamps) // 10], stamps[len(stamps) * 9 // 10]
    return (len(stamps) * 9 // 10 - len(stamps) // 10) / max(last - first, 1e-9)


def pipeline_run(*, subscribers: int, workers: int, threads: int, api_url: str, provider_pid: int,
                 rate: float, log_dir: Path, timeout: float) -> dict:
    """Beat's step -> Deliveries -> Celery workers -> provider; figures of the run."""
    Delivery.objects.all().delete()
    pools_forget()
    counter_key = f"bench-delivery:queries:{os.getpid()}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(counter_key)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
        "EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": TOKEN, "POSTMARK_API_URL": api_url,
        "DIGEST_SEND_CONCURRENCY": str(threads), "EMAIL_RATE_LIMIT": str(rate or 0),
        "DB_QUERY_COUNT_KEY": counter_key, "PYTHONUNBUFFERED": "1",
    }
    env.setdefault("ANYMAIL_WEBHOOK_SECRET", "bench:bench-delivery-webhook-secret-0123456789")
    if rate:
        client.delete("email-rate:postmark")
    with celery_workers(count=workers, env=env, log_dir=log_dir) as procs:
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        others = cpu_others(provider_pid)
        started_wall, started = time.time(), time.perf_counter()
        digests_schedule.delay()

        def finished() -> bool:
            # An index probe while digests are under way; counting every row
            # four times a second would load the database the run measures.
            if Delivery.objects.filter(status__in=UNFINISHED).exists():
                return False
            return Delivery.objects.count() >= subscribers

        wait_until(finished, timeout, "every Delivery to end sent, failed or skipped", every=0.25)
        elapsed = time.perf_counter() - started
        rss = [peak_rss_mb(p.pid) for p in procs]
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        others_after = cpu_others(provider_pid)
    queries = int(client.get(counter_key) or 0)
    client.delete(counter_key)
    accepted = get_json(api_url + "_fake/accepted")
    per_recipient = Counter(to for to, _, _ in accepted)
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    sent_emails = set(Delivery.objects.filter(status="sent").values_list("subscriber__email", flat=True))
    final = sum(statuses[s] for s in FINAL)
    return {
        "elapsed": elapsed,
        "p50": _percentile([at - started_wall for _, at, _ in accepted], 0.50),
        "p95": _percentile([at - started_wall for _, at, _ in accepted], 0.95),
        "steady": _steady_rate([at for _, at, _ in accepted]),
        "rss_max": max(rss), "rss_sum": sum(rss),
        "queries_per_delivery": queries / max(1, final),
        "cpu_ms_per_message": cpu * 1000 / max(1, statuses["sent"]),
        "cpu_others": cpu_per_message(others, others_after, statuses["sent"]),
        "sent": statuses["sent"], "skipped": statuses["skipped"], "failed": statuses["failed"],
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        # Marked sent but never reached the provider, or never finished.
        "losses": len(sent_emails - set(per_recipient)) + max(0, subscribers - final),
    }


def delivery_bench(*, subscribers: int, latencies: list[float], workers: int, threads: int, rate: float,
                   limit_messages: int, log_dir: Path, timeout: float, progress=print) -> list[RunResult]:
    results = []
    with bench_database():
        progress(f"seeding {subscribers:,} readers and the sample edition ...")
        edition_seed()
        readers_seed(count=subscribers)
        for latency in latencies:
            load = os.getloadavg()[0]
            with fake_provider(latency_ms=latency, token=TOKEN) as (api_url, provider_pid):
                # The limit is measured before and after the pipeline and the
                # two averaged: on a shared machine the rate drifts over the
                # minutes a run takes, and one side measured alone would
                # carry that drift into the ratio.
                def limit(when: str, latency: float = latency) -> tuple:
                    progress(f"latency {latency:g} ms: limit run {when} ({limit_messages:,} messages) ...")
                    result = limit_run(messages=limit_messages, workers=workers, threads=threads,
                                       api_url=api_url, provider_pid=provider_pid, rate=rate)
                    post(api_url + "_fake/reset")
                    return result

                limits = [limit("before")]
                progress(f"latency {latency:g} ms: pipeline run ({subscribers:,} readers) ...")
                run = pipeline_run(subscribers=subscribers, workers=workers, threads=threads, api_url=api_url,
                                   provider_pid=provider_pid, rate=rate, log_dir=log_dir, timeout=timeout)
                post(api_url + "_fake/reset")
                limits.append(limit("after"))
            (before, before_cpu, before_others), (after, after_cpu, after_others) = limits
            limit, limit_cpu = (before + after) / 2, (before_cpu + after_cpu) / 2
            limit_others = {k: round((before_others[k] + after_others[k]) / 2, 3) for k in before_others}
            pipeline = run["sent"] / run["elapsed"] if run["elapsed"] else 0.0
            results.append(RunResult(
                subscribers=subscribers, latency_ms=latency, workers=workers, concurrency=threads,
                rate_limit=rate, limit_messages=limit_messages, limit_per_s=limit, limit_before_per_s=before,
                limit_after_per_s=after, pipeline_per_s=pipeline,
                pipeline_seconds=run["elapsed"], pipeline_steady_per_s=run["steady"],
                ratio=pipeline / limit if limit else 0.0,
                p50_s=run["p50"], p95_s=run["p95"], worker_peak_rss_mb=run["rss_max"],
                worker_peak_rss_sum_mb=run["rss_sum"], queries_per_delivery=run["queries_per_delivery"],
                limit_cpu_ms_per_message=limit_cpu, pipeline_cpu_ms_per_message=run["cpu_ms_per_message"],
                limit_cpu_others_ms=limit_others, pipeline_cpu_others_ms=run["cpu_others"],
                sent=run["sent"], skipped=run["skipped"], failed=run["failed"],
                duplicates=run["duplicates"], losses=run["losses"], load_average=load,
            ))
    return results


class Command(BaseCommand):
    help = (
        "Benchmark delivery: the whole pipeline (beat's step, Celery workers on Redis, assembly, "
        "anymail, a fake Postmark API in its own process) against pre-built messages sent straight "
        "through anymail with the same concurrency. Uses its own PostgreSQL database, dropped afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000, help="readers, all due now")
        parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0],
                            help="the provider's added latency per request; several values: one run each")
        parser.add_argument("--workers", type=int, default=4, help="Celery worker processes (solo pool)")
        parser.add_argument("--concurrency", type=int, default=32, help="send threads per worker process")
        parser.add_argument("--rate-limit", type=float, default=0.0,
                            help="EMAIL_RATE_LIMIT, messages/s (0: none)")
        parser.add_argument("--limit-messages", type=int, default=20_000,
                            help="messages in the limit run (at most --subscribers)")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the pipeline")
        parser.add_argument("--json", action="store_true", help="one JSON object per run")

    def handle(self, *args, subscribers, latency_ms, workers, concurrency, rate_limit, limit_messages,
               timeout, json: bool, **options):
        if subscribers < 1 or workers < 1 or concurrency < 1 or limit_messages < 1:
            raise CommandError(
                "--subscribers, --workers, --concurrency and --limit-messages must be at least 1"
            )
        if any(v < 0 for v in latency_ms) or rate_limit < 0:
            raise CommandError("--latency-ms and --rate-limit cannot be negative")

        def progress(text: str) -> None:
            self.stderr.write(text)

        with tempfile.TemporaryDirectory(prefix="bench-delivery-") as logs:
            try:
                results = delivery_bench(
                    subscribers=subscribers, latencies=latency_ms, workers=workers, threads=concurrency,
                    rate=rate_limit, limit_messages=min(limit_messages, subscribers), log_dir=Path(logs),
                    timeout=timeout, progress=progress,
                )
            except RuntimeError as exc:
                tails = "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                                for p in sorted(Path(logs).glob("*.log")))
                raise CommandError(f"{exc}{tails}") from exc
        for result in results:
            self.stdout.write(_json.dumps(result.as_dict()) if json else result.line())


_json = json

if __name__ == "__main__":
    bench.bootstrap.command_main(module="bench.delivery", commands={"delivery": Command})
