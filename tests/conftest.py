from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, why: str) -> None:
    """Skip on a laptop, fail under CI: CI must run every test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {why}")
    pytest.skip(why)


# --shuffle SEED: the tests in an order drawn from SEED ("random": a new seed,
# printed). Shuffled before pytest-django sorts the tests into its groups
# (database tests, then transactional ones, then the rest; a stable sort), so
# the groups stay and each is shuffled, as with Django's own `test --shuffle`.
SHUFFLE_SEED = pytest.StashKey[int]()


def pytest_addoption(parser):
    parser.addoption("--shuffle", metavar="SEED", help="run the tests in an order shuffled with SEED "
                     "(a whole number, or 'random' for a new one); the seed is printed to replay the order")


def pytest_configure(config):
    seed = config.getoption("--shuffle")
    if seed is None:
        return
    if seed != "random" and not seed.isdigit():
        raise pytest.UsageError(f"--shuffle takes a whole number or 'random', not {seed!r}")
    config.stash[SHUFFLE_SEED] = random.randrange(10**6) if seed == "random" else int(seed)


# tryfirst, and registered after pytest-django: runs before its sort.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if SHUFFLE_SEED in config.stash:
        random.Random(config.stash[SHUFFLE_SEED]).shuffle(items)


def _shuffle_line(config) -> str | None:
    if SHUFFLE_SEED not in config.stash:
        return None
    seed = config.stash[SHUFFLE_SEED]
    return f"tests shuffled with seed {seed}; the same order again: make test SHUFFLE={seed}"


def pytest_report_header(config):
    return _shuffle_line(config)


def pytest_terminal_summary(terminalreporter, config):
    line = _shuffle_line(config)
    if line:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    # A skipped test hiding in CI is a defect: turn any skip into a failure.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter and reporter.stats.get("skipped") and exitstatus == 0:
        reporter.write_line(f"CI=true: {len(reporter.stats['skipped'])} test(s) skipped; failing.")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache (rate limits, page fragments)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _migrated_rows(request):
    """Each test that uses the database finds the rows the migrations made
    (the default topics), whatever ran before it: a transactional test ends
    by emptying every table, and only content types and permissions come
    back by themselves."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db or request.node.get_closest_marker("django_db"):
        from tests.factories import topics_default

        request.getfixturevalue("db")  # set up first (transactional_db or the marker still decide how)
        topics_default()
    yield


@pytest.fixture
def one_rate_window():
    """The clock at the start of an hour, running: every attempt a test makes
    falls in one window of the per-hour attempt counters, so no count starts
    afresh halfway through the test."""
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now().replace(minute=0, second=1), tick=True):
        yield


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a callable and whatever it enqueues after commit, in-process (the
    Celery tasks eagerly): a request and the emails it owes."""
    from tests.subscriber_helpers import eager_tasks

    def call(fn, *args, **kwargs):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def fresh_pools():
    """No edition pool cached by an earlier test (pools are kept per
    process): for tests that select, assemble or send."""
    from newsletter.digest.pool import pools_forget

    pools_forget()
    yield
    pools_forget()


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def require_postgres(settings):
    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "needs PostgreSQL (set DATABASE_URL=postgres://...)",
    )


@pytest.fixture
def require_redis(settings):
    url = settings.REDIS_URL
    ok = bool(url) and port_open(urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 6379)
    require(ok, "needs Redis (set REDIS_URL=redis://127.0.0.1:6379/0)")


def subprocess_db_url(settings) -> str:
    """A DATABASE_URL naming the test database, for subprocesses."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def service_env(settings, tmp_path):
    """Environment for a subprocess (worker, beat, gunicorn) sharing this
    test's database and broker."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": subprocess_db_url(settings),
        "PYTHONUNBUFFERED": "1",
    }
    return env


class Service:
    """A subprocess started for one test and always stopped after it."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


def broker_purge() -> None:
    """Drop tasks left in the broker by an earlier run."""
    from config.celery import app

    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)


@pytest.fixture
def start_service(tmp_path):
    started: list[Service] = []

    def start(args: list[str], env: dict, name: str) -> Service:
        service = Service(args, env, tmp_path / f"{name}.log")
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def wait_for(predicate, *, timeout: float, what: str, service: Service | None = None):
    """Poll until predicate() is truthy (real processes take real time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if service is not None and service.proc.poll() is not None:
            raise AssertionError(f"{what}: process exited early:\n{service.output()[-3000:]}")
        time.sleep(0.2)
    tail = service.output()[-3000:] if service else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def lock_waiters() -> int:
    """How many sessions on this test database wait for a lock (PostgreSQL):
    a race test holds one side's transaction open until the other waits."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


VENV_BIN = Path(sys.executable).parent


def make_command(tree: Path, *targets: str) -> list[str]:
    """``make`` in ``tree`` with this test run's virtualenv taken as installed:
    make must not reinstall it, least of all from a copy of the tree."""
    venv = VENV_BIN.parent
    return ["make", "-s", "-C", str(tree), f"VENV={venv}",
            "-o", f"{venv}/.installed-run", "-o", f"{venv}/.python-ok", *targets]


def laptop_env(**extra: str) -> dict[str, str]:
    """A fresh terminal's environment: none of the test run's settings."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **extra}
