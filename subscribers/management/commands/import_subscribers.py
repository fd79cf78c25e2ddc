from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.lib.progress import ProgressBar
from subscribers.importing import (
    CONSENT_SOURCES,
    ImportFileError,
    subscriber_import_create,
    subscriber_import_run,
    subscriber_import_stop,
)


class Command(BaseCommand):
    help = (
        "Import readers from a CSV file (header line, 'email' required), in this process, with a "
        "progress bar on a terminal and every row not imported listed by line. Imported readers are "
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
            with open(options["file"], "rb") as file:
                data = file.read()
            run = subscriber_import_create(
                data=data, filename=options["file"], consent_source=options["consent_source"], by=by
            )
        except OSError as exc:
            raise CommandError(f"cannot open {options['file']}: {exc.strerror}") from None
        except ImportFileError as exc:
            raise CommandError(f"nothing imported: {exc}") from None
        bar = ProgressBar(self.stderr) if self.stderr.isatty() else None

        def on_chunk(progress, problems):
            if bar:
                bar("Importing readers", progress.rows_done, progress.rows_total)
            for line, reason in problems:
                text = f"line {line}: {reason}"
                self.stderr.write(f"\r{text:<70}" if bar else text)

        try:
            run = subscriber_import_run(import_id=run.pk, on_chunk=on_chunk)
        except KeyboardInterrupt:
            run = subscriber_import_stop(import_id=run.pk, why="interrupted")
            raise CommandError(f"interrupted: {run.summary()} (rows after line {run.line_done} "
                               "not imported; importing the file again adds them)") from None
        finally:
            if bar:
                bar.close()
        if run.status == run.Status.STOPPED:
            raise CommandError(f"{run.error}; {run.summary()}")
        self.stdout.write(run.summary())
        if by is None:
            self.stdout.write("Not recorded in the admin log (pass --by USERNAME to record it).")
