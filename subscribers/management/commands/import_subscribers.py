from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from subscribers.importing import CONSENT_SOURCES, ImportFileError, subscribers_import_csv


class Command(BaseCommand):
    help = (
        "Import readers from a CSV file (header line, 'email' required). Imported readers are "
        "pending unless --consent-source double-opt-in; existing readers are left untouched, so "
        "running it again is harmless. Sends no email: the confirmation sweep mails pending readers."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to a UTF-8 CSV file")
        parser.add_argument(
            "--consent-source", default="none", choices=list(CONSENT_SOURCES),
            help="; ".join(f"{s.key}: {s.label}" for s in CONSENT_SOURCES.values()),
        )
        parser.add_argument("--by", metavar="USERNAME", help="staff user to record in the admin log")

    def handle(self, *args, **options):
        by = None
        if options["by"]:
            by = get_user_model().objects.filter(username=options["by"], is_staff=True).first()
            if by is None:
                raise CommandError(f"no staff user named {options['by']!r}")
        try:
            with open(options["file"], encoding="utf-8-sig", newline="") as lines:
                report = subscribers_import_csv(
                    lines=lines, consent_source=options["consent_source"], by=by, filename=options["file"]
                )
        except OSError as exc:
            raise CommandError(f"cannot open {options['file']}: {exc.strerror}") from None
        except ImportFileError as exc:
            raise CommandError(f"nothing imported: {exc}") from None
        for line, reason in report.problems:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(report.summary())
        if by is None:
            self.stdout.write("Not recorded in the admin log (pass --by USERNAME to record it).")
