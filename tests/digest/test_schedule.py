"""Who is due a digest when: local send hours across time zones and DST."""

import threading
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection

from newsletter.digest import schedule
from newsletter.digest.schedule import deliveries_plan
from newsletter.models import Delivery
from subscribers.models import Subscriber
from subscribers.suppression import suppression_add
from tests.conftest import lock_waiters, wait_for
from tests.factories import DAY, paper_make, reader_make

pytestmark = pytest.mark.django_db


def at(*args) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def planned_emails(**kwargs) -> set[str]:
    plan = deliveries_plan(**kwargs)
    return set(Delivery.objects.filter(pk__in=plan.delivery_ids).values_list("subscriber__email", flat=True))


def test_readers_are_due_once_their_local_hour_has_come_in_their_time_zone():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    for zone, hour, name in [
        ("Europe/London", 13, "london-13"), ("Europe/London", 14, "london-14"),
        ("America/New_York", 8, "ny-8"), ("America/New_York", 9, "ny-9"),
        ("Asia/Tokyo", 21, "tokyo-21"), ("Asia/Tokyo", 22, "tokyo-22"),
        ("Asia/Kolkata", 18, "kolkata-18"), ("Asia/Kolkata", 19, "kolkata-19"),
        ("UTC", 0, "utc-0"),
    ]:
        reader_make(f"{name}@example.org", timezone=zone, send_hour=hour)
    with at(2025, 7, 10, 12, 30):  # London 13:30, New York 08:30, Tokyo 21:30, Kolkata 18:00
        assert planned_emails() == {
            "london-13@example.org", "ny-8@example.org", "tokyo-21@example.org",
            "kolkata-18@example.org", "utc-0@example.org",
        }
    due = Delivery.objects.get(subscriber__email="ny-8@example.org").due_at
    assert due == datetime(2025, 7, 10, 12, 0, tzinfo=UTC)  # 08:00 EDT


def test_spring_forward_moves_the_utc_send_time_by_an_hour():
    paper_make("2503.00001", day=date(2025, 3, 8), topics={"reasoning": 1.0})
    paper_make("2503.00002", day=date(2025, 3, 10), topics={"reasoning": 1.0})
    reader_make("ny@example.org", timezone="America/New_York", send_hour=7)
    with at(2025, 3, 8, 11, 55):  # 06:55 EST
        assert planned_emails() == set()
    with at(2025, 3, 8, 12, 0):  # 07:00 EST
        assert planned_emails() == {"ny@example.org"}
    with at(2025, 3, 10, 10, 55):  # 06:55 EDT
        assert planned_emails() == set()
    with at(2025, 3, 10, 11, 0):  # 07:00 EDT: an hour earlier in UTC than before the change
        assert planned_emails() == {"ny@example.org"}
    assert Delivery.objects.filter(subscriber__email="ny@example.org").count() == 2


def test_an_hour_skipped_by_spring_forward_still_comes():
    paper_make("2503.00003", day=date(2025, 3, 9), topics={"reasoning": 1.0})
    reader_make("night@example.org", timezone="America/New_York", send_hour=2)
    with at(2025, 3, 9, 6, 59):  # 01:59 EST; the next minute is 03:00 EDT
        assert planned_emails() == set()
    with at(2025, 3, 9, 7, 0):
        assert planned_emails() == {"night@example.org"}


def test_an_hour_repeated_by_fall_back_sends_once_even_if_a_new_edition_lands_between():
    paper_make("2511.00001", day=date(2025, 11, 1), topics={"reasoning": 1.0})
    reader_make("owl@example.org", timezone="America/New_York", send_hour=1)
    with at(2025, 11, 2, 5, 30):  # 01:30 EDT, first time
        assert planned_emails() == {"owl@example.org"}
    paper_make("2511.00002", day=date(2025, 11, 2), topics={"reasoning": 1.0})
    with at(2025, 11, 2, 6, 30):  # 01:30 EST, second time, and a newer edition exists
        assert planned_emails() == set()
    with at(2025, 11, 3, 6, 0):  # the next day's 01:00 EST
        assert planned_emails() == {"owl@example.org"}


def test_weekly_readers_are_due_only_on_their_weekday():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("thursday@example.org", frequency=Subscriber.Frequency.WEEKLY, weekday=3)
    reader_make("monday@example.org", frequency=Subscriber.Frequency.WEEKLY, weekday=0)
    with at(2025, 7, 10, 9, 0):  # a Thursday
        assert planned_emails() == {"thursday@example.org"}


def test_ineligible_readers_never_get_a_delivery():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("ok@example.org")
    for status in ("pending", "unsubscribed", "bounced", "complained"):
        reader_make(f"{status}@example.org", status=status)
    reader_make("paused@example.org", paused=True)
    reader_make("suppressed@example.org")
    suppression_add(email="SUPPRESSED@example.org", reason="bounced")
    with at(2025, 7, 10, 9, 0):
        assert planned_emails() == {"ok@example.org"}
        assert planned_emails(ignore_schedule=True) == set()


def test_planning_again_creates_nothing_new():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("a@example.org")
    with at(2025, 7, 10, 9, 0):
        first = deliveries_plan()
        second = deliveries_plan()
        third = deliveries_plan(ignore_schedule=True)
    assert len(first.delivery_ids) == 1 and second.delivery_ids == [] and third.delivery_ids == []
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_planners_at_once_create_one_delivery_per_reader(require_postgres, monkeypatch):
    # Planner A inserts its rows and keeps its transaction open. Planner B
    # finds the same 30 readers due (A's rows are not committed), inserts the
    # same (reader, edition) pairs and waits on A's rows; when A commits, the
    # unique constraint leaves them to A: B creates and hands out none.
    paper_make("2507.00001", topics={"reasoning": 1.0})
    for i in range(30):
        reader_make(f"r{i}@example.org")
    insert = schedule.deliveries_insert
    inserted, release = threading.Event(), threading.Event()

    def insert_and_hold(**kwargs):
        created = insert(**kwargs)
        if threading.current_thread().name == "planner-a":
            inserted.set()
            release.wait(30)  # still inside the batch's transaction
        return created

    monkeypatch.setattr(schedule, "deliveries_insert", insert_and_hold)
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def plan():
        name = threading.current_thread().name
        try:
            results[name] = deliveries_plan(now=datetime(2025, 7, 10, 9, 0, tzinfo=UTC)).delivery_ids
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=plan, name="planner-a")
    a.start()
    assert inserted.wait(30)
    b = threading.Thread(target=plan, name="planner-b")
    b.start()
    wait_for(lambda: lock_waiters() >= 1, timeout=30, what="planner B to wait for planner A's rows")
    release.set()
    a.join(30)
    b.join(30)
    assert errors == []
    assert Delivery.objects.count() == 30
    # No id is handed out twice.
    assert (sorted(results["planner-a"]), results["planner-b"]) == (
        sorted(Delivery.objects.values_list("pk", flat=True)), [])


def test_send_now_ignores_the_hour_and_an_address_filter_picks_one_reader():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("late@example.org", send_hour=23)
    reader_make("other@example.org", send_hour=23)
    with at(2025, 7, 10, 9, 0):
        assert planned_emails() == set()
        assert planned_emails(ignore_schedule=True, emails=["LATE@example.org"]) == {"late@example.org"}


def test_unknown_time_zone_is_treated_as_utc():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("nowhere@example.org", timezone="Mars/Olympus_Mons", send_hour=9)
    with at(2025, 7, 10, 8, 59):
        assert planned_emails() == set()
    with at(2025, 7, 10, 9, 0):
        assert planned_emails() == {"nowhere@example.org"}


def test_no_edition_no_delivery():
    reader_make("a@example.org")
    with at(2025, 7, 10, 9, 0):
        plan = deliveries_plan()
    assert plan.edition is None and plan.reason == "no edition with papers yet"
    assert deliveries_plan(edition_date=DAY).reason == "the edition of 2025-07-10 has no visible papers"
