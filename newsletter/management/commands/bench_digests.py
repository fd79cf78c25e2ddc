import json

from django.core.management.base import BaseCommand, CommandError

from newsletter.digest.bench import digests_bench


class Command(BaseCommand):
    help = (
        "Benchmark digest assembly (ready parts, one process) against the naive path "
        "(full render + premailer per reader) over the sample edition and synthetic readers. "
        "Leaves the database unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000, help="synthetic readers")
        parser.add_argument("--naive-sample", type=int, default=100, help="readers rendered the naive way")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, subscribers, naive_sample, json: bool, **options):
        if subscribers < 1 or naive_sample < 1:
            raise CommandError("--subscribers and --naive-sample must be at least 1")

        def progress(done: int, total: int) -> None:
            if not json:
                self.stderr.write(f"\r  assembled {done:,}/{total:,}", ending="")

        result = digests_bench(subscribers=subscribers, naive_sample=naive_sample, progress=progress)
        if not json:
            self.stderr.write("")
        self.stdout.write(_json.dumps(result.as_dict()) if json else result.line())


_json = json
