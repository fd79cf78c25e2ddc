import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from newsletter.digest.run import digests_run


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Send digests now, in this process: to readers whose hour has come (or everyone with --now), "
        "through the same pipeline as the workers. Prints progress and a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the edition to send (YYYY-MM-DD; default: the newest)")
        parser.add_argument("--email", action="append", help="only this reader (repeatable)")
        parser.add_argument("--now", action="store_true", help="ignore readers' send hour and weekday")

    def handle(self, *args, date, email, now, **options):
        edition_date = _date(date) if date else None
        tty = sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = int(width * done / total) if total else width
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            if tty:
                self.stderr.write(f"\r{bar}", ending="")
            else:
                self.stderr.write(bar)

        report = digests_run(edition_date=edition_date, emails=email, now=now, progress=progress)
        if tty and report.planned:
            self.stderr.write("")
        if report.reason:
            self.stderr.write(report.reason)
        for reason, count in report.skips.most_common():
            self.stdout.write(f"  skipped {count}: {reason}")
        for reason, count in report.failures.most_common():
            self.stdout.write(f"  failed {count}: {reason}")
        self.stdout.write(report.summary())
        if report.edition is None:
            raise CommandError(report.reason)
