import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from subscribers.importing import ImportFileError
from subscribers.models import ConsentRecord, Subscriber
from subscribers.suppression import suppression_add
from tests.factories import reader_make
from tests.subscriber_helpers import eager_tasks, import_run

pytestmark = pytest.mark.django_db

GOOD_BAD_AND_DUPLICATE = """email,topics,frequency,timezone,send_hour
ada@example.org,reasoning;code,daily,Europe/Paris,7
not-an-address,reasoning,daily,UTC,7
grace@example.org,,weekly,UTC,8
linus@example.org,no-such-topic,daily,UTC,7
ADA@example.org,code,daily,UTC,7
barbara@example.org,,monthly,UTC,7
ken@example.org,,daily,Mars/Olympus,7
dennis@example.org,,daily,UTC,25
"""


URL = "/admin/subscribers/subscriber/import/"


def run(text: str, **kwargs):
    return import_run(text, **kwargs)


def problems(report) -> list[tuple[int, str]]:
    return [tuple(problem) for problem in report.problems]


def test_good_rows_are_imported_pending_and_bad_rows_reported_by_line():
    report = run(GOOD_BAD_AND_DUPLICATE)
    assert report.created == 2
    assert problems(report) == [
        (3, "email: Please enter a valid email address, like name@example.org."),
        (5, "topic 'no-such-topic' does not exist (use topic slugs such as 'reasoning')"),
        (6, "the same address as line 2"),
        (7, "frequency 'monthly': Choose daily or weekly."),
        (8, "timezone 'Mars/Olympus': That is not a time zone we know; please pick one from the list."),
        (9, "send_hour '25': Pick an hour between 00:00 and 23:00."),
    ]
    ada = Subscriber.objects.get(email="ada@example.org")
    assert (ada.status, ada.timezone, ada.send_hour, ada.confirmed_at) == ("pending", "Europe/Paris", 7, None)
    assert set(ada.topics.values_list("slug", flat=True)) == {"reasoning", "code"}
    grace = Subscriber.objects.get(email="grace@example.org")
    assert (grace.frequency, grace.send_hour) == ("weekly", 8)
    assert ada.confirmation_requested_at is not None and ada.confirmation_sent_at is None  # owed
    consent = ConsentRecord.objects.get(subscriber=ada)
    assert (consent.kind, consent.source, consent.wording_version) == ("signup", "import", "import-1")
    assert "confirmation email" in consent.wording
    assert mail.outbox == []  # the confirmation sweep mails them, not the import


def test_reimporting_is_harmless_and_leaves_existing_readers_untouched():
    existing = reader_make("reader1@example.org", topics=("surveys",), send_hour=6)
    text = f"email,topics,send_hour\n{existing.email.upper()},code,9\nnew@example.org,code,9\n"
    first = run(text)
    assert (first.created, first.already_present, problems(first)) == (1, 1, [])
    second = run(text)
    assert (second.created, second.already_present, problems(second)) == (0, 2, [])
    existing.refresh_from_db()
    assert existing.send_hour == 6
    assert list(existing.topics.values_list("slug", flat=True)) == ["surveys"]
    assert Subscriber.objects.count() == 2
    assert ConsentRecord.objects.filter(source="import").count() == 1


def test_double_opt_in_source_makes_readers_active_with_a_confirmation_record():
    text = "email,confirmed_at\nada@example.org,2024-02-01T10:00:00Z\ngrace@example.org,\n"
    report = run(text, consent_source="double-opt-in")
    assert report.created == 2
    ada = Subscriber.objects.get(email="ada@example.org")
    assert ada.status == "active"
    assert ada.confirmed_at.isoformat() == "2024-02-01T10:00:00+00:00"
    assert Subscriber.objects.get(email="grace@example.org").confirmed_at is not None
    kinds = sorted(ConsentRecord.objects.filter(subscriber=ada).values_list("kind", "source"))
    assert kinds == [("confirmation", "import"), ("signup", "import")]


def test_single_opt_in_source_still_needs_confirmation():
    run("email\nada@example.org\n", consent_source="single-opt-in")
    assert Subscriber.objects.get().status == "pending"


def test_suppressed_addresses_are_refused():
    suppression_add(email="gone@example.org", reason="complained")
    report = run("email\nGone@example.org\nok@example.org\n")
    assert problems(report) == [(2, "the address is on the suppression list")]
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ok@example.org"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("address,topics\na@example.org,code\n", "no 'email' column"),
        ("email,colour\na@example.org,red\n", "unknown column(s) 'colour'"),
    ],
)
def test_a_bad_file_imports_nothing(text, message):
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(text)
    assert not Subscriber.objects.exists()


def test_unknown_consent_source_is_refused():
    with pytest.raises(ImportFileError, match="unknown consent source 'hearsay'"):
        run("email\na@example.org\n", consent_source="hearsay")
    assert not Subscriber.objects.exists()


def test_line_numbers_follow_multi_line_values_and_blank_lines():
    text = 'email,keywords\na@example.org,"long\nkeywords"\n\nbad,x\nc@example.org,"x"\n'
    report = run(text)
    assert report.created == 1
    assert problems(report) == [
        (2, "keywords 'long\\nkeywords': This must be plain text on one line."),
        (5, "email: Please enter a valid email address, like name@example.org."),
    ]


def test_command_reports_lines_and_records_the_import(tmp_path, django_user_model):
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    path = tmp_path / "readers.csv"
    path.write_text("\ufeffemail,topics\nada@example.org,code\nnope,code\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), "--by", "editor", stdout=out, stderr=err)
    assert "1 imported, 0 already readers (left as they were), 1 rows not imported" in out.getvalue()
    assert "line 3: email: Please enter a valid email address" in err.getvalue()
    entry = LogEntry.objects.get()
    assert entry.user == editor and "readers.csv" in entry.change_message


def test_command_refuses_undecodable_files_and_unknown_users(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email\nm\xfcller@example.org\n".encode("latin-1"))
    with pytest.raises(CommandError, match="nothing imported: cannot read"):
        call_command("import_subscribers", str(path))
    with pytest.raises(CommandError, match="no staff user named 'ghost'"):
        call_command("import_subscribers", str(path), "--by", "ghost")
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import_subscribers", str(tmp_path / "missing.csv"))
    assert not Subscriber.objects.exists()


@pytest.fixture
def upload(admin_client, django_capture_on_commit_callbacks):
    """Upload a file as an editor; the import it enqueues runs in-process."""

    def post(name: str, data: bytes, *, source: str = "none"):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv"),
                                           "consent_source": source})

    return post


def test_admin_upload_page_imports_and_reports(admin_client, upload):
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert "Import from CSV" in admin_client.get("/admin/subscribers/subscriber/").content.decode()
    response = upload("people.csv", GOOD_BAD_AND_DUPLICATE.encode())
    assert response.status_code == 303
    html = admin_client.get(response["Location"]).content.decode()
    assert "people.csv · Done" in html
    assert "<strong>2</strong> imported" in html
    assert "<td>3</td><td>email: Please enter a valid email address, like name@example.org.</td>" in html
    assert "The 2 new pending readers are each owed a confirmation email" in html
    entry = LogEntry.objects.get()
    assert entry.object_repr == "CSV import people.csv"
    assert "consent source “none”" in entry.change_message


def test_admin_upload_of_a_bad_file_says_nothing_was_imported(admin_client, upload):
    response = upload("x.csv", b"name\nAda\n")
    assert response.status_code == 200
    assert "Nothing was imported: no &#x27;email&#x27; column" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_upload_page_is_for_staff_only(client, django_user_model):
    assert client.get(URL).status_code == 302
    user = django_user_model.objects.create_user("reader", password="pw")
    client.force_login(user)
    assert client.get(URL).status_code == 302


# What the signup form refuses, the import refuses too, for the same reason.
REFUSED_CELLS = {
    "NUL in keywords": ("keywords", "ok\x00bad", "keywords 'ok\\x00bad': Null characters are not allowed."),
    "NUL in an address": ("email", "a\x00@example.org", "email: This must be plain text on one line."),
    "control character": ("keywords", "bell\x07", "This must be plain text on one line."),
    "over-long keywords": ("keywords", "a, " * 200, "at most 500 characters (it has 599)"),
    "too many keywords": ("keywords", ", ".join(f"k{i}" for i in range(21)), "at most 20 keywords."),
    "over-long keyword": ("keywords", "y" * 61, "Each keyword can be at most 60 characters long."),
    "over-long address": ("email", "x" * 300 + "@example.org", "at most 254 characters (it has 312)"),
    "weekday 7": ("weekday", "7", "weekday '7': Pick a day of the week from the list."),
    "hour not a number": ("send_hour", "seven", "send_hour 'seven': Pick an hour between 00:00 and 23:00."),
    "over-long time zone": ("timezone", "Europe/" + "x" * 300, "That is not a time zone we know"),
}


@pytest.mark.parametrize(("column", "value", "reason"), REFUSED_CELLS.values(), ids=REFUSED_CELLS.keys())
def test_a_row_the_signup_form_would_refuse_is_reported_and_the_rest_imported(column, value, reason):
    row = {"email": "bad@example.org", column: value}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["email", column] if column != "email" else ["email"])
    writer.writeheader()
    writer.writerow(row)
    writer.writerow({"email": "good@example.org"})
    report = run(buffer.getvalue())
    [(line, problem)] = problems(report)
    assert line == 2 and reason in problem
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["good@example.org"]


def test_cells_are_stored_as_the_signup_form_cleans_them():
    run("email,keywords,send_hour,weekday\n  ada@example.org ,\"Mamba, mamba,  KV cache \",07,6\n")
    ada = Subscriber.objects.get()
    assert (ada.email, ada.keywords) == ("ada@example.org", "Mamba, KV cache")
    assert (ada.send_hour, ada.weekday) == (7, 6)


def test_admin_upload_with_a_nul_byte_reports_the_row(admin_client, upload):
    data = b"email,keywords\nnul@example.org,a\x00b\nok@example.org,x\n"
    response = upload("nul\x00.csv", data)
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    expected = "<td>2</td><td>keywords &#x27;a\\x00b&#x27;: Null characters are not allowed.</td>"
    assert expected in page.content.decode()
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ok@example.org"]
