"""One mailbox, one reader: an address whose domain is written in Unicode
(``x@bücher.example``) or in its IDNA form (``x@xn--bcher-kva.example``), in
any case, is one reader with one set of limits, one suppression and one
consent history, whichever way it came in."""

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core import mail
from django.utils import timezone

from newsletter.models import Delivery, PaperVote, ReaderTaste
from subscribers.addresses import email_key, email_normalised
from subscribers.choices import Choices
from subscribers.models import ConsentRecord, ProviderEvent, Subscriber, Suppression, email_hash
from subscribers.services import subscriber_signup
from subscribers.suppression import is_suppressed, suppression_add
from tests.factories import DAY, delivery_make, edition_make, paper_make, reader_make, topic
from tests.subscriber_helpers import eager_tasks, fresh_client, import_run, sent_to, signup_data

pytestmark = pytest.mark.django_db

UNICODE = "x@bücher.example"
ASCII = "x@xn--bcher-kva.example"


def test_the_domain_is_written_in_idna_form_in_lower_case_and_the_local_part_is_kept():
    assert email_normalised(" Ada@BÜCHER.Example ") == "Ada@xn--bcher-kva.example"
    assert email_normalised(ASCII) == ASCII
    assert email_normalised("Ada@Example.ORG") == "Ada@example.org"
    assert email_key(UNICODE) == email_key("X@XN--BCHER-KVA.EXAMPLE") == ASCII
    with pytest.raises(ValueError, match="IDNA"):
        email_normalised("x@" + "ü" * 70 + ".example")


def test_both_spellings_sign_up_as_one_reader_through_the_form(django_capture_on_commit_callbacks):
    for email in (UNICODE, ASCII, "X@BÜCHER.EXAMPLE"):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            assert fresh_client().post("/subscribe/", signup_data(email)).status_code == 303
    reader = Subscriber.objects.get()
    assert reader.email == ASCII
    assert reader.consents.count() == 3
    # One confirmation: asking again within the cooldown owes none, whichever spelling asks.
    assert [m.to for m in mail.outbox] == [[ASCII]]


@pytest.mark.usefixtures("one_rate_window")
def test_both_spellings_share_one_per_address_limit(settings, django_capture_on_commit_callbacks):
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 1
    for email in (UNICODE, ASCII):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            fresh_client().post("/subscribe/", signup_data(email))
    assert len(sent_to(ASCII)) == 1
    assert Subscriber.objects.get().consents.count() == 1


def test_the_services_take_either_spelling_as_the_same_reader():
    first = subscriber_signup(email=UNICODE, choices=Choices.build(topics=["reasoning"]))
    again = subscriber_signup(email=ASCII, choices=Choices.build(topics=["code"]))
    assert first.subscriber_id == again.subscriber_id
    assert Subscriber.objects.get().email == ASCII


def test_a_suppression_of_one_spelling_holds_for_the_other():
    suppression_add(email=UNICODE, reason=Suppression.Reason.BOUNCED)
    assert is_suppressed(ASCII) and is_suppressed("X@Bücher.Example")
    assert subscriber_signup(email=ASCII, choices=Choices.build(topics=["reasoning"])).subscriber_id is None
    assert not Subscriber.objects.exists()


def test_the_csv_import_stores_one_spelling_and_sees_the_other_as_the_same_reader():
    report = import_run(f"email\n{UNICODE}\n{ASCII}\n")
    assert report.created == 1
    assert [tuple(p) for p in report.problems] == [(3, "the same address as line 2")]
    assert Subscriber.objects.get().email == ASCII
    again = import_run("email\nX@BÜCHER.example\n")
    assert (again.created, again.already_present) == (0, 1)


def test_the_admin_form_stores_the_normalised_spelling_and_refuses_the_other(admin_client):
    fields = {"topics": [topic("reasoning").pk], "keywords": "", "frequency": "daily", "weekday": "0",
              "timezone": "UTC", "send_hour": "7", "digest_format": "full"}
    for inline in ("consents", "deliveries"):
        fields |= {f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"}
    added = admin_client.post("/admin/subscribers/subscriber/add/", {"email": UNICODE, **fields})
    assert added.status_code == 302
    assert Subscriber.objects.get().email == ASCII
    twice = admin_client.post("/admin/subscribers/subscriber/add/", {"email": ASCII.upper(), **fields})
    assert twice.status_code == 200
    assert twice.context["adminform"].form.errors  # the unique address constraint
    assert Subscriber.objects.count() == 1


def _migration():
    [path] = Path(__file__).parents[2].glob("subscribers/migrations/*_subscriber_email_idna.py")
    return importlib.import_module(f"subscribers.migrations.{path.stem}")


def _hash_before(email: str) -> str:
    return _migration()._hash_before(email)


def test_the_data_migration_merges_two_spellings_into_the_older_reader_keeping_their_history():
    """Rows as they were before the change: the same mailbox twice."""
    now = timezone.now()
    older = reader_make(UNICODE, topics=("reasoning",), keywords="Mamba")
    newer = reader_make("X@XN--BCHER-KVA.example", topics=("code",), keywords="LoRA")
    Subscriber.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=30),
                                                  updated_at=now - timedelta(days=30))
    Subscriber.objects.filter(pk=newer.pk).update(created_at=now - timedelta(days=3), updated_at=now)
    for reader in (older, newer):
        ConsentRecord.objects.create(subscriber=reader, kind="signup", wording="yes", wording_version="1")
    same_day = edition_make(DAY)
    only_newer = edition_make(DAY + timedelta(days=1))
    first = delivery_make(reader=older, edition=same_day, status=Delivery.Status.SKIPPED, paper_ids=[])
    second = delivery_make(reader=newer, edition=same_day, paper_ids=["2507.00001", "2507.00002"])
    third = delivery_make(reader=newer, edition=only_newer, paper_ids=["2507.00003"])
    paper = paper_make("2507.00001")
    PaperVote.objects.create(subscriber=older, paper=paper, edition_date=DAY, value=1)
    PaperVote.objects.create(subscriber=newer, paper=paper, edition_date=DAY, value=-1)
    ReaderTaste.objects.create(subscriber=newer, votes_down=1)
    event = ProviderEvent.objects.create(provider="postmark", event_key="k", kind="delivered",
                                         recipient=UNICODE, recipient_hash=_hash_before(UNICODE),
                                         subscriber=newer, delivery=second)
    bounce = Suppression.objects.create(email_hash=_hash_before(UNICODE), reason="bounced")
    erased = Suppression.objects.create(email_hash=_hash_before(ASCII), reason="erased")
    unrelated = reader_make("Grace@Example.ORG")

    out: list[str] = []
    _migration().addresses_normalise(apps, None, out=out)

    [kept] = Subscriber.objects.exclude(pk=unrelated.pk)
    assert kept.pk == older.pk and kept.email == ASCII
    # The newer row was changed last: its choices are the reader's latest wish.
    assert kept.keywords == "LoRA" and list(kept.topics.values_list("slug", flat=True)) == ["code"]
    assert kept.consents.count() == 2
    deliveries = {d.edition_id: d for d in kept.deliveries.all()}
    assert set(deliveries) == {same_day.pk, only_newer.pk}
    folded = deliveries[same_day.pk]
    assert folded.pk == second.pk and folded.status == Delivery.Status.SENT  # the one that was sent
    assert folded.paper_ids == ["2507.00001", "2507.00002"]
    assert f"merged: delivery #{first.pk} of reader #{older.pk}" in folded.error
    assert deliveries[only_newer.pk].pk == third.pk
    assert list(kept.votes.values_list("value", flat=True)) == [-1]  # the later vote
    assert ReaderTaste.objects.get().subscriber_id == kept.pk
    event.refresh_from_db()
    assert (event.subscriber_id, event.recipient_hash) == (kept.pk, email_hash(ASCII))
    bounce.refresh_from_db()
    erased.refresh_from_db()
    assert bounce.email_hash == erased.email_hash == email_hash(ASCII)
    assert bounce.lifted_at is None and erased.lifted_at is not None  # one active entry, the older
    assert f"suppression #{bounce.pk}" in erased.lifted_reason
    assert is_suppressed(UNICODE)
    assert Subscriber.objects.get(pk=unrelated.pk).email == "Grace@example.org"
    assert f"reader #{newer.pk} merged into reader #{older.pk} (one mailbox)" in out
    assert not any("@" in line for line in out)
