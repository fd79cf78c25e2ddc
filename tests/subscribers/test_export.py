import csv
import io

import pytest
from django.core.management import call_command

from subscribers.exporting import EXPORT_COLUMNS, subscribers_export_csv
from subscribers.models import Subscriber
from tests.factories import reader_make
from tests.subscriber_helpers import import_run

pytestmark = pytest.mark.django_db


def test_command_writes_every_reader_to_a_file(tmp_path):
    reader_make("reader1@example.org", topics=("code", "reasoning"), keywords="mixture of experts, MoE")
    reader_make("reader2@example.org", status=Subscriber.Status.UNSUBSCRIBED, topics=())
    path = tmp_path / "out.csv"
    out = io.StringIO()
    call_command("export_subscribers", "--output", str(path), stdout=out)
    assert out.getvalue().strip() == f"2 readers exported to {path}"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == EXPORT_COLUMNS
    assert [(r["email"], r["status"], r["topics"], r["keywords"]) for r in rows] == [
        ("reader1@example.org", "active", "code;reasoning", "mixture of experts, MoE"),
        ("reader2@example.org", "unsubscribed", "", ""),
    ]


def test_command_filters_by_status_and_writes_to_stdout():
    reader_make("reader1@example.org")
    reader_make("reader2@example.org", status=Subscriber.Status.PENDING)
    out, err = io.StringIO(), io.StringIO()
    call_command("export_subscribers", "--status", "pending", stdout=out, stderr=err)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["email"] for r in rows] == ["reader2@example.org"]
    assert "1 readers exported" in err.getvalue()


def test_cells_that_spreadsheets_would_run_are_neutralised_and_restored_on_import():
    reader_make("reader1@example.org", keywords="=HYPERLINK(\"http://evil.example\")")
    buffer = io.StringIO()
    assert subscribers_export_csv(subscribers=Subscriber.objects.all(), out=buffer) == 1
    row = next(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert row["keywords"].startswith("'=")
    Subscriber.objects.all().delete()
    report = import_run(buffer.getvalue())
    assert (report.created, report.problems) == (1, [])
    assert Subscriber.objects.get().keywords == "=HYPERLINK(\"http://evil.example\")"


def test_an_export_imports_as_it_is_with_readers_pending_again():
    reader_make("reader1@example.org", topics=("code",), frequency="weekly", timezone="Asia/Tokyo",
                send_hour=9, weekday=4)
    buffer = io.StringIO()
    subscribers_export_csv(subscribers=Subscriber.objects.all(), out=buffer)
    Subscriber.objects.all().delete()
    import_run(buffer.getvalue())
    reader = Subscriber.objects.get()
    assert (reader.status, reader.frequency, reader.timezone, reader.send_hour, reader.weekday) == (
        "pending", "weekly", "Asia/Tokyo", 9, 4,
    )
    assert list(reader.topics.values_list("slug", flat=True)) == ["code"]
