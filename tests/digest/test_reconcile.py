"""Sends that got no answer, settled with the provider: anymail's real
Postmark backend and the fake provider's real message search. Found ->
sent; certainly absent -> sent once more (never a third time); the search
failing -> asked again, then failed; a provider event settles it at once;
two sweeps, or a sweep and an event, never both act."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from bench.fake_provider import FakePostmark
from newsletter.digest import reconcile
from newsletter.digest.reconcile import PostmarkLookup, deliveries_reconcile
from newsletter.digest.schedule import deliveries_plan
from newsletter.digest.send import deliveries_send, stale_deliveries_settle
from newsletter.models import Delivery
from subscribers.models import ProviderEvent
from subscribers.provider_events.processing import provider_event_process
from subscribers.suppression import is_suppressed
from tests.digest_support import use_fake_postmark
from tests.factories import delivery_make, edition_make, edition_small, provider_event_make, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]
T0 = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)
S = Delivery.Status
R = Delivery.Reconciled
AFTER = 300


@pytest.fixture
def fake(settings):
    with FakePostmark() as server:
        use_fake_postmark(settings, server)
        settings.EMAIL_TIMEOUT = 1
        settings.DIGEST_RECONCILE_AFTER_SECONDS = AFTER
        settings.DIGEST_RECONCILE_GIVE_UP_SECONDS = 3600
        server.stall_seconds = 1.5
        yield server


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def unanswered(fake, kind: str, *, times: int = 1) -> int:
    """One reader's digest sent at T0 with no answer: ``timeout`` (the fake
    accepted it) or ``reset`` (it did not). Returns the Delivery's id."""
    edition_small()
    reader_make("a@example.org", topics=("quantization-compression",))
    fake.fault("a@example.org", kind, times=times)
    with at(T0):
        ids = deliveries_plan(now=T0).delivery_ids
        assert deliveries_send(delivery_ids=ids).uncertain == ids
    return ids[0]


def sweep(moment: datetime):
    with at(moment):
        return stale_deliveries_settle()


def test_a_send_the_provider_has_is_found_and_recorded_sent_with_its_id_and_time(fake):
    pk = unanswered(fake, "timeout")
    assert sweep(T0 + timedelta(seconds=AFTER - 1)).reconciled.found == []
    assert fake.stats.searches == 0, "not asked before the provider's search can see it"
    assert sweep(T0 + timedelta(seconds=AFTER + 1)).reconciled.found == [pk]
    row = Delivery.objects.get()
    [message] = fake.accepted()
    assert (row.status, row.reconciled, row.provider_message_id) == (S.SENT, R.LOOKUP, message.message_id)
    assert row.sent_at == T0 and row.reason == ""
    assert row.reconcile_note.startswith("ambiguous: ") and "found at the provider" in row.reconcile_note
    assert sweep(T0 + timedelta(hours=2)).requeued == [] and len(fake.accepted()) == 1


def test_a_send_the_provider_certainly_does_not_have_is_sent_once_more(fake):
    pk = unanswered(fake, "reset")
    settled = sweep(T0 + timedelta(seconds=AFTER + 1))
    assert settled.reconciled.resend == [pk] and settled.requeued == [pk]
    row = Delivery.objects.get()
    assert (row.status, row.reconciled) == (S.PENDING, R.RESEND)
    assert "not at the provider: sent again" in row.reconcile_note
    with at(T0 + timedelta(seconds=AFTER + 2)):
        assert deliveries_send(delivery_ids=[pk]).sent == [pk]
    row.refresh_from_db()
    [message] = fake.accepted()
    assert (row.status, row.reconciled, row.provider_message_id) == (S.SENT, R.RESEND, message.message_id)
    assert row.attempts == 2


@pytest.mark.parametrize("second", ["timeout", "reset"])
def test_a_second_send_without_an_answer_ends_failed_for_good(fake, second):
    pk = unanswered(fake, "reset")
    sweep(T0 + timedelta(seconds=AFTER + 1))
    fake.fault("a@example.org", second)
    with at(T0 + timedelta(seconds=AFTER + 2)):
        outcome = deliveries_send(delivery_ids=[pk])
    assert outcome.failed == [pk] and outcome.uncertain == []
    row = Delivery.objects.get()
    assert (row.status, row.reconciled) == (S.FAILED, R.RESEND)
    assert row.reason.startswith("ambiguous: ") and "never sent again" in row.reconcile_note
    # No third attempt, however long we wait: not looked up, not sent.
    assert sweep(T0 + timedelta(hours=3)).requeued == []
    with at(T0 + timedelta(hours=3)):
        assert deliveries_send(delivery_ids=[pk]).busy == [pk]
    assert fake.stats.searches == 1
    assert len(fake.accepted()) == (1 if second == "timeout" else 0)


def test_a_second_send_interrupted_ends_failed_for_good(fake, settings):
    pk = unanswered(fake, "reset")
    sweep(T0 + timedelta(seconds=AFTER + 1))
    # The one send again was claimed, then its worker died.
    Delivery.objects.filter(pk=pk).update(status=S.SENDING, claimed_at=T0 + timedelta(seconds=AFTER + 2))
    later = T0 + timedelta(seconds=AFTER + 3 + settings.DIGEST_SENDING_TIMEOUT_SECONDS + AFTER)
    assert sweep(later).interrupted == 1
    row = Delivery.objects.get()
    assert (row.status, row.reason, row.reconciled) == (S.FAILED, "interrupted", R.RESEND)
    assert fake.stats.searches == 1 and fake.accepted() == []


def test_an_interrupted_send_is_looked_up_after_the_sending_timeout(fake, settings):
    edition_small()
    for name in ("kept", "lost"):
        reader_make(f"{name}@example.org", topics=("quantization-compression",))
    ids = deliveries_plan(now=T0).delivery_ids
    kept, lost = ids
    # Both were claimed by a worker that died: the provider had accepted
    # "kept" (the answer was never recorded); "lost" never reached it.
    Delivery.objects.filter(pk__in=ids).update(status=S.SENDING, claimed_at=T0, attempts=1)
    with at(T0):
        fake._record({"To": "kept@example.org", "From": "x@example.org", "TextBody": "x",
                      "Metadata": {"delivery_id": str(kept)}, "MessageStream": "broadcast"})
    later = T0 + timedelta(seconds=settings.DIGEST_SENDING_TIMEOUT_SECONDS + 1)
    settled = sweep(later)
    assert settled.interrupted == 2
    assert settled.reconciled.found == [kept] and settled.reconciled.resend == [lost]
    with at(later):
        assert deliveries_send(delivery_ids=[lost]).sent == [lost]
    assert sorted(m.to for m in fake.accepted()) == ["kept@example.org", "lost@example.org"]
    rows = {d.pk: d for d in Delivery.objects.all()}
    assert (rows[kept].status, rows[kept].reconciled, rows[kept].sent_at) == (S.SENT, R.LOOKUP, T0)
    assert rows[kept].reconcile_note.startswith("interrupted; found at the provider")
    assert (rows[lost].status, rows[lost].reconciled) == (S.SENT, R.RESEND)


def test_a_search_that_fails_is_asked_again_then_the_send_ends_failed(fake):
    pk = unanswered(fake, "timeout")
    fake.fault(None, "search-500", times=None)
    first = T0 + timedelta(seconds=AFTER + 1)
    assert sweep(first).reconciled.waiting == [pk]
    row = Delivery.objects.get()
    assert row.status == S.UNCERTAIN and row.next_attempt_at == first + timedelta(seconds=AFTER)
    assert "search answered 500" in row.reconcile_note
    assert sweep(first + timedelta(seconds=AFTER - 1)).reconciled.waiting == []  # not due yet
    assert fake.stats.searches == 1
    assert sweep(T0 + timedelta(seconds=3600)).reconciled.gave_up == [pk]
    row.refresh_from_db()
    assert row.status == S.FAILED and row.reason.startswith("ambiguous: ")
    assert "the provider could not say whether it had it" in row.reconcile_note
    assert sweep(T0 + timedelta(hours=5)).requeued == [] and len(fake.accepted()) == 1


def test_a_failing_search_stops_the_sweeps_lookups_until_the_next_sweep(fake):
    edition_small()
    for name in ("a", "b"):
        reader_make(f"{name}@example.org", topics=("quantization-compression",))
        fake.fault(f"{name}@example.org", "reset")
    with at(T0):
        ids = deliveries_plan(now=T0).delivery_ids
        assert deliveries_send(delivery_ids=ids).uncertain == ids
    fake.fault(None, "search-500")
    assert sweep(T0 + timedelta(seconds=AFTER + 1)).reconciled.waiting == [ids[0]]
    assert fake.stats.searches == 1
    # The next sweep asks about the other one (the search works again).
    assert sweep(T0 + timedelta(seconds=AFTER + 2)).reconciled.resend == [ids[1]]


def test_a_search_answer_that_does_not_name_the_delivery_is_not_trusted(fake, monkeypatch):
    # A provider that ignored the metadata filter answers with other messages:
    # that is no proof either way, so nothing is sent and nothing is recorded.
    pk = unanswered(fake, "reset")
    with at(T0):
        fake._record({"To": "a@example.org", "From": "x@example.org", "TextBody": "x",
                      "Metadata": {"delivery_id": "999999"}, "MessageStream": "broadcast"})
    real = fake.search
    monkeypatch.setattr(fake, "search", lambda query: real({k: v for k, v in query.items()
                                                            if not k.startswith("metadata_")}))
    assert sweep(T0 + timedelta(seconds=AFTER + 1)).reconciled.waiting == [pk]
    assert Delivery.objects.get().status == S.UNCERTAIN


def test_providers_without_a_search_are_left_as_before(fake, settings):
    settings.EMAIL_PROVIDER = "smtp"
    edition_small()
    reader_make("a@example.org", topics=("quantization-compression",))
    fake.fault("a@example.org", "reset")
    with at(T0):
        ids = deliveries_plan(now=T0).delivery_ids
        assert deliveries_send(delivery_ids=ids).failed == ids
    assert sweep(T0 + timedelta(hours=1)).requeued == []
    assert Delivery.objects.get().status == S.FAILED and fake.stats.searches == 0


@pytest.mark.parametrize("kind", ["delivered", "hard_bounce", "opened"])
def test_any_provider_event_naming_an_uncertain_delivery_settles_it_as_sent(fake, kind):
    pk = unanswered(fake, "timeout")
    delivery = Delivery.objects.select_related("subscriber").get()
    event = provider_event_make(reader=delivery.subscriber, kind=kind,
                                metadata={"delivery_id": str(pk)}, message_id="pm-123")
    result = provider_event_process(event_id=event.pk)
    assert f"delivery #{pk} settled as sent" in result
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reconciled, delivery.provider_message_id) == (S.SENT, R.EVENT, "pm-123")
    assert "settled by a postmark" in delivery.reconcile_note
    # The event still does what it always did.
    assert is_suppressed("a@example.org") == (kind == "hard_bounce")
    assert sweep(T0 + timedelta(hours=1)).reconciled.found == [] and fake.stats.searches == 0


def test_an_event_for_an_answered_send_changes_nothing(fake):
    edition_small()
    reader = reader_make("a@example.org", topics=("quantization-compression",))
    with at(T0):
        deliveries_send(delivery_ids=deliveries_plan(now=T0).delivery_ids)
    delivery = Delivery.objects.get()
    event = provider_event_make(reader=reader, kind="delivered",
                                metadata={"delivery_id": str(delivery.pk)}, message_id="other")
    assert "settled" not in provider_event_process(event_id=event.pk)
    delivery.refresh_from_db()
    assert delivery.reconciled == "" and delivery.provider_message_id == fake.accepted()[0].message_id


def test_an_event_for_a_failed_ambiguous_send_of_a_provider_without_search_settles_it(fake, settings):
    settings.EMAIL_PROVIDER = "smtp"
    edition_small()
    reader = reader_make("a@example.org", topics=("quantization-compression",))
    fake.fault("a@example.org", "timeout")
    with at(T0):
        deliveries_send(delivery_ids=deliveries_plan(now=T0).delivery_ids)
    delivery = Delivery.objects.get()
    assert delivery.status == S.FAILED
    event = provider_event_make(reader=reader, kind="delivered",
                                metadata={"delivery_id": str(delivery.pk)})
    provider_event_process(event_id=event.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reconciled) == (S.SENT, R.EVENT)


def test_a_late_event_during_the_lookup_wins_and_nothing_is_sent_again(fake, monkeypatch):
    # The lookup found nothing (the search lags), but the delivered event is
    # processed between the claim and the result: the event settles it, and
    # the lookup's "send again" finds the row no longer uncertain.
    pk = unanswered(fake, "timeout")
    delivery = Delivery.objects.select_related("subscriber").get()
    event = provider_event_make(reader=delivery.subscriber, kind="delivered",
                                metadata={"delivery_id": str(pk)}, message_id=fake.accepted()[0].message_id)

    def lagging_search(self, *, delivery_id, email):
        provider_event_process(event_id=event.pk)
        return reconcile.Lookup("absent")

    monkeypatch.setattr(PostmarkLookup, "find", lagging_search)
    settled = sweep(T0 + timedelta(seconds=AFTER + 1))
    assert settled.reconciled.resend == [] and settled.requeued == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reconciled) == (S.SENT, R.EVENT)
    assert len(fake.accepted()) == 1


def test_an_event_after_the_lookup_found_nothing_stops_the_send_again(fake):
    # Absent at the lookup, then the provider reports the first send: the
    # send again is not claimed yet, so it is called off.
    pk = unanswered(fake, "reset")
    assert sweep(T0 + timedelta(seconds=AFTER + 1)).reconciled.resend == [pk]
    delivery = Delivery.objects.select_related("subscriber").get()
    event = provider_event_make(reader=delivery.subscriber, kind="delivered",
                                metadata={"delivery_id": str(pk)}, message_id="pm-late")
    provider_event_process(event_id=event.pk)
    with at(T0 + timedelta(seconds=AFTER + 2)):
        assert deliveries_send(delivery_ids=[pk]).busy == [pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reconciled) == (S.SENT, R.EVENT) and fake.accepted() == []
    assert ProviderEvent.objects.get().delivery_id == pk


def test_two_sweeps_at_once_look_each_delivery_up_once(fake, monkeypatch):
    # The second sweep runs while the first is waiting on the provider's
    # answer: the first's claim keeps it off the row.
    pk = unanswered(fake, "reset")
    moment = T0 + timedelta(seconds=AFTER + 1)
    real = PostmarkLookup.find
    inner = []

    def find_while_another_sweeps(self, **kwargs):
        if not inner:
            inner.append(deliveries_reconcile(now=moment))
        return real(self, **kwargs)

    monkeypatch.setattr(PostmarkLookup, "find", find_while_another_sweeps)
    settled = sweep(moment)
    assert settled.reconciled.resend == [pk]
    assert inner[0].resend == inner[0].found == inner[0].waiting == []
    assert fake.stats.searches == 1
    # Once the first is done, a later sweep does not act on it either.
    assert sweep(moment + timedelta(seconds=1)).requeued == []


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_in_two_threads_settle_each_delivery_once(fake, require_postgres):
    edition = edition_make()
    rows = []
    for n in range(30):
        reader = reader_make(f"r{n}@example.org", topics=("quantization-compression",))
        rows.append(delivery_make(reader=reader, edition=edition, status=S.UNCERTAIN,
                                  reason="ambiguous: ReadTimeout", claimed_at=T0))
    for row in rows[::2]:  # the provider has every other one
        fake._record({"To": row.subscriber.email, "From": "x@example.org", "TextBody": "x",
                      "Metadata": {"delivery_id": str(row.pk)}, "MessageStream": "broadcast"})
    results, errors = [], []

    def sweep_now():
        try:
            results.append(deliveries_reconcile(now=T0 + timedelta(seconds=AFTER + 1)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    acted = [pk for r in results for pk in (*r.found, *r.resend)]
    assert sorted(acted) == sorted(row.pk for row in rows), "each Delivery settled by one sweep only"
    assert sorted(pk for r in results for pk in r.found) == sorted(row.pk for row in rows[::2])
    assert fake.stats.searches == 30
