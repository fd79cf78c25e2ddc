from __future__ import annotations

from datetime import UTC, date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.lib.progress import ProgressBar
from newsletter.ingest.arxiv import papers_ingest_arxiv
from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from newsletter.ingest.hf import papers_ingest_hf
from newsletter.ingest.records import DocumentError, SourceError

MAX_DAYS_BACK = 60


def _date_arg(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Ingest papers: --source hf [--date D | --since D], --source arxiv --category cs.CL [--max N], "
        "--source file PATH [--featured-on D] (or --sample for the bundled sample)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=["hf", "arxiv", "file"], required=True)
        parser.add_argument("path", nargs="?", help="JSON or JSON Lines file (--source file)")
        parser.add_argument("--sample", action="store_true", help="the bundled 91-paper sample (file)")
        parser.add_argument("--featured-on", help="featured date for file items without one (YYYY-MM-DD)")
        days = parser.add_mutually_exclusive_group()
        days.add_argument("--date", help="one Daily Papers day (hf; default today, UTC)")
        days.add_argument("--since", help="every day from this one to today (hf)")
        parser.add_argument("--category", help="arXiv category, e.g. cs.CL (arxiv)")
        parser.add_argument("--max", type=int, dest="max_results", help="newest N submissions (arxiv)")

    def handle(self, *args, source, **options):
        self._check_options(source, options)
        progress = ProgressBar(self.stderr) if self.stderr.isatty() else None
        try:
            scope, report = self._run(source, options, progress)
        except (SourceError, DocumentError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            if progress:
                progress.close()
        for key, reason in report.skipped:
            self.stderr.write(f"skipped {key}: {reason}")
        self.stdout.write(f"{source} {scope}: {report.summary()}")

    def _check_options(self, source: str, options: dict) -> None:
        used = {
            "path": options["path"], "--sample": options["sample"], "--featured-on": options["featured_on"],
            "--date": options["date"], "--since": options["since"], "--category": options["category"],
            "--max": options["max_results"],
        }
        allowed = {
            "file": {"path", "--sample", "--featured-on"},
            "hf": {"--date", "--since"},
            "arxiv": {"--category", "--max"},
        }[source]
        wrong = [name for name, value in used.items() if value not in (None, False) and name not in allowed]
        if wrong:
            raise CommandError(f"{', '.join(wrong)} cannot be used with --source {source}")

    def _run(self, source: str, options: dict, progress):
        today = timezone.now().astimezone(UTC).date()
        if source == "file":
            path = SAMPLE_PATH if options["sample"] else options["path"]
            if not path:
                raise CommandError("--source file needs a PATH (or --sample)")
            featured = (
                _date_arg(options["featured_on"], "--featured-on") if options["featured_on"]
                else timezone.localdate()
            )
            try:
                report = papers_ingest_file(path=Path(path), featured_on=featured, progress=progress)
            except DocumentError as exc:
                raise DocumentError(f"file {path}: {exc}") from None
            return Path(path).name, report
        if source == "hf":
            if options["since"]:
                since = _date_arg(options["since"], "--since")
                if since > today:
                    raise CommandError(f"--since {since} is in the future (today is {today}, UTC)")
                if (today - since).days >= MAX_DAYS_BACK:
                    raise CommandError(f"--since may go back at most {MAX_DAYS_BACK} days")
                days = [since + timedelta(days=n) for n in range((today - since).days + 1)]
            else:
                days = [_date_arg(options["date"], "--date") if options["date"] else today]
            scope = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
            return scope, papers_ingest_hf(days=days, progress=progress)
        category = options["category"]
        if not category:
            raise CommandError("--source arxiv needs --category (e.g. cs.CL)")
        max_results = options["max_results"]
        if max_results is None:
            max_results = settings.ARXIV_MAX_RESULTS
        if max_results < 1:
            raise CommandError("--max must be at least 1")
        return category, papers_ingest_arxiv(category=category, max_results=max_results, progress=progress)
