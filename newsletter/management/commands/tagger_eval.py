from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from newsletter.ingest.records import DocumentError
from newsletter.tagging.corrections import keyword_suggestions
from newsletter.tagging.evaluate import SETS, labels_set, tagger_evaluate


def _fmt(value: float | None) -> str:
    return "   - " if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = (
        "Precision, recall and F1 of the topic tagger on a hand-labelled set (writes nothing); "
        "see relevance_eval for every figure at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--set", default="sample", choices=SETS, help="which labelled papers")
        parser.add_argument("--mistakes", action="store_true", help="list every paper the tagger got wrong")
        parser.add_argument(
            "--suggest", action="store_true",
            help="suggest keyword changes from the papers editors corrected (their decisions are examples)",
        )

    def handle(self, *args, mistakes, suggest, **options):
        name = options["set"]
        try:
            result = tagger_evaluate(papers=labels_set(name))
        except (OSError, ValueError, KeyError, DocumentError) as exc:
            raise CommandError(f"cannot evaluate: {exc}") from None
        self.stdout.write(f"{'topic':<26} {'prec':>5} {'recall':>6} {'f1':>5} {'tp':>4} {'fp':>4} {'fn':>4}")
        for slug, c in result.per_topic.items():
            self.stdout.write(
                f"{slug:<26} {_fmt(c.precision):>5} {_fmt(c.recall):>6} {_fmt(c.f1):>5} "
                f"{c.tp:>4} {c.fp:>4} {c.fn:>4}"
            )
        if mistakes:
            for arxiv_id, (missed, extra) in result.mistakes.items():
                self.stdout.write(f"{arxiv_id}: missed {missed or '-'}, extra {extra or '-'}")
        o = result.overall
        self.stdout.write(
            f"overall on {result.papers} papers ({name}): precision {_fmt(o.precision)}, "
            f"recall {_fmt(o.recall)}, F1 {_fmt(o.f1)} (tp {o.tp}, fp {o.fp}, fn {o.fn})"
        )
        if suggest:
            lines = keyword_suggestions()
            self.stdout.write(f"suggestions from editors' corrections: {len(lines)}")
            for line in lines:
                self.stdout.write(f"  {line}")
