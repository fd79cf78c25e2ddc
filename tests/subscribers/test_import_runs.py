"""A CSV import as a stored run: the upload only checks and stores the file,
a worker imports it a chunk at a time with progress, a lost run resumes
where it stopped, two runs at once share the work, and the file is gone
once the import ends."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from subscribers import importing, tasks
from subscribers.importing import (
    ImportFileError,
    imports_stalled,
    subscriber_import_create,
    subscriber_import_run,
)
from subscribers.models import ConsentRecord, Subscriber, SubscriberImport
from tests.subscriber_helpers import eager_tasks

pytestmark = pytest.mark.django_db

URL = "/admin/subscribers/subscriber/import/"


def readers_csv(count: int, *, bad_every: int = 0) -> str:
    lines = ["email,topics"]
    for i in range(count):
        bad = bad_every and i % bad_every == bad_every - 1
        lines.append(f"{'not-an-address' if bad else f'reader{i}@example.org'},reasoning")
    return "\n".join(lines) + "\n"


def stored(text: str, **kwargs) -> SubscriberImport:
    return subscriber_import_create(data=text.encode(), filename="readers.csv", **kwargs)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 4)


def test_the_upload_stores_the_file_and_hands_it_to_a_worker(
    admin_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("people.csv", readers_csv(10).encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(URL, {"file": upload, "consent_source": "none"})
    assert response.status_code == 303
    run = SubscriberImport.objects.get()
    assert response["Location"] == f"{URL}?run={run.pk}"
    assert (run.status, run.rows_total, run.rows_done, run.by.username) == ("queued", 10, 0, "admin")
    assert not Subscriber.objects.exists()  # nothing imported in the request

    page = admin_client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in page and '<meta http-equiv="refresh" content="2">' in page
    assert "0 of 10 rows (0%)" in page

    with eager_tasks():
        for callback in callbacks:
            callback()
    assert Subscriber.objects.count() == 10
    page = admin_client.get(response["Location"]).content.decode()
    assert "people.csv · Done" in page and "<strong>10</strong> imported" in page
    assert 'http-equiv="refresh"' not in page
    assert "people.csv" in admin_client.get(URL).content.decode()  # among the recent imports


def test_the_page_shows_a_running_import_s_progress(admin_client):
    run = stored(readers_csv(8))
    SubscriberImport.objects.filter(pk=run.pk).update(status="running", rows_done=2, created=2)
    page = admin_client.get(f"{URL}?run={run.pk}").content.decode()
    assert "2 of 8 rows (25%)" in page and '<progress max="100" value="25">' in page
    assert "rows not imported so far" in page
    assert admin_client.get(f"{URL}?run=999999").status_code == 404
    assert admin_client.get(f"{URL}?run=x").status_code == 404


def test_a_run_commits_chunk_by_chunk_and_keeps_the_first_problems(small_chunks, monkeypatch):
    monkeypatch.setattr(importing, "PROBLEMS_KEPT", 2)
    run = stored(readers_csv(10, bad_every=3))
    seen = []
    finished = subscriber_import_run(
        import_id=run.pk, on_chunk=lambda progress, problems: seen.append((progress.rows_done, problems))
    )
    assert [done for done, _ in seen] == [4, 8, 10]
    assert [line for _, problems in seen for line, _ in problems] == [4, 7, 10]
    assert (finished.status, finished.created, finished.problem_count) == ("done", 7, 3)
    assert finished.problems == [[4, "email: Please enter a valid email address, like name@example.org."],
                                 [7, "email: Please enter a valid email address, like name@example.org."]]


def test_a_finished_import_forgets_the_file_and_its_report_names_no_address(small_chunks):
    finished = subscriber_import_run(import_id=stored(readers_csv(5) + "reader1@example.org,code\n").pk)
    assert bytes(finished.content) == b""
    assert finished.finished_at is not None
    assert finished.problems == [[7, "the same address as line 3"]]
    assert "@" not in str(finished.problems) + finished.error


def test_a_run_whose_worker_died_is_resumed_by_the_sweep_and_imports_each_row_once(
    small_chunks, monkeypatch, django_capture_on_commit_callbacks
):
    run = stored(readers_csv(10))

    def killed(progress, problems):
        raise SystemExit("worker killed")  # not an error the run can catch and record

    with pytest.raises(SystemExit):
        subscriber_import_run(import_id=run.pk, on_chunk=killed)
    run.refresh_from_db()
    assert (run.status, run.rows_done, run.line_done, Subscriber.objects.count()) == ("running", 4, 5, 4)

    enqueued = []
    monkeypatch.setattr(tasks.run_import, "delay", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    assert enqueued == []  # its worker may only be slow
    with time_machine.travel(timezone.now() + timedelta(minutes=11)), \
            django_capture_on_commit_callbacks(execute=True):
        assert imports_stalled() == [run.pk]
        tasks.sweep()
    assert enqueued == [run.pk]

    finished = subscriber_import_run(import_id=run.pk)
    assert (finished.status, finished.created, finished.already_present) == ("done", 10, 0)
    assert Subscriber.objects.count() == 10
    assert ConsentRecord.objects.count() == 10
    assert LogEntry.objects.count() == 0  # no importer named: nothing to log under


def test_two_runs_at_once_share_the_work(small_chunks):
    run = stored(readers_csv(12))
    second = []

    def start_a_second_run_after_the_first_chunk(progress, problems):
        if not second:
            second.append(subscriber_import_run(import_id=run.pk))

    first = subscriber_import_run(import_id=run.pk, on_chunk=start_a_second_run_after_the_first_chunk)
    assert second[0].status == "done" and second[0].rows_done == 12
    assert (first.status, first.created, first.already_present) == ("done", 12, 0)
    assert Subscriber.objects.count() == 12


def test_running_a_finished_import_again_changes_nothing():
    run = stored(readers_csv(3))
    subscriber_import_run(import_id=run.pk)
    again = subscriber_import_run(import_id=run.pk)
    assert (again.status, again.created, again.already_present) == ("done", 3, 0)
    assert subscriber_import_run(import_id=run.pk + 1000) is None


def test_an_error_stops_the_import_where_it_is_and_says_so(small_chunks, monkeypatch, django_user_model):
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    run = stored(readers_csv(10), by=editor)
    chunk_import = importing._chunk_import
    calls = []

    def fail_on_the_second_chunk(items, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return chunk_import(items, **kwargs)

    monkeypatch.setattr(importing, "_chunk_import", fail_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        subscriber_import_run(import_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.created, run.line_done) == ("stopped", 4, 5)
    assert run.error == "stopped by an error (RuntimeError)"
    assert bytes(run.content) == b""
    assert Subscriber.objects.count() == 4
    logged = LogEntry.objects.get().change_message
    assert "4 imported, 0 already readers (left as they were), 0 rows not imported." in logged
    assert "Stopped after line 5: stopped by an error (RuntimeError)." in logged


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"email\nm\xfcller@example.org\n", "cannot read line 2: the file is not UTF-8 text"),
        (b"email\n" + b"x" * 200_000 + b"\n", r"cannot read the file after line 1: field larger than"),
        (b"em\x00ail\na@example.org\n", r"no 'email' column in the header \(found: 'em\\x00ail'\)"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_before_anything_is_stored(data, message):
    with pytest.raises(ImportFileError, match=message):
        subscriber_import_create(data=data, filename="x.csv")
    assert not SubscriberImport.objects.exists()


def test_a_file_too_large_is_refused_in_words(admin_client, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_MAX_BYTES", 100)
    upload = SimpleUploadedFile("big.csv", readers_csv(20).encode(), content_type="text/csv")
    response = admin_client.post(URL, {"file": upload, "consent_source": "none"})
    assert response.status_code == 200
    assert "Nothing was imported: the file is larger than" in response.content.decode()
    assert not SubscriberImport.objects.exists()


def test_the_command_imports_in_its_own_process_and_stops_cleanly_when_interrupted(
    tmp_path, small_chunks, monkeypatch
):
    path = tmp_path / "readers.csv"
    path.write_text(readers_csv(10))
    chunk_import = importing._chunk_import
    calls = []

    def interrupted_on_the_second_chunk(items, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return chunk_import(items, **kwargs)

    monkeypatch.setattr(importing, "_chunk_import", interrupted_on_the_second_chunk)
    with pytest.raises(CommandError, match=r"interrupted: 4 imported, .*\(rows after line 5 not imported"):
        call_command("import_subscribers", str(path))
    assert SubscriberImport.objects.get().status == "stopped"
    assert Subscriber.objects.count() == 4
    monkeypatch.setattr(importing, "_chunk_import", chunk_import)
    call_command("import_subscribers", str(path))
    assert Subscriber.objects.count() == 10
