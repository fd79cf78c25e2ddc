"""The public site at scale: 100,000 papers over three years on PostgreSQL.

    python -m bench.site [--papers 100000] [--years 3] [--samples 200] [--keep]

Creates its own database (``--database-url``, default
postgres://postgres@127.0.0.1:5432/daily_papers_site_bench), migrates it,
generates the papers (text re-mixed from the bundled sample, heavy-tailed
upvotes, 1-3 topics each, a few hidden or withdrawn), then measures in this
process with Django's test client, uncached:

- a paper page, a topic page and a month page (p50/p95 ms, queries);
- search with one word and with three words (p50/p95 ms, queries);
- a feed answering a matching If-None-Match with 304 (p50/p95 ms);
- ``/healthz/`` (one ``SELECT 1``) as the yardstick for the machine's load:
  every figure is also given as a multiple of it, measured in the same run;

and, when ``wrk`` is installed, ``/`` from the cache through gunicorn (the
production server, 4 workers) for ``--wrk-seconds``. Prints one JSON object.
The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/daily_papers_site_bench"
# Static files and the like, unless VAR_DIR is set; removed at the end.
SCRATCH = Path(tempfile.gettempdir()) / f"dp-site-bench-{os.getpid()}"
TARGETS_MS = {
    "paper": 50, "topic": 50, "month": 50, "search_1_word": 100, "search_3_words": 100, "feed_304": 5,
}
TARGET_HOME_PER_S = 300
# What people type: topic words, method names, and a few very common words.
ONE_WORD_QUERIES = [
    "diffusion", "quantization", "agents", "reasoning", "retrieval", "speculative", "mamba", "benchmark",
    "multimodal", "robot", "video", "alignment", "hallucination", "kv", "distillation", "lora", "survey",
    "tokenizer", "transformer", "model", "language", "efficient", "attention", "reinforcement",
]
GIVEN = ["Ana", "Wei", "Liam", "Priya", "Jonas", "Sofia", "Kenji", "Amara", "Lucas", "Mei", "Omar", "Ines"]
SURNAMES = [
    "Müller", "Zhang", "García", "Nguyen", "Okafor", "Kowalski", "Smith", "Tanaka", "Rossi", "Ivanova",
    "Chen", "Kim", "Singh", "Dubois",
]


def django_setup(database_url: str) -> None:
    """Production settings (DEBUG off) on the bench database. The project's
    modules are imported inside the functions below, after this ran."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    })
    os.environ.setdefault("SECRET_KEY", "site-bench-" + os.urandom(24).hex())
    os.environ.setdefault("POSTAL_ADDRESS", "Bench address")
    os.environ.setdefault("SITE_URL", "https://papers.example.org")
    os.environ.setdefault("VAR_DIR", str(SCRATCH))
    import django

    django.setup()


def database_create(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


# --- data -----------------------------------------------------------------------------------

def _sample_text():
    from newsletter.ingest.files import SAMPLE_PATH, file_items_read

    titles, sentences = [], []
    for item in file_items_read(SAMPLE_PATH):
        paper = item["paper"]
        titles.append(" ".join(paper["title"].split()))
        text = " ".join(paper["summary"].split())
        sentences += [s.strip() for s in re.split(r"(?<=\.)\s+", text) if s.strip()]
    return titles, sentences


def papers_generate(*, papers: int, years: int, seed: int = 16) -> dict:
    """``papers`` papers over ``years`` years of daily editions ending today."""
    from django.db import connection

    from newsletter.models import Paper, PaperTopic, Topic

    rng = random.Random(seed)
    titles, sentences = _sample_text()
    title_words = [w for t in titles for w in t.split()]
    topics = list(Topic.objects.filter(active=True))
    weights = [rng.uniform(0.3, 3.0) for _ in topics]
    last = date.today()
    days = [last - timedelta(days=n) for n in range(years * 365)][::-1]
    per_day = [papers // len(days)] * len(days)
    for n in range(papers - sum(per_day)):
        per_day[n % len(days)] += 1
    started = time.perf_counter()
    serial: dict[str, int] = {}
    batch: list = []
    topic_rows = 0
    now = datetime.now(UTC)

    def flush():
        nonlocal topic_rows
        created = Paper.objects.bulk_create([p for p, _ in batch])
        links = []
        for paper, chosen in zip(created, [c for _, c in batch], strict=True):
            links += [PaperTopic(paper=paper, topic=topic, score=round(rng.uniform(5, 15), 2))
                      for topic in chosen]
        PaperTopic.objects.bulk_create(links)
        topic_rows += len(links)
        batch.clear()

    for day, count in zip(days, per_day, strict=True):
        for position in range(1, count + 1):
            month = f"{day:%y%m}"
            serial[month] = serial.get(month, 0) + 1
            arxiv_id = f"{month}.{serial[month]:05d}"
            title = rng.choice(titles).split()
            for _ in range(rng.randint(1, 3)):
                title[rng.randrange(len(title))] = rng.choice(title_words)
            upvotes = min(int(rng.paretovariate(1.2)) - 1, 3000)
            abstract = " ".join(rng.sample(sentences, rng.randint(5, 9)))
            paper = Paper(
                arxiv_id=arxiv_id, source="hf", sources=["hf"], title=" ".join(title)[:500],
                abstract=abstract,
                authors=[f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(rng.randint(2, 12))],
                published_on=day - timedelta(days=rng.randint(0, 6)), featured_on=day, upvotes=upvotes,
                num_comments=upvotes // 8 + rng.randint(0, 2), source_position=position,
                github_repo=f"https://github.com/lab/{arxiv_id}" if rng.random() < 0.4 else "",
                github_stars=int(rng.paretovariate(1.0) * 10) if rng.random() < 0.4 else None,
                thumbnail=f"https://cdn.example.org/thumbs/{arxiv_id}.png" if rng.random() < 0.7 else "",
                ai_summary=rng.choice(sentences) if rng.random() < 0.6 else "",
                ai_keywords=rng.sample(abstract.split(), 5),
                hidden=rng.random() < 0.005, withdrawn_at=now if rng.random() < 0.002 else None,
                pinned=position == 1 and rng.random() < 0.1,
            )
            chosen = rng.sample(topics, 1) if rng.random() < 0.4 else rng.choices(topics, weights, k=3)
            batch.append((paper, list(dict.fromkeys(chosen))))
            if len(batch) >= 2000:
                flush()
    if batch:
        flush()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"papers": sum(per_day), "topic_links": topic_rows, "days": len(days),
            "first_day": days[0].isoformat(), "last_day": last.isoformat(),
            "generate_s": round(time.perf_counter() - started, 1)}


# --- measuring ------------------------------------------------------------------------------

def _timed(client, path: str, headers=None) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, headers=headers or {})
    return (time.perf_counter() - started) * 1000, response.status_code


def _queries(client, path: str) -> int:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    return len(captured)


def _summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(client, name: str, paths: list[str], *, headers=None, expect: int = 200) -> dict:
    for path in paths[: max(5, len(paths) // 10)]:  # warm-up: imports, templates, plans
        client.get(path, headers=headers or {})
    times = []
    for path in paths:
        elapsed, status = _timed(client, path, headers)
        if status != expect:
            raise SystemExit(f"{name}: {path} answered {status}, expected {expect}")
        times.append(elapsed)
    return {**_summary(times), "queries": _queries(client, paths[0]) if expect == 200 else None}


def pages_measure(*, samples: int, seed: int = 7) -> dict:
    from django.test import Client

    from newsletter.models import Paper, Topic
    from newsletter.selectors import papers_visible
    from newsletter.site.periods import month_period

    rng = random.Random(seed)
    client = Client()
    ids = list(papers_visible().values_list("arxiv_id", flat=True))
    slugs = list(Topic.objects.filter(active=True).values_list("slug", flat=True))
    days = sorted(set(papers_visible().values_list("featured_on", flat=True)))
    months = sorted({month_period(day).slug for day in days})
    titles = list(Paper.objects.order_by("?").values_list("title", flat=True)[:samples])
    three = []
    for title in titles:
        words = re.findall(r"[A-Za-z]{4,}", title)
        if len(words) >= 3:
            start = rng.randrange(len(words) - 2)
            three.append(" ".join(words[start:start + 3]))
    results = {
        "healthz": measure(client, "healthz", ["/healthz/"] * samples),
        "paper": measure(client, "paper", [f"/papers/{rng.choice(ids)}/" for _ in range(samples)]),
        "topic": measure(client, "topic", [
            f"/topics/{rng.choice(slugs)}/?{rng.choice(['', 'sort=new&'])}page={rng.randint(1, 3)}"
            for _ in range(samples)]),
        "month": measure(client, "month", [
            f"/month/{rng.choice(months)}/?{rng.choice(['', 'sort=new&'])}page={rng.randint(1, 3)}"
            for _ in range(samples)]),
        "search_1_word": measure(
            client, "search", [f"/search/?q={rng.choice(ONE_WORD_QUERIES)}" for _ in range(samples)]),
        "search_3_words": measure(client, "search", [f"/search/?q={q.replace(' ', '+')}"
                                                     for q in (three * 2)[:samples]]),
    }
    feeds = {}
    for path in ("/feed/", f"/topics/{slugs[0]}/feed/", "/search/feed/?q=reasoning"):
        etag = client.get(path)["ETag"]
        feeds[path] = measure(client, "feed 304", [path] * samples, headers={"if-none-match": etag},
                              expect=304)
        feeds[path]["queries"] = _count_304(client, path, etag)
    results["feed_304"] = feeds["/feed/"]
    results["feed_304_by_feed"] = feeds
    results["search_matches"] = _matches(ONE_WORD_QUERIES + three[:10])
    base = results["healthz"]["p95_ms"]
    for row in results.values():
        if isinstance(row, dict) and "p95_ms" in row:
            row["p95_in_healthz"] = round(row["p95_ms"] / base, 1)
    return results


def _matches(queries: list[str]) -> dict[str, int]:
    """How many papers each query matches: how hard it is."""
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute("SELECT count(*) FROM newsletter_paper WHERE search_vector @@ "
                           "websearch_to_tsquery('english', %s)", [query])
            counts[query] = cursor.fetchone()[0]
    return counts


def _count_304(client, path: str, etag: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, headers={"if-none-match": etag})
    return len(captured)


def home_with_wrk(*, database_url: str, seconds: int, workers: int) -> dict | None:
    """``/`` from the cache through gunicorn, driven by wrk as hard as it
    goes: as a browser asks (gzip accepted) and plain (as bench/loadtest.py)."""
    from bench.loadtest import free_port, gunicorn_serving, parse_wrk

    if not shutil.which("wrk"):
        return None
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers), "WEB_THREADS": "1"}
    results: dict = {"workers": workers, "seconds": seconds}
    with gunicorn_serving(env) as base:
        for _ in range(workers * 20):
            urllib.request.urlopen(base + "/", timeout=30).read()
        for name, headers in (("gzip", ["-H", "Accept-Encoding: gzip"]), ("plain", [])):
            out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", *headers, base + "/"],
                                 capture_output=True, text=True, check=True).stdout
            results[name] = parse_wrk(out, seconds)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200, help="requests per page kind")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--wrk-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the / run")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it when filled)")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("the site benchmark needs PostgreSQL (--database-url postgres://...)")

    database_create(args.database_url)
    django_setup(args.database_url)
    from django.core.management import call_command

    from newsletter.models import Paper

    report: dict = {"cores": os.cpu_count(), "load_before": [round(x, 2) for x in os.getloadavg()]}
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if Paper.objects.exists() and args.keep:
            report["data"] = {"papers": Paper.objects.count(), "reused": True}
        else:
            Paper.objects.all().delete()
            report["data"] = papers_generate(papers=args.papers, years=args.years)
        report["pages"] = pages_measure(samples=args.samples)
        report["home_from_cache"] = home_with_wrk(
            database_url=args.database_url, seconds=args.wrk_seconds, workers=args.workers)
        report["load_after"] = [round(x, 2) for x in os.getloadavg()]
        report["targets"] = targets_met(report)
    finally:
        if not args.keep:
            database_drop(args.database_url)
        shutil.rmtree(SCRATCH, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


def targets_met(report: dict) -> dict:
    pages, home = report["pages"], report["home_from_cache"]
    met = {name: {"target_p95_ms": ms, "p95_ms": pages[name]["p95_ms"], "met": pages[name]["p95_ms"] < ms}
           for name, ms in TARGETS_MS.items()}
    if home is not None:
        for kind in ("gzip", "plain"):
            met[f"home_from_cache_{kind}"] = {"target_per_s": TARGET_HOME_PER_S, "per_s": home[kind]["per_s"],
                                              "met": home[kind]["per_s"] >= TARGET_HOME_PER_S}
    return met


if __name__ == "__main__":
    sys.exit(main())
