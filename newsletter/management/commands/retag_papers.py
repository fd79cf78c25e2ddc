from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from newsletter.models import Topic
from newsletter.tagging import papers_retag_all


class Command(BaseCommand):
    help = "Re-tag existing papers (all topics, or --topic SLUG ...); editor decisions are kept."

    def add_arguments(self, parser):
        parser.add_argument("--topic", action="append", dest="slugs", help="topic slug (repeatable)")

    def handle(self, *args, slugs, **options):
        topic_ids = None
        if slugs:
            found = dict(Topic.objects.filter(slug__in=slugs).values_list("slug", "pk"))
            unknown = sorted(set(slugs) - set(found))
            if unknown:
                raise CommandError(f"no topic with slug {', '.join(unknown)}")
            topic_ids = list(found.values())
        changed = papers_retag_all(topic_ids=topic_ids)
        self.stdout.write(f"re-tagged: {changed} papers changed")
