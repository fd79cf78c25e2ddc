"""The delivery benchmark's processes: the fake provider and Celery workers,
started and stopped, and what they cost (CPU time, peak memory) read from
/proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent
OTHER_PROGRAMS = {"postgres": "postgres", "redis-server": "redis"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=30)


@contextmanager
def fake_provider(*, latency_ms: float, token: str):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_provider", "--port", str(port), "--latency-ms", str(latency_ms),
         "--token", token, "--no-bodies"],
        cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: _try(lambda: get_json(url + "_fake/stats")), 30, "the fake provider to listen")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _try(fn):
    try:
        return fn() or True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_others(provider_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the fake provider, by PostgreSQL (live
    backends, plus the ended ones the postmaster has reaped) and by Redis."""
    totals = dict.fromkeys(["provider", *OTHER_PROGRAMS.values()], 0.0)
    totals["provider"] = cpu_seconds(provider_pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = OTHER_PROGRAMS.get(text[text.find("(") + 1 : text.rfind(")")].split(":")[0])
        if name:
            fields = text.rpartition(")")[2].split()
            totals[name] += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return totals


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, float]:
    return {name: round((after[name] - before[name]) * 1000 / max(1, messages), 3) for name in after}


@contextmanager
def celery_workers(*, count: int, env: dict, log_dir: Path):
    """``count`` Celery workers (solo pool) that count their database queries
    (see ``bench/celery_app.py``); stopped on exit."""
    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)
    procs = []
    for n in range(count):
        log = (log_dir / f"bench-worker{n}.log").open("wb")
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "bench.celery_app", "worker", "--pool=solo",
             "--loglevel=WARNING", "-n", f"bench{n}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
    try:
        names = {f"bench{n}-{os.getpid()}" for n in range(count)}

        def ready() -> bool:
            replies = app.control.ping(timeout=1.0)
            return names <= {host.split("@")[0] for reply in replies for host in reply}

        wait_until(ready, 120, f"{count} Celery workers to start", every=0.5)
        yield procs
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
