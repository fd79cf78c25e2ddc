"""A new reader's first digest comes at their first chosen hour after they
confirm, not at the next planning run, and the confirmed page says when, in
the reader's time zone: confirming just before and just after the hour,
across DST changes, and for weekly readers."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from newsletter.digest.schedule import deliveries_plan, first_digest_at
from newsletter.models import Delivery
from subscribers.models import Subscriber
from subscribers.tokens import token_make
from tests.factories import paper_make, reader_make
from tests.subscriber_helpers import fresh_client

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# confirmed at (UTC), time zone, hour, weekday of a weekly reader (None:
# daily), the first digest (UTC), and what the confirmed page says.
TOMORROW_8 = "tomorrow, Saturday, at 08:00 (Europe/Berlin)"
CASES = {
    "23:27, the next morning": (utc(2025, 7, 11, 21, 27), BERLIN, 8, None, utc(2025, 7, 12, 6), TOMORROW_8),
    "a minute before the hour, that hour": (
        utc(2025, 7, 11, 5, 59), BERLIN, 8, None, utc(2025, 7, 11, 6), "today at 08:00 (Europe/Berlin)"),
    "just after the hour, the next day": (
        utc(2025, 7, 11, 6, 0, 30), BERLIN, 8, None, utc(2025, 7, 12, 6), TOMORROW_8),
    "the evening before spring forward, an hour earlier in UTC": (
        utc(2025, 3, 29, 22, 27), BERLIN, 8, None, utc(2025, 3, 30, 6),
        "tomorrow, Sunday, at 08:00 (Europe/Berlin)"),
    "the hour spring forward skips, when the clock jumps past it": (
        utc(2025, 3, 30, 0, 30), BERLIN, 2, None, utc(2025, 3, 30, 1), "today at 03:00 (Europe/Berlin)"),
    "between the hour and its repeat in autumn, the next day": (
        utc(2025, 10, 26, 0, 30), BERLIN, 2, None, utc(2025, 10, 27, 1),
        "tomorrow, Monday, at 02:00 (Europe/Berlin)"),
    "the evening before fall back in New York, an hour later in UTC": (
        utc(2025, 11, 2, 1, 0), "America/New_York", 7, None, utc(2025, 11, 2, 12),
        "tomorrow, Sunday, at 07:00 (America/New_York)"),
    "weekly, after the hour on the day, a week later": (
        utc(2025, 7, 14, 7), BERLIN, 8, 0, utc(2025, 7, 21, 6),
        "on Monday, 21 July, at 08:00 (Europe/Berlin)"),
    "weekly, the evening before the day": (
        utc(2025, 7, 13, 21), BERLIN, 8, 0, utc(2025, 7, 14, 6),
        "tomorrow, Monday, at 08:00 (Europe/Berlin)"),
    "weekly, before the hour on the day": (
        utc(2025, 7, 14, 5, 30), BERLIN, 8, 0, utc(2025, 7, 14, 6), "today at 08:00 (Europe/Berlin)"),
}


def planned(at: datetime) -> set[str]:
    with time_machine.travel(at, tick=False):
        ids = deliveries_plan().delivery_ids
    return set(Delivery.objects.filter(pk__in=ids).values_list("subscriber__email", flat=True))


@pytest.mark.parametrize(("confirmed", "zone", "hour", "weekday", "first", "text"), CASES.values(),
                         ids=CASES.keys())
def test_the_first_digest_comes_at_the_first_chosen_hour_after_confirming(
    confirmed, zone, hour, weekday, first, text
):
    paper_make("2503.00001", day=date(2025, 3, 1), topics={"reasoning": 1.0})
    weekly = {"frequency": Subscriber.Frequency.WEEKLY, "weekday": weekday} if weekday is not None else {}
    reader = reader_make(status=Subscriber.Status.PENDING, timezone=zone, send_hour=hour, **weekly)

    with time_machine.travel(confirmed, tick=False):
        page = fresh_client().post(f"/confirm/{token_make(subscriber=reader, purpose='confirm')}/")
    assert page.status_code == 200
    assert f"Your first digest arrives {text}." in page.content.decode()
    reader.refresh_from_db()
    assert reader.confirmed_at == confirmed
    assert first_digest_at(subscriber=reader) == first

    # Not at the next planning run, nor at any before the hour.
    assert planned(min(confirmed + timedelta(minutes=3), first - timedelta(minutes=1))) == set()
    assert planned(first - timedelta(minutes=1)) == set()
    assert planned(first) == {reader.email}
    assert Delivery.objects.get(subscriber=reader).due_at == first


def test_readers_confirmed_long_ago_or_without_a_date_are_due_as_before():
    paper_make("2507.00001", topics={"reasoning": 1.0})
    reader_make("old@example.org", send_hour=7, confirmed_at=utc(2024, 1, 1))
    reader_make("undated@example.org", send_hour=7, confirmed_at=None)
    assert planned(utc(2025, 7, 10, 7, 30)) == {"old@example.org", "undated@example.org"}


def test_the_page_says_nothing_of_a_first_digest_that_has_come_or_while_paused():
    reader = reader_make(timezone=BERLIN, send_hour=8, confirmed_at=utc(2025, 7, 11, 21, 27))
    path = f"/confirm/{token_make(subscriber=reader, purpose='confirm')}/"
    with time_machine.travel(utc(2025, 7, 11, 21, 30), tick=False):
        assert f"Your first digest arrives {TOMORROW_8}." in fresh_client().get(path).content.decode()
    with time_machine.travel(utc(2025, 7, 12, 7), tick=False):
        assert "first digest" not in fresh_client().get(path).content.decode()
    Subscriber.objects.filter(pk=reader.pk).update(paused=True)
    with time_machine.travel(utc(2025, 7, 11, 21, 30), tick=False):
        assert "first digest" not in fresh_client().get(path).content.decode()
