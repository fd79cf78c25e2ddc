from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from newsletter.ingest.records import DocumentError
from newsletter.relevance.report import REPORT_SEED, TUNING_SEED, relevance_report


class Command(BaseCommand):
    help = (
        "Relevance figures as one JSON line: tagging precision/recall/F1 per topic on each labelled set, "
        "the relative-cut trade-off on the development sets, 'For you' precision and recall for simulated "
        "readers, and the seven-day feedback simulation. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-simulation", action="store_true", help="skip the seven-day simulation")
        parser.add_argument(
            "--seed", type=int, default=REPORT_SEED,
            help=f"draw the simulated readers with this seed (default {REPORT_SEED}; "
            f"the learning constants are tuned with {TUNING_SEED})",
        )

    def handle(self, *args, no_simulation, seed, **options):
        try:
            report = relevance_report(simulation=not no_simulation, seed=seed)
        except (OSError, ValueError, KeyError, DocumentError) as exc:
            raise CommandError(f"cannot evaluate: {exc}") from None
        self.stdout.write(json.dumps(report, separators=(",", ":")))
