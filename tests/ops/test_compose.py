"""docker-compose.yml runs the commands the README documents, and those
commands work (run here against the local database and broker; there is no
Docker engine on our machines)."""

import importlib
import re
import shlex
import urllib.request

import pytest
import yaml

from newsletter.models import WorkerPing
from tests.conftest import ROOT, VENV_BIN, broker_purge, free_port, wait_for

APP_SERVICES = ("migrate", "web", "worker", "beat")


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running in production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_compose_has_every_service_with_health_checks():
    services = compose()["services"]
    assert set(services) >= {"web", "worker", "beat", "postgres", "redis", "mailpit", "migrate"}
    for name in ("postgres", "redis", "mailpit", "web", "worker"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_app_commands_are_the_readme_commands():
    services = compose()["services"]
    commands = readme_commands()
    for name in APP_SERVICES:
        assert services[name]["command"] in commands, name
    assert len(commands) == len(APP_SERVICES)


def test_commands_name_modules_that_exist():
    for command in readme_commands():
        args = shlex.split(command)
        if args[0] == "gunicorn":
            module, _, attr = args[1].partition(":")
            assert hasattr(importlib.import_module(module), attr or "application")
        elif args[0] == "celery":
            app_module = args[args.index("-A") + 1]
            assert importlib.import_module(app_module).celery_app.main == "config"
        else:
            assert args[:2] == ["python", "manage.py"]
            assert (ROOT / "manage.py").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_readme_commands_run_against_local_services(
    require_postgres, require_redis, service_env, start_service, tmp_path
):
    commands = {shlex.split(c)[0]: shlex.split(c) for c in readme_commands()}
    run = lambda args: [str(VENV_BIN / args[0]), *args[1:]]  # noqa: E731
    python = [str(VENV_BIN / "python"), *commands["python"][1:]]
    migrate = start_service(python, service_env, "migrate")
    assert migrate.proc.wait(timeout=120) == 0, migrate.output()

    broker_purge()
    port = free_port()
    env = {**service_env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "HEARTBEAT_EVERY_SECONDS": "5"}
    web = start_service(run(commands["gunicorn"]), env, "web")
    celery = [c for c in readme_commands() if c.startswith("celery")]
    worker = start_service(run(shlex.split(celery[0])), env, "worker")
    beat = start_service(run(shlex.split(celery[1])), env, "beat")

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except OSError:
            return None

    status, body = wait_for(lambda: get("/healthz/"), timeout=60, what="gunicorn", service=web)
    assert (status, body) == (200, "ok\n")
    status, body = get("/")
    assert status == 200 and "Get trending papers in your email inbox!" in body
    get("/unsubscribe/secret-token-value/")
    # Beat schedules the heartbeat; the worker runs it.
    wait_for(lambda: WorkerPing.objects.filter(answered_at__isnull=False).exists(),
             timeout=90, what="a heartbeat from beat through the worker", service=worker)
    assert beat.proc.poll() is None, beat.output()
    # Access lines are written, with signed tokens masked.
    assert '"GET /healthz/' in web.output()
    assert "secret-token-value" not in web.output() and "/unsubscribe/[token]/" in web.output()
