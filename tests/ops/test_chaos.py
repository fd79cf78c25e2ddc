"""Fault tests: a digest send to many readers through real Celery workers,
beat, a private PostgreSQL and a private Redis (this file starts and stops
its own, so it may restart them), and the fake provider in its own process.

After each fault, from the provider's log and the database: every due reader
got exactly one email; no duplicate; no silent loss; no more `interrupted`
than digests were in flight. Sends that got no answer are settled with the
fake Postmark's message search (found, or sent once more), so the one
reader allowed to go without is one whose send again got no answer either
(never a third attempt); how many were settled which way is reported.

CHAOS_READERS sets the readers per run (``make chaos``: 20,000; the default
suite: 1,000); CHAOS_REDIS_OUTAGE_SECONDS the broker outage (``make chaos``: 30;
the default suite: 8, to stay under a minute a test)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.chaos.scenario import WORKERS, Chaos
from tests.chaos.services import PG_BIN
from tests.conftest import require

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

READERS = int(os.environ.get("CHAOS_READERS", "1000"))
REDIS_OUTAGE = float(os.environ.get("CHAOS_REDIS_OUTAGE_SECONDS", "8"))
SEED = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
# Generous: a 20,000-reader run on a busy 2-core machine takes minutes.
DONE_WITHIN = 240 + READERS * 0.1


@pytest.fixture
def chaos_make(tmp_path):
    require(shutil.which("redis-server") is not None, "fault tests need redis-server on PATH")
    require((PG_BIN / "initdb").exists(), f"fault tests need PostgreSQL's initdb in {PG_BIN} (set PG_BIN)")
    made: list[Chaos] = []

    def make(**kwargs) -> Chaos:
        chaos = Chaos(readers=READERS, workdir=tmp_path, seed=SEED, **kwargs)
        made.append(chaos)
        return chaos

    yield make
    for chaos in made:
        chaos.close()


def start_all(chaos: Chaos, *, beats: int = 1) -> None:
    for n in range(1, WORKERS + 1):
        chaos.worker_start(n)
    for n in range(1, beats + 1):
        chaos.beat_start(n)


def assert_kept_promises(chaos: Chaos, *, fault: str, injected: str):
    figures = chaos.verdict(fault=fault, injected=injected)
    assert not figures.problems, f"seed {chaos.seed}: {figures.line()}\n" + "\n".join(figures.problems)
    # Exactly once: delivered once, none twice, none left unsettled.
    assert figures.delivered + figures.lost_second_send == figures.expected, figures.line()
    return figures


def test_worker_sigkilled_five_times_loses_and_repeats_nothing(chaos_make):
    chaos = chaos_make()
    start_all(chaos)
    moments = sorted(chaos.rng.uniform(0.05, 0.85) for _ in range(5))
    in_flight = []
    for share in moments:
        chaos.wait_progress(share, timeout=DONE_WITHIN)
        victim = chaos.rng.randint(1, 2)
        time.sleep(chaos.rng.uniform(0, 0.5))
        in_flight.append(chaos.worker_kill(victim))
        assert chaos.count("status = 'sent'") < READERS, "the kill came after the run: not a fault"
        chaos.worker_start(victim)
    chaos.wait_done(timeout=DONE_WITHIN)
    at = ", ".join(f"{s:.0%}" for s in moments)
    figures = assert_kept_promises(chaos, fault="worker-sigkill",
                                   injected=f"5 SIGKILLs at {at} sent ({sum(in_flight)} sending just after)")
    # No provider faults: nothing stands in the way of exactly once.
    assert figures.delivered == READERS and not figures.failed, figures.line()


def test_redis_outage_mid_run_loses_and_repeats_nothing(chaos_make):
    chaos = chaos_make()
    start_all(chaos)
    chaos.wait_progress(0.3, timeout=DONE_WITHIN)
    chaos.redis.stop()  # no persistence: every queued task is gone with it
    sent_then = chaos.count("status = 'sent'")
    time.sleep(REDIS_OUTAGE)
    chaos.redis.start()
    assert sent_then < READERS, "the outage came after the run: not a fault"
    chaos.wait_done(timeout=DONE_WITHIN)
    assert_kept_promises(chaos, fault="redis-outage",
                         injected=f"Redis stopped {REDIS_OUTAGE:.0f} s at {sent_then} sent, queue lost")


def test_postgres_restart_mid_run_loses_and_repeats_nothing(chaos_make):
    chaos = chaos_make()
    start_all(chaos)
    chaos.wait_progress(0.3, timeout=DONE_WITHIN)
    sent_then = chaos.count("status = 'sent'")
    chaos.pg.restart()
    # Each pool process may have had one digest between the provider's
    # answer and the UPDATE that records it.
    chaos.in_flight_bound += WORKERS * 2
    assert sent_then < READERS, "the restart came after the run: not a fault"
    chaos.wait_done(timeout=DONE_WITHIN)
    assert_kept_promises(chaos, fault="postgres-restart", injected=f"1 restart at {sent_then} sent")


def test_provider_failing_a_fifth_of_requests_loses_and_repeats_nothing(chaos_make):
    chaos = chaos_make(fault_rate=0.2)
    start_all(chaos)
    chaos.wait_done(timeout=DONE_WITHIN)
    stats = chaos.provider_stats()
    injected = f"{sum(stats['faults'].values())} of {stats['requests']} requests: {stats['faults']}"
    figures = assert_kept_promises(chaos, fault="provider-faults", injected=injected)
    # Timeouts (accepted, answered too late) are found at the provider;
    # dropped connections (nothing accepted) are sent once more.
    assert figures.settled.get("lookup") and figures.settled.get("resend"), figures.line()


def test_two_beats_plan_each_reader_once(chaos_make):
    chaos = chaos_make()
    start_all(chaos, beats=2)
    chaos.wait_progress(0.2, timeout=DONE_WITHIN)
    chaos.beat_start(3)  # and one more scheduler joins mid-run
    chaos.wait_done(timeout=DONE_WITHIN)
    assert_kept_promises(chaos, fault="two-beats", injected="2 beats from the start, a 3rd mid-run")
