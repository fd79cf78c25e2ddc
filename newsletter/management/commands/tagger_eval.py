from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsletter.ingest.files import SAMPLE_PATH
from newsletter.ingest.records import DocumentError
from newsletter.tagging.evaluate import LABELS_PATH, tagger_evaluate


def _fmt(value: float | None) -> str:
    return "   - " if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = "Precision and recall of the topic tagger on hand-labelled sample papers (writes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--labels", default=str(LABELS_PATH), help="expected topics (JSON)")
        parser.add_argument("--sample", default=str(SAMPLE_PATH), help="papers in the HF item format")
        parser.add_argument("--mistakes", action="store_true", help="list every paper the tagger got wrong")

    def handle(self, *args, labels, sample, mistakes, **options):
        try:
            result = tagger_evaluate(labels_path=Path(labels), sample_path=Path(sample))
        except (OSError, ValueError, KeyError, DocumentError) as exc:
            raise CommandError(f"cannot evaluate: {exc}") from None
        self.stdout.write(f"{'topic':<26} {'prec':>5} {'recall':>6} {'tp':>4} {'fp':>4} {'fn':>4}")
        for slug, c in result.per_topic.items():
            self.stdout.write(
                f"{slug:<26} {_fmt(c.precision):>5} {_fmt(c.recall):>6} {c.tp:>4} {c.fp:>4} {c.fn:>4}"
            )
        if mistakes:
            for arxiv_id, (missed, extra) in result.mistakes.items():
                self.stdout.write(f"{arxiv_id}: missed {missed or '-'}, extra {extra or '-'}")
        o = result.overall
        self.stdout.write(
            f"overall on {result.papers} papers: precision {_fmt(o.precision)}, recall {_fmt(o.recall)} "
            f"(tp {o.tp}, fp {o.fp}, fn {o.fn})"
        )
