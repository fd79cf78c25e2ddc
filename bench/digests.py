"""The digest benchmark: per-reader assembly from ready parts versus the naive
path (full template render + premailer per reader), over the bundled sample
edition and synthetic readers.

    python -m bench.digests [--subscribers 100000] [--naive-sample 100] [--format full|compact|both] [--json]

Each format is measured in its own pass over the same readers.

Readers are generated lazily, so memory must stay flat in their number: the
peak RSS is recorded after 10,000 readers and at the end.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

import bench.bootstrap
from newsletter.digest.assemble import (
    digest_assemble,
    digest_layout,
    digest_message,
    digest_subject,
    digest_values,
    reader_links,
)
from newsletter.digest.pool import EditionPool, pool_load
from newsletter.digest.render import FORMATS, FULL, digest_render_naive, parts_build
from newsletter.digest.selection import Reader, digest_select
from newsletter.ingest.files import SAMPLE_PATH, file_items_read, papers_ingest_file
from newsletter.models import Paper, Topic

BENCH_DAY = date(2000, 1, 3)  # the sample is moved here inside a rolled-back transaction
CHECKPOINT = 10_000

# Interest by topic slug, roughly how readers of trending-papers lists pick.
TOPIC_INTEREST = {
    "inference-serving": 14, "reasoning": 13, "agents-tools": 12, "multimodal": 10, "code": 9,
    "reinforcement-learning": 8, "retrieval-rag": 7, "quantization-compression": 7, "evaluation": 6,
    "long-context": 5, "fine-tuning": 5, "architectures": 5, "safety-trust": 5,
    "image-video-generation": 4, "speculative-decoding": 3, "diffusion-lm": 2, "surveys": 2,
    "robotics-embodied": 2, "speech-audio": 2,
}
TOPIC_COUNTS = (0, 1, 2, 3, 4, 5)
TOPIC_COUNT_WEIGHTS = (5, 22, 30, 24, 12, 7)
KEYWORDS = (
    "LoRA", "W4A16", "KV cache", "speculative decoding", "MoE", "vLLM", "FlashAttention", "DPO",
    "GRPO", "RLHF", "quantization", "pruning", "distillation", "benchmark", "agents", "RAG",
    "long context", "state space", "Mamba", "diffusion", "vision-language", "tool use", "SWE-bench",
    "reasoning", "chain-of-thought", "test-time", "hallucination", "calibration", "safety",
    "Song Han", "Tri Dao", "Percy Liang", "Yejin Choi", "Jianfeng Gao", "sparsity", "FP8",
    "INT4", "GPTQ", "AWQ", "SmoothQuant", "Medusa", "EAGLE", "draft model", "paged attention",
    "serving", "throughput", "latency", "edge devices", "on-device", "multimodal", "OCR",
    "math", "code generation", "evaluation", "survey", "embedding", "retrieval", "compression",
)


@dataclass
class BenchResult:
    digest_format: str
    subscribers: int
    assembly_per_s: float
    assembly_seconds: float
    # The same per second of this process's CPU time: what a core delivers
    # when it is not shared (wall-clock figures drop on a busy machine).
    assembly_per_cpu_s: float
    naive_per_s: float
    naive_per_cpu_s: float
    naive_sample: int
    naive_extrapolated_seconds: float
    ratio: float
    peak_rss_mb_10k: float
    peak_rss_mb_100k: float
    max_html_bytes: int
    skipped_nothing_new: int
    papers: int
    load_average: float  # of the machine when the run started

    def as_dict(self) -> dict:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def line(self) -> str:
        naive_total = self.naive_extrapolated_seconds
        hours, rest = divmod(int(naive_total), 3600)
        return (
            f"bench_digests ({self.digest_format}): {self.subscribers:,} readers over {self.papers} papers · "
            f"assembly {self.assembly_per_s:,.0f}/s in one process ({self.assembly_seconds:.1f} s; "
            f"{self.assembly_per_cpu_s:,.0f}/s of CPU time) · "
            f"naive {self.naive_per_s:,.1f}/s (sample of {self.naive_sample}; "
            f"{hours}h{rest // 60:02d}m for all) · {self.ratio:,.0f}x · "
            f"peak RSS {self.peak_rss_mb_10k:.0f} MB at {min(self.subscribers, CHECKPOINT):,}, "
            f"{self.peak_rss_mb_100k:.0f} MB at {self.subscribers:,} · "
            f"largest HTML {self.max_html_bytes / 1024:.0f} KB · "
            f"{self.skipped_nothing_new:,} with nothing new · load average {self.load_average:.1f}"
        )


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def readers_synthetic(
    *, count: int, topic_ids: dict[str, int], paper_ids: list[str], seed: int = 7, digest_format: str = FULL,
) -> Iterator[tuple[Reader, frozenset[str]]]:
    """(reader, already received) pairs, generated one at a time."""
    rng = random.Random(seed)
    slugs = [s for s in TOPIC_INTEREST if s in topic_ids]
    weights = [TOPIC_INTEREST[s] for s in slugs]
    for pk in range(1, count + 1):
        k = rng.choices(TOPIC_COUNTS, TOPIC_COUNT_WEIGHTS)[0]
        chosen: set[int] = set()
        while len(chosen) < min(k, len(slugs)):
            chosen.add(topic_ids[rng.choices(slugs, weights)[0]])
        keywords: tuple[str, ...] = ()
        roll = rng.random()
        if roll < 0.20:
            keywords = tuple(rng.sample(KEYWORDS, rng.randint(1, 3)))
        elif roll < 0.22:
            keywords = (f"term{rng.randint(1, 10**6)}",)  # one-off keywords: no memo hit
        received = frozenset(rng.sample(paper_ids, 3)) if rng.random() < 0.10 else frozenset()
        yield Reader(
            pk=pk, email=f"reader{pk}@bench.example.org", topic_ids=frozenset(chosen), keywords=keywords,
            digest_format=digest_format,
        ), received


def sample_edition_load(*, day: date) -> None:
    """The bundled sample papers, and only them, as the edition of ``day``
    (callers run it in a transaction they roll back)."""
    papers_ingest_file(path=SAMPLE_PATH, featured_on=day)
    ids = [str((item.get("paper") or item).get("id", "")) for item in file_items_read(SAMPLE_PATH)]
    Paper.objects.filter(arxiv_id__in=ids).update(featured_on=day, hidden=False)
    Paper.objects.filter(featured_on=day).exclude(arxiv_id__in=ids).update(featured_on=None)


def _sample_pool() -> EditionPool:
    """The sample edition, loaded inside a transaction that is rolled back:
    the database is left exactly as it was."""
    with transaction.atomic():
        sample_edition_load(day=BENCH_DAY)
        pool = pool_load(first=BENCH_DAY, last=BENCH_DAY)
        transaction.set_rollback(True)
    return pool


def digests_bench(
    *, subscribers: int, naive_sample: int = 100, progress=None, digest_format: str = FULL,
    pool: EditionPool | None = None,
) -> BenchResult:
    """Run the benchmark for one format. ``progress(done, total)`` is called now and then."""
    pool = pool or _sample_pool()
    parts = parts_build(pool=pool, digest_format=digest_format)
    topic_ids = dict(Topic.objects.filter(active=True).values_list("slug", "pk"))
    paper_ids = [p.arxiv_id for p in pool.papers]

    load = os.getloadavg()[0]
    done = skipped = max_html = max_chars = 0
    rss_10k = elapsed = cpu = 0.0
    clock, cpu_clock = time.perf_counter, time.process_time
    for reader, received in readers_synthetic(
        count=subscribers, topic_ids=topic_ids, paper_ids=paper_ids, digest_format=digest_format
    ):
        # Only selecting and assembling is timed, not making up readers.
        started, cpu_started = clock(), cpu_clock()
        selection = digest_select(pool=pool, reader=reader, received=received)
        if selection.empty:
            skipped += 1
        else:
            message = digest_assemble(
                pool=pool, parts=parts, reader=reader, selection=selection, delivery_id=done
            )
        elapsed += clock() - started
        cpu += cpu_clock() - cpu_started
        if not selection.empty:
            html = message.alternatives[0][0]
            if len(html) > max_chars:  # len() is free; encoding only for a new longest
                max_chars, max_html = len(html), len(html.encode())
        done += 1
        if done == CHECKPOINT:
            rss_10k = peak_rss_mb()
        if progress and done % 5000 == 0:
            progress(done, subscribers)
    rss_end = peak_rss_mb()
    if not rss_10k:
        rss_10k = rss_end

    naive_elapsed = naive_cpu = 0.0
    measured = 0
    sample = readers_synthetic(
        count=naive_sample, topic_ids=topic_ids, paper_ids=paper_ids, seed=11, digest_format=digest_format
    )
    for reader, received in sample:
        started, cpu_started = clock(), cpu_clock()
        selection = digest_select(pool=pool, reader=reader, received=received)
        if selection.empty:
            continue
        links = reader_links(reader=reader, pool=pool, mail=parts.mail)
        values = digest_values(pool=pool, reader=reader, selection=selection, links=links, mail=parts.mail)
        values["subject"] = digest_subject(parts=parts, values=values)
        overview, for_you = digest_layout(pool=pool, selection=selection, digest_format=digest_format)
        html, text = digest_render_naive(
            pool=pool, overview=overview, for_you=for_you, trending=list(selection.trending), values=values,
            digest_format=digest_format,
        )
        digest_message(
            mail=parts.mail, reader=reader, subject=values["subject"], text=text, html=html, links=links,
            edition=pool.last.isoformat(), delivery_id=measured,
        )
        naive_elapsed += clock() - started
        naive_cpu += cpu_clock() - cpu_started
        measured += 1
    assembly_per_s = done / elapsed if elapsed else 0.0
    naive_per_s = measured / naive_elapsed if naive_elapsed else 0.0
    return BenchResult(
        digest_format=digest_format,
        subscribers=subscribers,
        assembly_per_s=assembly_per_s,
        assembly_seconds=elapsed,
        assembly_per_cpu_s=done / cpu if cpu else 0.0,
        naive_per_s=naive_per_s,
        naive_per_cpu_s=measured / naive_cpu if naive_cpu else 0.0,
        naive_sample=measured,
        naive_extrapolated_seconds=subscribers / naive_per_s if naive_per_s else 0.0,
        ratio=assembly_per_s / naive_per_s if naive_per_s else 0.0,
        peak_rss_mb_10k=rss_10k,
        peak_rss_mb_100k=rss_end,
        max_html_bytes=max_html,
        skipped_nothing_new=skipped,
        papers=len(pool.papers),
        load_average=load,
    )


class Command(BaseCommand):
    help = (
        "Benchmark digest assembly (ready parts, one process) against the naive path "
        "(full render + premailer per reader) over the sample edition and synthetic readers. "
        "Leaves the database unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000, help="synthetic readers")
        parser.add_argument("--naive-sample", type=int, default=100, help="readers rendered the naive way")
        parser.add_argument("--format", dest="digest_format", choices=[*FORMATS, "both"], default="both",
                            help="the digest layout to measure (default: both, one after the other)")
        parser.add_argument("--json", action="store_true", help="print one JSON object per format")

    def handle(self, *args, subscribers, naive_sample, digest_format: str, json: bool, **options):
        if subscribers < 1 or naive_sample < 1:
            raise CommandError("--subscribers and --naive-sample must be at least 1")

        def progress(done: int, total: int) -> None:
            if not json:
                self.stderr.write(f"\r  assembled {done:,}/{total:,}", ending="")

        for name in FORMATS if digest_format == "both" else (digest_format,):
            # A fresh pool per format: the second pass starts as cold as the first.
            result = digests_bench(
                subscribers=subscribers, naive_sample=naive_sample, progress=progress, digest_format=name,
            )
            if not json:
                self.stderr.write("")
            self.stdout.write(_json.dumps(result.as_dict()) if json else result.line())


_json = json

if __name__ == "__main__":
    bench.bootstrap.command_main(module="bench.digests", commands={"digests": Command})
