"""The fake Postmark API answers like Postmark, for anymail's real backend
and for raw HTTP clients, in a thread or as its own process."""

import sys

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection

from bench.fake_provider import FakePostmark
from tests.conftest import free_port, port_open, wait_for


def backend(fake, token=None):
    return get_connection(
        "anymail.backends.postmark.EmailBackend", server_token=token or fake.token, api_url=fake.url
    )


def message(to="reader@example.org") -> EmailMultiAlternatives:
    email = EmailMultiAlternatives("Hello", "text body", "Papers <papers@example.org>", [to],
                                   headers={"List-Id": "Papers <digest.example.org>"})
    email.attach_alternative("<p>html body</p>", "text/html")
    email.tags = ["digest"]
    email.metadata = {"delivery_id": "42"}
    email.esp_extra = {"MessageStream": "broadcast"}
    return email


def test_accepted_message_is_recorded_with_what_anymail_sent():
    with FakePostmark() as fake:
        email = message()
        assert backend(fake).send_messages([email]) == 1
        [accepted] = fake.accepted()
    assert email.anymail_status.message_id == accepted.message_id
    assert (accepted.to, accepted.subject, accepted.tag, accepted.message_stream) == (
        "reader@example.org", "Hello", "digest", "broadcast")
    assert accepted.headers == {"List-Id": "Papers <digest.example.org>"}
    assert accepted.metadata == {"delivery_id": "42"}
    assert (accepted.text, accepted.html) == ("text body", "<p>html body</p>")


def test_a_wrong_server_token_is_refused_with_401():
    with FakePostmark() as fake:
        with pytest.raises(AnymailAPIError) as refused:
            backend(fake, token="not-the-token").send_messages([message()])
        assert fake.accepted() == []
    assert refused.value.status_code == 401
    assert refused.value.response.json()["ErrorCode"] == 10


def test_refused_recipients_answer_like_postmark_and_anymail_understands():
    with FakePostmark() as fake:
        fake.fault("gone@example.org", "inactive")
        fake.fault("bad@example.org", "invalid")
        for to, status in (("gone@example.org", "rejected"), ("bad@example.org", "invalid")):
            email = message(to)
            with pytest.raises(AnymailRecipientsRefused):
                backend(fake).send_messages([email])
            assert email.anymail_status.recipients[to].status == status
        assert fake.accepted() == []


def test_faults_429_500_and_reset_then_success():
    with FakePostmark() as fake:
        fake.fault(None, "429", retry_after=7)
        fake.fault(None, "500")
        fake.fault(None, "reset")
        with pytest.raises(AnymailAPIError) as limited:
            backend(fake).send_messages([message()])
        assert limited.value.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "7"
        with pytest.raises(AnymailAPIError) as broken:
            backend(fake).send_messages([message()])
        assert broken.value.status_code == 500
        with pytest.raises(AnymailAPIError) as reset:
            backend(fake).send_messages([message()])
        assert reset.value.status_code is None
        assert isinstance(reset.value, requests.ConnectionError)
        assert backend(fake).send_messages([message()]) == 1
        assert len(fake.accepted()) == 1
        assert fake.stats.faults == {"429": 1, "500": 1, "reset": 1}


def test_batch_endpoint_answers_per_message():
    with FakePostmark() as fake:
        fake.fault("gone@example.org", "inactive")
        body = [
            {"From": "papers@example.org", "To": to, "Subject": "Hi", "TextBody": "x"}
            for to in ("a@example.org", "gone@example.org")
        ]
        answer = requests.post(f"{fake.url}email/batch", json=body, timeout=5,
                               headers={"X-Postmark-Server-Token": fake.token})
        assert answer.status_code == 200
        assert [r["ErrorCode"] for r in answer.json()] == [0, 406]
        assert [m.to for m in fake.accepted()] == ["a@example.org"]


def test_incomplete_messages_are_refused_with_code_300():
    with FakePostmark() as fake:
        answer = requests.post(f"{fake.url}email", json={"From": "papers@example.org", "To": "a@example.org"},
                               headers={"X-Postmark-Server-Token": fake.token}, timeout=5)
    assert answer.status_code == 422 and answer.json()["ErrorCode"] == 300


def test_runs_as_its_own_process_with_latency_and_http_control(start_service):
    port = free_port()
    service = start_service(
        [sys.executable, "-m", "bench.fake_provider", "--port", str(port), "--latency-ms", "5",
         "--token", "process-token"],
        env={"PATH": "/usr/bin:/bin"}, name="fake-provider",
    )
    wait_for(lambda: port_open("127.0.0.1", port), timeout=20, what="the fake provider", service=service)
    url = f"http://127.0.0.1:{port}/"
    assert requests.post(f"{url}_fake/faults", json={"recipient": "a@example.org", "kind": "500"},
                         timeout=5).status_code == 200
    headers = {"X-Postmark-Server-Token": "process-token"}
    email = {"From": "papers@example.org", "To": "a@example.org", "Subject": "Hi", "TextBody": "x"}
    assert requests.post(f"{url}email", json=email, headers=headers, timeout=5).status_code == 500
    assert requests.post(f"{url}email", json=email, headers=headers, timeout=5).status_code == 200
    [accepted] = requests.get(f"{url}_fake/messages", timeout=5).json()
    assert accepted["to"] == "a@example.org"
    assert requests.get(f"{url}_fake/stats", timeout=5).json()["accepted"] == 1


def search(fake, token=None, **params):
    params = {"count": 50, "offset": 0, **params}
    headers = {"X-Postmark-Server-Token": token or fake.token, "Accept": "application/json"}
    return requests.get(f"{fake.url}messages/outbound", params=params, timeout=5, headers=headers)


def test_message_search_finds_accepted_messages_by_recipient_stream_and_metadata_once_indexed():
    with FakePostmark() as fake:
        fake.index_delay = 0.3
        for to, delivery_id in (("a@example.org", "1"), ("b@example.org", "2"), ("a@example.org", "3")):
            email = message(to)
            email.metadata = {"delivery_id": delivery_id}
            backend(fake).send_messages([email])
        # Not yet visible: Postmark's search lags behind what it accepted.
        assert search(fake, recipient="a@example.org").json() == {"TotalCount": 0, "Messages": []}
        wait_for(lambda: search(fake).json()["TotalCount"] == 3, timeout=5, what="the search to see them")
        by_recipient = search(fake, recipient="A@example.org").json()
        assert by_recipient["TotalCount"] == 2
        assert [m["Metadata"]["delivery_id"] for m in by_recipient["Messages"]] == ["3", "1"]  # newest first
        [found] = search(fake, recipient="a@example.org", messagestream="broadcast",
                         metadata_delivery_id="1").json()["Messages"]
        accepted = next(m for m in fake.accepted() if m.metadata["delivery_id"] == "1")
        assert found["MessageID"] == accepted.message_id and found["Recipients"] == ["a@example.org"]
        assert found["ReceivedAt"].startswith("20") and found["Tag"] == "digest"
        assert search(fake, metadata_delivery_id="4").json()["TotalCount"] == 0
        assert search(fake, messagestream="outbound").json()["TotalCount"] == 0
        before = fake.stats.searches
        assert len(search(fake, count=1, offset=1).json()["Messages"]) == 1
        assert fake.stats.searches == before + 1


def test_message_search_refuses_a_bad_token_or_page_and_fails_on_demand():
    with FakePostmark() as fake:
        assert search(fake, token="wrong").status_code == 401
        assert search(fake, count=501).status_code == 422
        assert requests.get(f"{fake.url}messages/outbound", timeout=5,
                            headers={"X-Postmark-Server-Token": fake.token}).status_code == 422
        fake.fault(None, "search-500")
        assert search(fake).status_code == 500
        assert search(fake).status_code == 200
