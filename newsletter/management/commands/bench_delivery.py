import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsletter.digest.bench_delivery import delivery_bench


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
