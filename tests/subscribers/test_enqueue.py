"""Every path that owes a reader a confirmation or welcome email enqueues it
once, after the transaction commits; when the broker is down the sweep sends
it instead."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscribers import tasks
from subscribers.confirmations import subscribers_sweep
from subscribers.models import Subscriber
from subscribers.tokens import token_make
from tests.factories import reader_make
from tests.subscriber_helpers import eager_tasks, fresh_client, import_run, signup_data, unique_email

pytestmark = pytest.mark.django_db

CONFIRM = "Confirm your subscription to Daily Papers"
WELCOME = "Welcome to Daily Papers"
PREFERENCES = "Your Daily Papers preferences link"


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Call ``fn``; check it sent nothing before its transaction committed;
    then run what it left for after the commit (tasks in-process) and return
    the subjects of the emails that went out."""

    def call(fn, *args, **kwargs) -> list[str]:
        before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            fn(*args, **kwargs)
        assert len(mail.outbox) == before
        with eager_tasks():
            for callback in callbacks:
                callback()
        return [message.subject for message in mail.outbox[before:]]

    return call


def signup(email: str):
    return fresh_client().post("/subscribe/", signup_data(email))


def confirm(reader: Subscriber):
    return fresh_client().post(f"/confirm/{token_make(subscriber=reader, purpose='confirm')}/")


def test_signup_enqueues_the_confirmation_after_commit(after_commit):
    assert after_commit(signup, unique_email()) == [CONFIRM]


def test_signing_up_again_while_pending_enqueues_a_fresh_confirmation(after_commit):
    email = unique_email()
    after_commit(signup, email)
    assert after_commit(signup, email) == []  # within minutes: the first is on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert after_commit(signup, email) == [CONFIRM]


def test_an_unsubscribed_reader_signing_up_again_is_enqueued_a_confirmation(after_commit):
    reader = reader_make(status=Subscriber.Status.UNSUBSCRIBED)
    assert after_commit(signup, reader.email) == [CONFIRM]


def test_an_active_reader_signing_up_again_is_enqueued_a_preferences_link(after_commit):
    reader = reader_make()
    assert after_commit(signup, reader.email) == [PREFERENCES]
    assert after_commit(signup, reader.email) == []  # within minutes: the first is on its way


def test_the_resend_form_enqueues_a_preferences_link_for_an_active_reader(after_commit):
    reader = reader_make()
    assert after_commit(fresh_client().post, "/confirm/resend/", {"email": reader.email}) == [PREFERENCES]


def test_the_resend_form_enqueues_a_confirmation_for_a_pending_reader_only(after_commit):
    pending = reader_make(status=Subscriber.Status.PENDING)
    assert after_commit(fresh_client().post, "/confirm/resend/", {"email": pending.email}) == [CONFIRM]
    assert after_commit(fresh_client().post, "/confirm/resend/", {"email": unique_email()}) == []


def test_confirming_enqueues_the_welcome_once(after_commit):
    reader = reader_make(status=Subscriber.Status.PENDING)
    assert after_commit(confirm, reader) == [WELCOME]
    assert after_commit(confirm, reader) == []


def test_the_editors_resend_enqueues_one_confirmation_per_owed_reader(admin_client, after_commit):
    pending = [reader_make(status=Subscriber.Status.PENDING) for _ in range(2)]
    active = reader_make()
    selected = [reader.pk for reader in (*pending, active)]
    sent = after_commit(admin_client.post, "/admin/subscribers/subscriber/",
                        {"action": "resend_confirmation", "_selected_action": selected, "index": 0})
    assert sent == [CONFIRM, CONFIRM]
    assert sorted(to for message in mail.outbox for to in message.to) == sorted(r.email for r in pending)


def test_the_csv_import_enqueues_nothing(after_commit):
    assert after_commit(import_run, f"email\n{unique_email()}\n") == []


def test_imported_pending_readers_get_their_confirmation_from_the_sweep_a_batch_at_a_time(settings):
    settings.SUBSCRIBERS_SWEEP_BATCH = 2
    settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS = 0
    pending = [unique_email() for _ in range(5)]
    import_run("email\n" + "\n".join(pending) + "\n")
    import_run(f"email\n{unique_email()}\n", consent_source="double-opt-in")  # active: no confirmation
    assert [subscribers_sweep()["confirmations"] for _ in range(4)] == [2, 2, 1, 0]
    confirmations = [m for m in mail.outbox if m.subject == CONFIRM]
    assert sorted(to for m in confirmations for to in m.to) == sorted(pending)
    assert not Subscriber.objects.filter(confirmation_sent_at__isnull=True, status="pending").exists()


def test_a_lost_web_confirmation_is_not_stuck_behind_an_import(settings):
    settings.SUBSCRIBERS_SWEEP_BATCH = 1
    settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS = 0
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        import_run("email\n" + "\n".join(unique_email() for _ in range(3)) + "\n")
    # A signup whose task never ran (the broker was down a minute ago).
    web = reader_make(status=Subscriber.Status.PENDING, confirmation_requested_at=timezone.now()
                      - timedelta(minutes=1))
    subscribers_sweep()
    assert [m.to for m in mail.outbox] == [[web.email]]


@pytest.mark.parametrize(
    ("task", "status", "act", "subject"),
    [("send_confirmation", "pending", lambda reader: signup(reader.email), CONFIRM),
     ("send_welcome", "pending", confirm, WELCOME),
     ("send_preferences_link", "active",
      lambda reader: fresh_client().post("/confirm/resend/", {"email": reader.email}), PREFERENCES)],
    ids=["confirmation", "welcome", "preferences link"],
)
def test_with_the_broker_down_the_request_succeeds_and_the_sweep_sends_the_email(
    task, status, act, subject, monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(getattr(tasks, task), "delay", broker_down)
    reader = reader_make(status=status, email=unique_email())
    with django_capture_on_commit_callbacks(execute=True):
        response = act(reader)
    assert response.status_code in (200, 303)
    assert f"could not enqueue subscribers.tasks.{task}" in caplog.text
    assert mail.outbox == []

    settings.SUBSCRIBERS_SWEEP_GRACE_SECONDS = 0
    subscribers_sweep()
    subscribers_sweep()
    assert [message.subject for message in mail.outbox] == [subject]
