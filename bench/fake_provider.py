"""A fake Postmark Email API on 127.0.0.1, for tests and benchmarks.

It speaks what anymail's real Postmark backend uses: ``POST /email`` and
``POST /email/batch``, JSON in and out, the ``X-Postmark-Server-Token``
header checked, Postmark's error codes and HTTP statuses; and Postmark's
outbound message search, ``GET /messages/outbound`` (count, offset,
recipient, tag, messagestream and ``metadata_<key>`` filters; TotalCount and
Messages, newest first), answered from the accepted messages once they are
``index_delay`` seconds old (Postmark's search is not immediately consistent). It records every
message it accepts (recipient, message id, headers, metadata, tag, stream,
subject, bodies) and injects faults on demand: latency, 429 with
Retry-After, 500, a connection reset, and refused recipients (ErrorCode 406
inactive recipient, ErrorCode 300 invalid address).

In a test, in a thread::

    with FakePostmark(token="test-token") as fake:
        # EMAIL_PROVIDER=postmark, POSTMARK_API_URL=fake.url, POSTMARK_SERVER_TOKEN=test-token
        fake.fault("a@example.org", "429", times=1, retry_after=1)
        ...
        assert [m.to for m in fake.accepted()] == [...]

As its own process (the same recorder, reachable over HTTP)::

    python -m bench.fake_provider --port 8025 --latency-ms 20 [--token T] [--log accepted.jsonl] [--no-bodies]
        [--index-delay-seconds 1]

    GET  /_fake/messages      every accepted message, JSON
    GET  /_fake/accepted      [recipient, accepted at, delivery id] per message
    GET  /_fake/stats         counts of requests, connections, accepted, faults
    POST /_fake/faults        {"recipient": "a@x.org" or null, "kind": "429", "times": 1, "retry_after": 2}
    POST /_fake/reset         forget messages and faults

Random faults for chaos tests (``--fault-rate 0.2``): that share of requests,
chosen at random, answer 500, 429 with Retry-After, a timeout (the message
IS accepted, then the answer stalls past the client's timeout: the
ambiguous case) or a dropped connection (reset after the request was read,
nothing accepted).

Standard library only, so it runs without Django.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "fake-postmark-token"  # noqa: S105 - a fake server's, on 127.0.0.1
# "search-500": the message search answers 500 (any recipient, or one).
FAULT_KINDS = ("429", "500", "reset", "timeout", "inactive", "invalid", "search-500")
RANDOM_FAULT_KINDS = ("500", "429", "timeout", "drop")
_INVALID_JSON = object()
# Faults that refuse one recipient; the others fail the whole request.
RECIPIENT_FAULTS = ("inactive", "invalid")


@dataclass
class Accepted:
    message_id: str
    to: str  # the address (addr-spec), lower-cased
    to_header: str
    sender: str
    subject: str
    headers: dict[str, str]
    metadata: dict[str, str]
    tag: str
    message_stream: str
    html: str
    text: str
    received_at: float


@dataclass
class Fault:
    kind: str
    recipient: str | None = None  # None: any request
    times: int | None = 1  # None: every time
    retry_after: float = 1.0


@dataclass
class Stats:
    requests: int = 0
    connections: int = 0
    accepted: int = 0
    searches: int = 0
    faults: dict[str, int] = field(default_factory=dict)


def _addresses(raw: str) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([raw or ""]) if addr]


class _Server(ThreadingHTTPServer):
    # Hundreds of senders connect at once in the benchmarks; the default
    # backlog of 5 would reset connections a real provider accepts.
    request_queue_size = 1024
    daemon_threads = True


class FakePostmark:
    """The fake provider's state and its HTTP server. Thread-safe."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        latency_ms: float = 0.0,
        log_path: Path | None = None,
        keep_bodies: bool = True,
    ):
        self.token = token
        self.latency_ms = latency_ms
        self.log_path = Path(log_path) if log_path else None
        # Benchmarks send 100,000s of ~30 KB messages: keep only who got what.
        self.keep_bodies = keep_bodies
        self._lock = threading.Lock()
        self._accepted: list[Accepted] = []
        # The message search filters on this metadata: looked up, not scanned
        # (a fault run asks thousands of times among 20,000 messages).
        self._by_delivery: dict[str, list[Accepted]] = {}
        self._faults: list[Fault] = []
        self.stats = Stats()
        self.fault_rate = 0.0
        self.stall_seconds = 5.0
        # Seconds before an accepted message shows in the message search.
        self.index_delay = 0.0
        self._rng = random.Random()
        self.server = _Server((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FakePostmark:
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-postmark", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakePostmark:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- faults and records ----------------------------------------------------------

    def fault(
        self, recipient: str | None, kind: str, *, times: int | None = 1, retry_after: float = 1.0
    ) -> None:
        """Inject a fault for requests to ``recipient`` (None: any request), the
        next ``times`` times (None: always). Kinds: 429, 500, reset (the
        connection is reset before any answer, nothing accepted), timeout
        (accepted, then no answer for ``stall_seconds``), inactive (ErrorCode 406),
        invalid (ErrorCode 300)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(
                Fault(kind=kind, recipient=recipient.lower() if recipient else None, times=times,
                      retry_after=retry_after)
            )

    def random_faults(self, *, rate: float, stall_seconds: float = 5.0, seed: int | None = None) -> None:
        """Answer ``rate`` of the sends (0..1), at random, with one of
        RANDOM_FAULT_KINDS; a timeout stalls ``stall_seconds`` after accepting."""
        with self._lock:
            self.fault_rate = rate
            self.stall_seconds = stall_seconds
            self._rng = random.Random(seed)

    def _take_random_fault(self) -> str | None:
        with self._lock:
            if not self.fault_rate or self._rng.random() >= self.fault_rate:
                return None
            kind = self._rng.choice(RANDOM_FAULT_KINDS)
            self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
            return kind

    def reset(self) -> None:
        with self._lock:
            self._accepted.clear()
            self._by_delivery.clear()
            self._faults.clear()
            self.stats = Stats()

    def accepted(self) -> list[Accepted]:
        with self._lock:
            return list(self._accepted)

    def accepted_to(self, address: str) -> list[Accepted]:
        return [m for m in self.accepted() if m.to == address.lower()]

    def _take_fault(self, recipients: list[str], kinds: tuple[str, ...]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds or fault.times == 0:
                    continue
                if fault.recipient is None or fault.recipient in recipients:
                    if fault.times is not None:
                        fault.times -= 1
                    self.stats.faults[fault.kind] = self.stats.faults.get(fault.kind, 0) + 1
                    return fault
        return None

    def _record(self, data: dict) -> Accepted:
        to_header = str(data.get("To", ""))
        message = Accepted(
            message_id=str(uuid.uuid4()),
            to=(_addresses(to_header) or [""])[0],
            to_header=to_header,
            sender=str(data.get("From", "")),
            subject=str(data.get("Subject", "")),
            headers={str(h.get("Name")): str(h.get("Value")) for h in data.get("Headers") or []},
            metadata={str(k): str(v) for k, v in (data.get("Metadata") or {}).items()},
            tag=str(data.get("Tag", "")),
            message_stream=str(data.get("MessageStream", "")),
            html=str(data.get("HtmlBody", "")) if self.keep_bodies else "",
            text=str(data.get("TextBody", "")) if self.keep_bodies else "",
            received_at=time.time(),
        )
        with self._lock:
            self._accepted.append(message)
            self._by_delivery.setdefault(message.metadata.get("delivery_id", ""), []).append(message)
            self.stats.accepted += 1
            if self.log_path:
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(message)) + "\n")
        return message

    def search(self, query: dict[str, str]) -> tuple[int, dict]:
        """Postmark's outbound message search over the accepted messages that
        are at least ``index_delay`` seconds old: (HTTP status, answer)."""
        try:
            count, offset = int(query["count"]), int(query["offset"])
        except (KeyError, ValueError):
            return 422, {"ErrorCode": 1, "Message": "The 'count' and 'offset' parameters are required."}
        if not 0 < count <= 500 or offset < 0 or count + offset > 10_000:
            return 422, {"ErrorCode": 1, "Message": "Count must be 1 to 500, count + offset at most 10,000."}
        with self._lock:
            self.stats.searches += 1
        if self._take_fault([query.get("recipient", "").lower()], ("search-500",)):
            return 500, {"ErrorCode": 500, "Message": "Internal server error."}
        visible_before = time.time() - self.index_delay
        wanted = {k[len("metadata_"):]: v for k, v in query.items() if k.startswith("metadata_")}
        if "delivery_id" in wanted:
            with self._lock:
                candidates = list(self._by_delivery.get(wanted["delivery_id"], ()))
        else:
            candidates = self.accepted()
        found = [
            m for m in candidates
            if m.received_at <= visible_before
            and (not query.get("recipient") or m.to == query["recipient"].lower())
            and (not query.get("tag") or m.tag == query["tag"])
            and (not query.get("messagestream") or m.message_stream == query["messagestream"])
            and all(m.metadata.get(k) == v for k, v in wanted.items())
        ]
        found.sort(key=lambda m: m.received_at, reverse=True)
        page = [_summary(m) for m in found[offset : offset + count]]
        return 200, {"TotalCount": len(found), "Messages": page}

    # --- one message, as Postmark answers it ------------------------------------------

    def _one(self, data) -> tuple[int, dict]:
        """(HTTP status for a single send, Postmark's answer) for one message."""
        if not isinstance(data, dict):
            return 422, {"ErrorCode": 402, "Message": "Received invalid JSON input."}
        recipients = _addresses(str(data.get("To", "")))
        if not recipients:
            return 422, {"ErrorCode": 300, "Message": "Invalid 'To' address: ''."}
        if not data.get("From"):
            return 422, {"ErrorCode": 300, "Message": "Invalid 'From' address: ''."}
        if not (data.get("HtmlBody") or data.get("TextBody")):
            return 422, {"ErrorCode": 300, "Message": "Provide either email TextBody or HtmlBody or both."}
        refused = self._take_fault(recipients, RECIPIENT_FAULTS)
        if refused and refused.kind == "inactive":
            found = refused.recipient or recipients[0]
            return 422, {
                "ErrorCode": 406,
                "Message": (
                    "You tried to send to recipient(s) that have been marked as inactive. "
                    f"Found inactive addresses: {found}. Inactive recipients are ones that have "
                    "generated a hard bounce, a spam complaint, or a manual suppression."
                ),
            }
        if refused:
            address = refused.recipient or recipients[0]
            return 422, {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{address}'."}
        message = self._record(data)
        return 200, {
            "To": message.to_header,
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "MessageID": message.message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }


def _summary(m: Accepted) -> dict:
    """A message as the outbound search lists it."""
    return {
        "Tag": m.tag, "MessageID": m.message_id, "MessageStream": m.message_stream,
        "To": [{"Email": m.to, "Name": None}], "Cc": [], "Bcc": [], "Recipients": [m.to],
        "ReceivedAt": datetime.fromtimestamp(m.received_at, UTC).isoformat(), "From": m.sender,
        "Subject": m.subject, "Attachments": [], "Status": "Sent", "TrackOpens": False,
        "TrackLinks": "None", "Metadata": m.metadata, "Sandboxed": False,
    }


def _handler_for(fake: FakePostmark):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: anymail reuses its connection
        server_version = "FakePostmark/1.0"

        def setup(self):
            super().setup()
            with fake._lock:
                fake.stats.connections += 1

        def log_message(self, format, *args):  # quiet
            pass

        def _reply(self, status: int, body, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw or b"null")
            except ValueError:
                return _INVALID_JSON

        def _reset(self) -> None:
            # SO_LINGER 0: close with RST, so the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/messages/outbound":
                if self.headers.get("X-Postmark-Server-Token") != fake.token:
                    return self._reply(401, {"ErrorCode": 10, "Message": "Invalid or missing server token."})
                return self._reply(*fake.search(dict(parse_qsl(url.query))))
            if self.path == "/_fake/messages":
                return self._reply(200, [asdict(m) for m in fake.accepted()])
            if self.path == "/_fake/accepted":
                # Compact: [recipient, time accepted, delivery id] per message.
                return self._reply(200, [
                    [m.to, m.received_at, m.metadata.get("delivery_id", "")] for m in fake.accepted()
                ])
            if self.path == "/_fake/stats":
                return self._reply(200, asdict(fake.stats))
            return self._reply(404, {"ErrorCode": 404, "Message": "Not found"})

        def do_POST(self):
            data = self._body()
            if self.path.startswith("/_fake/"):
                return self._control(data)
            with fake._lock:
                fake.stats.requests += 1
            if self.path not in ("/email", "/email/batch"):
                return self._reply(404, {"ErrorCode": 404, "Message": "Not found"})
            token = self.headers.get("X-Postmark-Server-Token")
            if not token:
                return self._reply(401, {
                    "ErrorCode": 10,
                    "Message": "No Account or Server API tokens were supplied in the HTTP headers.",
                })
            if token != fake.token:
                return self._reply(401, {
                    "ErrorCode": 10,
                    "Message": "The Server Token you provided in the X-Postmark-Server-Token "
                               "request header was invalid.",
                })
            if data is _INVALID_JSON:
                return self._reply(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
            batch = self.path == "/email/batch"
            if batch and not isinstance(data, list):
                return self._reply(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
            messages = data if batch else [data]
            recipients = [
                a for m in messages if isinstance(m, dict) for a in _addresses(str(m.get("To", "")))
            ]
            if fake.latency_ms:
                time.sleep(fake.latency_ms / 1000)
            chaos = fake._take_random_fault() if not batch else None
            if chaos:
                fault = Fault(kind="reset" if chaos == "drop" else chaos, retry_after=1)
            else:
                fault = fake._take_fault(recipients, ("429", "500", "reset", "timeout"))
            if fault and fault.kind == "timeout":
                fake._one(data)  # accepted: the provider will send it ...
                time.sleep(fake.stall_seconds)  # ... but answers too late
                return self._reset()
            if fault and fault.kind == "reset":
                return self._reset()
            if fault and fault.kind == "429":
                seconds = fault.retry_after
                retry_after = str(int(seconds)) if seconds == int(seconds) else str(seconds)
                return self._reply(
                    429, {"ErrorCode": 429, "Message": "Rate limit exceeded; slow down."},
                    {"Retry-After": retry_after},
                )
            if fault:
                return self._reply(500, {"ErrorCode": 500, "Message": "Internal server error."})
            if batch:
                return self._reply(200, [fake._one(m)[1] for m in messages])
            status, answer = fake._one(data)
            return self._reply(status, answer)

        def _control(self, data):
            if self.path == "/_fake/reset":
                fake.reset()
                return self._reply(200, {"ok": True})
            if self.path == "/_fake/faults" and isinstance(data, dict):
                try:
                    fake.fault(
                        data.get("recipient"), str(data.get("kind")),
                        times=data.get("times", 1), retry_after=float(data.get("retry_after", 1)),
                    )
                except (TypeError, ValueError) as exc:
                    return self._reply(400, {"error": str(exc)})
                return self._reply(200, {"ok": True})
            return self._reply(404, {"error": "unknown control endpoint"})

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Postmark Email API on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the accepted server token")
    parser.add_argument("--log", type=Path, help="append every accepted message to this JSON Lines file")
    parser.add_argument("--no-bodies", action="store_true", help="record messages without their bodies")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of sends (0..1) answered at random with 500, 429, a timeout or a drop")
    parser.add_argument("--stall-seconds", type=float, default=5.0, help="how long a timeout fault stalls")
    parser.add_argument("--seed", type=int, help="seed for the random faults")
    parser.add_argument("--index-delay-seconds", type=float, default=0.0,
                        help="how long before an accepted message shows in the message search")
    args = parser.parse_args(argv)
    fake = FakePostmark(host=args.host, port=args.port, token=args.token, latency_ms=args.latency_ms,
                        log_path=args.log, keep_bodies=not args.no_bodies)
    fake.random_faults(rate=args.fault_rate, stall_seconds=args.stall_seconds, seed=args.seed)
    fake.index_delay = args.index_delay_seconds
    print(f"fake Postmark listening on {fake.url} (token {args.token!r})", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()


if __name__ == "__main__":
    main()
