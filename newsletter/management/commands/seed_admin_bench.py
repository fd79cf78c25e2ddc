import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from newsletter.benchdata import bench_present, bench_remove, bench_seed


class Command(BaseCommand):
    help = (
        "Seed benchmark data for the admin: readers (…@bench.invalid) with topics and consent "
        "records, 30 editions of papers (bench/…) and deliveries. Meant for a benchmark database; "
        "--reset removes earlier benchmark rows first and nothing else."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=100_000)
        parser.add_argument("--deliveries", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=30, help="editions, ending today")
        parser.add_argument("--papers-per-day", type=int, default=100)
        parser.add_argument("--reset", action="store_true", help="remove earlier benchmark rows first")
        parser.add_argument("--remove", action="store_true", help="only remove benchmark rows")

    def handle(self, *args, **options):
        for name in ("readers", "deliveries", "days", "papers_per_day"):
            if options[name] < (1 if name in ("days", "papers_per_day") else 0):
                raise CommandError(f"--{name.replace('_', '-')} must be positive")
        if options["reset"] or options["remove"]:
            bench_remove()
            self.stdout.write("Removed earlier benchmark rows.")
            if options["remove"]:
                return
        elif bench_present():
            raise CommandError("benchmark rows are already present; pass --reset to replace them")
        if connection.vendor != "postgresql" and options["deliveries"] > 50_000:
            self.stderr.write("Not PostgreSQL: rows go in with bulk_create, which takes a while.")
        started = time.monotonic()
        report = bench_seed(
            readers=options["readers"], deliveries=options["deliveries"], days=options["days"],
            papers_per_day=options["papers_per_day"],
        )
        self.stdout.write(
            f"Seeded {report.readers} readers ({report.reader_topics} topic choices, {report.consents} "
            f"consent records), {report.papers} papers, {report.editions} new editions and "
            f"{report.deliveries} deliveries in {time.monotonic() - started:.1f}s."
        )
