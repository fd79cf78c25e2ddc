from django.core.management.base import BaseCommand, CommandError

from subscribers.exporting import subscribers_export_csv
from subscribers.models import Subscriber


class Command(BaseCommand):
    help = "Write every reader (or those with --status) as CSV to standard output or --output."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
        parser.add_argument("--status", choices=Subscriber.Status.values, action="append",
                            help="only readers with this status (repeatable)")

    def handle(self, *args, **options):
        readers = Subscriber.objects.all()
        if options["status"]:
            readers = readers.filter(status__in=options["status"])
        if not options["output"]:
            count = subscribers_export_csv(subscribers=readers, out=self.stdout)
            self.stderr.write(f"{count} readers exported")
            return
        try:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                count = subscribers_export_csv(subscribers=readers, out=out)
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
        self.stdout.write(f"{count} readers exported to {options['output']}")
