from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.ingest.records import DocumentError


def _date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Ingest papers. --source file PATH (or --sample for the bundled sample)."

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=["file"], required=True)
        parser.add_argument("path", nargs="?", help="JSON or JSON Lines file (--source file)")
        parser.add_argument("--sample", action="store_true", help="the bundled 91-paper sample")
        parser.add_argument("--featured-on", help="featured date for items without one (YYYY-MM-DD)")

    def handle(self, *args, source, path, sample, featured_on, **options):
        featured = _date_arg(featured_on) if featured_on else timezone.localdate()
        if sample:
            path = SAMPLE_PATH
        if not path:
            raise CommandError("--source file needs a PATH (or --sample)")
        try:
            report = papers_ingest_file(path=Path(path), featured_on=featured)
        except DocumentError as exc:
            raise CommandError(f"file {path}: {exc}") from None
        for key, reason in report.skipped:
            self.stderr.write(f"skipped {key}: {reason}")
        self.stdout.write(f"file {Path(path).name}: {report.summary()}")
