"""The admin benchmark's seed and run, at a tiny size (the real run is
100,000 readers and 1,000,000 deliveries against a PostgreSQL database of
its own)."""

import io

import pytest
from django.core.management import CommandError, call_command

from bench.admin import RunCommand, SeedCommand
from newsletter.models import Delivery, Edition, Paper
from subscribers.models import ConsentRecord, Subscriber
from tests.factories import paper_make, reader_make

pytestmark = pytest.mark.django_db

SMALL = ["--readers", "40", "--deliveries", "50", "--days", "3", "--papers-per-day", "4"]


def test_seed_creates_marked_rows_and_removes_only_those():
    mine = reader_make("reader1@example.org")
    paper = paper_make("2508.00001")
    out = io.StringIO()
    call_command(SeedCommand(), *SMALL, stdout=out)
    assert "Seeded 40 readers" in out.getvalue()
    bench_readers = Subscriber.objects.filter(email__endswith="@bench.invalid")
    assert bench_readers.count() == 40
    assert set(bench_readers.values_list("status", flat=True)) == {
        "active", "pending", "unsubscribed", "bounced", "complained",
    }
    assert Delivery.objects.count() == 50
    assert not Delivery.objects.exclude(subscriber__status="active").exists()
    assert Paper.objects.filter(arxiv_id__startswith="bench/").count() == 12
    assert Edition.objects.count() == 3
    assert ConsentRecord.objects.filter(subscriber__in=bench_readers).count() == 40

    with pytest.raises(CommandError, match="already present; pass --reset"):
        call_command(SeedCommand(), *SMALL, stdout=io.StringIO())
    call_command(SeedCommand(), *SMALL, "--reset", stdout=io.StringIO())
    assert bench_readers.count() == 40

    call_command(SeedCommand(), "--remove", stdout=io.StringIO())
    assert list(Subscriber.objects.all()) == [mine]
    assert list(Paper.objects.all()) == [paper]
    assert not Delivery.objects.exists() and not Edition.objects.exists()


def test_bench_times_every_page_and_fails_over_budget():
    call_command(SeedCommand(), *SMALL, stdout=io.StringIO())
    out = io.StringIO()
    # The budget is the benchmark's business, not this test's: a generous one
    # here checks the command, not this machine's speed.
    call_command(RunCommand(), "--repeat", "1", "--budget-ms", "600000", stdout=out)
    text = out.getvalue()
    for page in ("dashboard", "papers", "topics", "editions", "readers", "deliveries", "edition page",
                 "reader page", "readers, topic", "deliveries, search address",
                 "edition page, reader preview", "edition page, reader search",
                 "edition page, topic preview"):
        assert f"\n{page} " in text
    assert "Every page under 600000 ms." in text
    with pytest.raises(CommandError, match="over budget: admin index"):
        call_command(RunCommand(), "--repeat", "1", "--budget-ms", "0.001", stdout=io.StringIO())
