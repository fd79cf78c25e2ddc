"""One fault test run: private Postgres and Redis, the fake provider in its
own process, real Celery workers and beat; then the verdict, read from the
provider's log of accepted messages and from the database."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from tests.chaos.services import PrivatePostgres, PrivateRedis
from tests.conftest import ROOT, VENV_BIN, Service, free_port, port_open

WORKERS = 2
CONCURRENCY = 2  # pool processes per worker: each has at most one digest in flight
TOKEN = "chaos-token"


@dataclass
class Figures:
    fault: str
    readers: int
    faults_injected: str
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    interrupted: int = 0
    in_flight_bound: int = 0
    # Sends that got no answer, settled with the provider (its message search):
    # found there, named by one of its events, or not there and sent once more.
    settled: dict[str, int] = field(default_factory=dict)
    # Readers without a digest because the one send again got no answer either.
    lost_second_send: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.fault}: readers {self.readers}, faults {self.faults_injected}, "
                f"expected {self.expected}, delivered {self.delivered}, duplicates {self.duplicates}, "
                f"failed {self.failed}, interrupted {self.interrupted} "
                f"(in flight at most {self.in_flight_bound}), settled {self.settled}, "
                f"lost after a second unanswered send {self.lost_second_send}, {self.seconds:.0f}s")


class Chaos:
    """Everything one run needs; ``close()`` stops all of it."""

    def __init__(self, *, readers: int, workdir: Path, seed: int, fault_rate: float = 0.0) -> None:
        self.readers = readers
        self.dir = workdir
        self.rng = random.Random(seed)
        self.seed = seed
        self.services: dict[str, Service] = {}
        self.started = time.monotonic()
        self.in_flight_bound = 0
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis()
        try:
            self._setup(fault_rate)
        except BaseException:
            self.close()  # nothing private may outlive a failed start
            raise

    def _setup(self, fault_rate: float) -> None:
        workdir, readers, seed = self.dir, self.readers, self.seed
        self.pg.start()
        self.redis.start()
        self.provider_log = workdir / "accepted.jsonl"
        self.provider_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DIGEST_", "EMAIL_"))},
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "VAR_DIR": str(workdir / "var"),
            "PYTHONUNBUFFERED": "1",
            "EMAIL_PROVIDER": "postmark",
            "POSTMARK_SERVER_TOKEN": TOKEN,
            "POSTMARK_API_URL": f"http://127.0.0.1:{self.provider_port}/",
            # Recovery settings for the test: a broker that gives unacked
            # tasks back soon, a beat that plans and sweeps every 10 s, a sweep
            # that ends silent sends after 15 s and re-enqueues lost ones after
            # 20 s (longer for a big run, whose queue is minutes deep); a send
            # that got no answer is looked up at the provider 5 s after it
            # was made (the fake's search lags 1 s behind what it accepted).
            "CELERY_VISIBILITY_TIMEOUT": "30",
            "DIGEST_SCHEDULE_EVERY_SECONDS": "10",
            "DIGEST_SENDING_TIMEOUT_SECONDS": "15",
            "DIGEST_PENDING_REQUEUE_SECONDS": os.environ.get("CHAOS_REQUEUE_SECONDS", "20"),
            "DIGEST_RECONCILE_AFTER_SECONDS": "5",
            "DIGEST_CHUNK_SIZE": "50",
            "DIGEST_RETRY_BASE_SECONDS": "1",
            "DIGEST_RETRY_MAX_SECONDS": "4",
            "EMAIL_TIMEOUT": "2",
        }
        self._run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"])
        self._run([sys.executable, "-m", "tests.chaos.seed", str(readers)])
        self.start(
            "provider",
            [sys.executable, "-m", "bench.fake_provider", "--port", str(self.provider_port), "--token", TOKEN,
             "--latency-ms", "2", "--log", str(self.provider_log), "--fault-rate", str(fault_rate),
             "--stall-seconds", "3", "--seed", str(seed), "--index-delay-seconds", "1"],
        )
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", self.provider_port):
            assert time.monotonic() < deadline, "the fake provider did not start"
            time.sleep(0.1)

    def _run(self, args: list[str]) -> None:
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"

    # --- processes ---------------------------------------------------------------------

    def start(self, name: str, args: list[str]) -> Service:
        log = self.dir / f"{name}.log"
        service = Service(args, self.env, log)
        self.services[name] = service
        return service

    def worker_start(self, n: int) -> Service:
        return self.start(f"worker{n}", [
            str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO",
            f"--concurrency={CONCURRENCY}", "-n", f"chaos{n}@%h", "--without-mingle", "--without-gossip",
        ])

    def beat_start(self, n: int) -> Service:
        return self.start(f"beat{n}", [
            str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
            "-s", str(self.dir / f"beat{n}-schedule"),
        ])

    def worker_kill(self, n: int) -> int:
        """SIGKILL the whole worker (main process and pool), as a crashed
        machine would; returns how many digests were `sending` just after."""
        service = self.services.pop(f"worker{n}")
        os.killpg(service.proc.pid, signal.SIGKILL)
        service.proc.wait()
        service._fh.close()
        self.dir.joinpath(f"worker{n}.log").rename(self.dir / f"worker{n}-killed-{time.monotonic():.0f}.log")
        self.in_flight_bound += CONCURRENCY
        return self.count("status = 'sending'")

    def provider_stats(self) -> dict:
        url = f"http://127.0.0.1:{self.provider_port}/_fake/stats"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def close(self) -> None:
        for service in self.services.values():
            service.stop()
        self.redis.stop()
        self.pg.stop()

    # --- the database ------------------------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        """Read with a fresh connection: the server may have been restarted."""
        for _ in range(100):
            try:
                with psycopg.connect(self.pg.conninfo, connect_timeout=3) as conn:
                    return conn.execute(sql).fetchall()
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise AssertionError("the private database does not answer")

    def count(self, where: str = "true") -> int:
        # ``where`` is a constant written in this file, never input.
        return self.query(f"SELECT count(*) FROM newsletter_delivery WHERE {where}")[0][0]  # noqa: S608

    def wait_progress(self, share: float, *, timeout: float) -> None:
        """Until this share of the readers has a sent digest."""
        target = int(self.readers * share)
        deadline = time.monotonic() + timeout
        while self.count("status = 'sent'") < target:
            self._check_alive()
            assert time.monotonic() < deadline, f"no progress to {share:.0%} in {timeout}s\n{self.tails()}"
            time.sleep(0.2)

    def wait_done(self, *, timeout: float) -> None:
        """Until every reader has a Delivery and none is pending, sending or
        uncertain (waiting to be looked up at the provider)."""
        deadline = time.monotonic() + timeout
        while True:
            rows, open_ = self.query(
                "SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'sending', 'uncertain')) "
                "FROM newsletter_delivery"
            )[0]
            if rows >= self.readers and not open_:
                return
            self._check_alive()
            assert time.monotonic() < deadline, (
                f"not done after {timeout}s: {rows} deliveries, {open_} pending, sending or uncertain\n"
                f"{self.tails()}"
            )
            time.sleep(0.5)

    def _check_alive(self) -> None:
        for name, service in self.services.items():
            if service.proc.poll() is not None:
                raise AssertionError(f"{name} exited:\n{service.output()[-3000:]}")

    def tails(self) -> str:
        return "\n".join(f"--- {n}\n{s.output()[-1500:]}" for n, s in self.services.items())

    # --- the verdict -------------------------------------------------------------------

    def verdict(self, *, fault: str, injected: str) -> Figures:
        """Figures and every broken promise, from the provider's log and the database."""
        figures = Figures(fault=fault, readers=self.readers, faults_injected=injected, expected=self.readers,
                          in_flight_bound=self.in_flight_bound, seconds=time.monotonic() - self.started)
        accepted = [json.loads(line) for line in self.provider_log.read_text().splitlines() if line.strip()]
        per_reader = Counter(m["to"] for m in accepted)
        figures.delivered = len(per_reader)
        figures.duplicates = sum(n - 1 for n in per_reader.values())
        ids = {m["to"]: m["message_id"] for m in accepted}
        rows = self.query(
            "SELECT s.email, d.status, d.reason, d.provider_message_id, d.reconciled, d.reconcile_note "
            "FROM newsletter_delivery d JOIN subscribers_subscriber s ON s.id = d.subscriber_id"
        )
        figures.failed = dict(Counter(_reason_kind(r[2]) for r in rows if r[1] == "failed"))
        # Interrupted: ended so, or settled with the provider after it.
        figures.interrupted = sum(1 for r in rows if (r[1] == "failed" and r[2] == "interrupted")
                                  or r[5].startswith("interrupted"))
        figures.settled = dict(Counter(r[4] for r in rows if r[4] and r[1] == "sent"))
        problems = figures.problems
        by_email = Counter(r[0] for r in rows)
        if len(by_email) != self.readers or max(by_email.values(), default=0) > 1:
            problems.append(f"{len(by_email)} readers with a Delivery (of {self.readers}), "
                            f"{sum(n > 1 for n in by_email.values())} with more than one")
        if figures.duplicates:
            dup = [e for e, n in per_reader.items() if n > 1]
            problems.append(f"{figures.duplicates} duplicate emails, e.g. {dup[:5]}")
        silent = [r[0] for r in rows if r[0] not in per_reader and not (r[1] == "failed" and r[2])]
        # Postmark can be searched, so an unanswered send is settled: the only
        # reader left without a digest is one whose send again got no answer
        # either (never a third attempt).
        unsettled = [r[0] for r in rows if r[0] not in per_reader and r[1] == "failed" and r[4] != "resend"]
        figures.lost_second_send = sum(1 for r in rows if r[0] not in per_reader and r[4] == "resend")
        if unsettled:
            problems.append(f"{len(unsettled)} readers got nothing though the provider could be asked: "
                            f"{unsettled[:5]}")
        if silent:
            problems.append(f"{len(silent)} readers got nothing and have no failed Delivery with a reason: "
                            f"{silent[:5]} ({Counter(r[1] for r in rows if r[0] in set(silent))})")
        unexplained = [r[0] for r in rows if r[1] == "sent" and ids.get(r[0]) != r[3]]
        if unexplained:
            problems.append(f"{len(unexplained)} sent Deliveries the provider has no such message for")
        strangers = set(per_reader) - set(by_email)
        if strangers:
            problems.append(f"{len(strangers)} emails to addresses without a Delivery")
        if figures.interrupted > figures.in_flight_bound:
            problems.append(
                f"{figures.interrupted} interrupted, more than the {figures.in_flight_bound} in flight"
            )
        report_dir = os.environ.get("CHAOS_REPORT_DIR")
        if report_dir:
            Path(report_dir).mkdir(parents=True, exist_ok=True)
            Path(report_dir, f"{fault}.json").write_text(json.dumps(asdict(figures), indent=1))
        print(figures.line())
        return figures


def _reason_kind(reason: str) -> str:
    """A failure reason without the per-message detail, for counting."""
    return reason.split(":")[0][:60]
