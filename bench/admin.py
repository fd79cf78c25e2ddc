"""The admin at scale: seed a database of its own with many readers and
deliveries, then time every admin page as a logged-in superuser.

    python -m bench.admin seed [--readers 100000] [--deliveries 1000000] [--reset | --remove]
    python -m bench.admin run [--repeat 5] [--budget-ms 1000]
"""

import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import bench.bootstrap
from bench.admin_data import bench_present, bench_remove, bench_seed
from newsletter.models import Delivery, Edition, Paper, Topic
from subscribers.models import Subscriber

BENCH_USER = "bench-admin"


def _pages() -> list[tuple[str, str]]:
    """Every admin list page, the main filters and searches, the edition and
    reader pages, and the dashboard, with ids taken from the data."""
    papers = reverse("admin:newsletter_paper_changelist")
    readers = reverse("admin:subscribers_subscriber_changelist")
    deliveries = reverse("admin:newsletter_delivery_changelist")
    topic = Topic.objects.order_by("pk").first()
    edition = Edition.objects.order_by("-date").first()
    paper = Paper.objects.order_by("-featured_on", "pk").first()
    reader = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, deliveries__isnull=False)
        .order_by("-pk")
        .first()
        or Subscriber.objects.order_by("-pk").first()
    )
    month = reader.created_at.strftime("%Y-%m") if reader else "2025-01"
    pages = [
        ("admin index", reverse("admin:index")),
        ("dashboard", reverse("admin-dashboard")),
        ("papers", papers),
        ("papers by upvotes", papers + "?o=-3"),
        ("papers, has code, pinned", papers + "?has_code=yes&pinned__exact=1"),
        ("papers, author search", papers + "?q=M%C3%BCller"),
        ("topics", reverse("admin:newsletter_topic_changelist")),
        ("editions", reverse("admin:newsletter_edition_changelist")),
        ("readers", readers),
        ("readers, active", readers + "?status__exact=active"),
        ("readers, time zone", readers + "?timezone=Asia%2FTokyo"),
        ("readers, signup month", readers + f"?signup_month={month}"),
        ("readers, search", readers + "?q=reader0123"),
        ("deliveries", deliveries),
        ("deliveries, status failed", deliveries + "?status__exact=failed"),
        ("deliveries, reason", deliveries + "?reason=suppressed"),
        ("readers, import page", reverse("admin:subscribers_subscriber_import")),
    ]
    if topic:
        pages += [
            ("papers, topic", papers + f"?topic={topic.pk}"),
            ("readers, topic", readers + f"?topic={topic.pk}"),
        ]
    if paper:
        pages.append(("paper page", reverse("admin:newsletter_paper_change", args=[paper.pk])))
    if edition:
        pages += [
            ("edition page", reverse("admin:newsletter_edition_change", args=[edition.pk])),
            ("edition page, topic preview",
             reverse("admin:newsletter_edition_change", args=[edition.pk])
             + f"?preview=topics&preview_topic={topic.pk if topic else ''}&preview_keywords=LoRA"),
            ("deliveries, edition + sent",
             deliveries + f"?edition__id__exact={edition.pk}&status__exact=sent"),
        ]
    if reader:
        pages += [
            ("reader page", reverse("admin:subscribers_subscriber_change", args=[reader.pk])),
            *(
                [
                    ("edition page, reader preview",
                     reverse("admin:newsletter_edition_change", args=[edition.pk])
                     + f"?preview=reader&preview_email={reader.email}"),
                    ("edition page, reader search",
                     reverse("admin:newsletter_edition_change", args=[edition.pk])
                     + "?preview=reader&preview_email=reader0123"),
                ]
                if edition
                else []
            ),
            ("deliveries, search address", deliveries + f"?q={reader.email}"),
            ("deliveries, one reader", deliveries + f"?subscriber__id__exact={reader.pk}"),
        ]
    return pages


class RunCommand(BaseCommand):
    help = (
        "Time every admin list page, the edition and reader pages and the dashboard as a logged-in "
        "superuser (Django's test client, no network). Prints ms per page; exits 1 if a page's "
        "median is over --budget-ms."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--budget-ms", type=float, default=1000.0)

    def handle(self, *args, **options):
        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1")
        user, _ = get_user_model().objects.get_or_create(
            username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        if not (user.is_staff and user.is_superuser):
            raise CommandError(f"user {BENCH_USER!r} exists but is not a superuser")
        hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
        client = Client(SERVER_NAME=hosts[0] if hosts else "localhost")
        client.force_login(user)
        self.stdout.write(
            f"{connection.vendor} · {Subscriber.objects.count()} readers · "
            f"{Delivery.objects.count()} deliveries · {Paper.objects.count()} papers · "
            f"median of {options['repeat']} after one warm-up"
        )
        self.stdout.write(f"{'page':34} {'median ms':>10} {'max ms':>8} {'queries':>8}")
        over = []
        for name, url in _pages():
            timings, queries = [], 0
            for run in range(options["repeat"] + 1):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url, secure=True)
                    elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise CommandError(f"{name}: {url} answered {response.status_code}")
                if run:  # the first run warms caches and templates
                    timings.append(elapsed)
                    queries = len(captured)
            median = statistics.median(timings)
            self.stdout.write(f"{name:34} {median:10.1f} {max(timings):8.1f} {queries:8d}")
            if median > options["budget_ms"]:
                over.append(f"{name} ({url}): {median:.0f} ms")
        if over:
            raise CommandError("over budget: " + "; ".join(over))
        self.stdout.write(f"Every page under {options['budget_ms']:.0f} ms.")


class SeedCommand(BaseCommand):
    help = (
        "Seed benchmark data for the admin: readers (…@bench.invalid) with topics and consent "
        "records, 30 editions of papers (bench/…) and deliveries. Meant for a benchmark database; "
        "--reset removes earlier benchmark rows first and nothing else."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=100_000)
        parser.add_argument("--deliveries", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=30, help="editions, ending today")
        parser.add_argument("--papers-per-day", type=int, default=100)
        parser.add_argument("--reset", action="store_true", help="remove earlier benchmark rows first")
        parser.add_argument("--remove", action="store_true", help="only remove benchmark rows")

    def handle(self, *args, **options):
        for name in ("readers", "deliveries", "days", "papers_per_day"):
            if options[name] < (1 if name in ("days", "papers_per_day") else 0):
                raise CommandError(f"--{name.replace('_', '-')} must be positive")
        if options["reset"] or options["remove"]:
            bench_remove()
            self.stdout.write("Removed earlier benchmark rows.")
            if options["remove"]:
                return
        elif bench_present():
            raise CommandError("benchmark rows are already present; pass --reset to replace them")
        if connection.vendor != "postgresql" and options["deliveries"] > 50_000:
            self.stderr.write("Not PostgreSQL: rows go in with bulk_create, which takes a while.")
        started = time.monotonic()
        report = bench_seed(
            readers=options["readers"], deliveries=options["deliveries"], days=options["days"],
            papers_per_day=options["papers_per_day"],
        )
        self.stdout.write(
            f"Seeded {report.readers} readers ({report.reader_topics} topic choices, {report.consents} "
            f"consent records), {report.papers} papers, {report.editions} new editions and "
            f"{report.deliveries} deliveries in {time.monotonic() - started:.1f}s."
        )


if __name__ == "__main__":
    bench.bootstrap.command_main(module="bench.admin", commands={"seed": SeedCommand, "run": RunCommand})
