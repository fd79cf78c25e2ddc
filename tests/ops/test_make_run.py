"""`make run` on a fresh copy of the tree, as on a laptop: it starts, it stops
quickly and quietly (Ctrl-C or SIGTERM), and the tree it leaves also serves
with DEBUG off."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, VENV_BIN, free_port, laptop_env, make_command, wait_for

pytestmark = pytest.mark.slow

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3Jq9-vT2pZ_w8LmN4rX7sYb1cHd6fGe0aUiOo5QyRtWzEx2Vn",
    "ALLOWED_HOSTS": "127.0.0.1",
    "POSTAL_ADDRESS": "1 Example Street",
    "SECURE_SSL_REDIRECT": "false",
}


def tree_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "test-artifacts", "__pycache__", ".*_cache", ".hypothesis",
    ))
    return copy


def copy_env(copy: Path) -> dict[str, str]:
    # The copy's code first on the path: the shared virtualenv's editable
    # install points at the working tree.
    return laptop_env(PYTHONPATH=str(copy))


def get(url: str) -> tuple[int, str] | None:
    """(status, body), or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return None


def session_processes(sid: int) -> list[str]:
    """Processes still in the session make was started in."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            left.append(text[: text.rfind(")") + 1])
    return left


def test_the_tree_make_setup_leaves_serves_pages_with_debug_off(tmp_path):
    copy = tree_copy(tmp_path)
    setup = subprocess.run(make_command(copy, "setup"), env=copy_env(copy), capture_output=True, text=True,
                           timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr

    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        [str(VENV_BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=copy, env={**copy_env(copy), **PRODUCTION}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        status, home = wait_for(lambda: get(f"http://127.0.0.1:{port}/"), timeout=60, what="runserver")
        assert status == 200, home[-2000:]
        assert "Get trending papers in your email inbox!" in home
        assert get(f"http://127.0.0.1:{port}/subscribe/")[0] == 200
        [stylesheet] = re.findall(r'href="(/static/css/site\.[0-9a-f]+\.css)"', home)
        assert get(f"http://127.0.0.1:{port}{stylesheet}")[0] == 200
    finally:
        web.terminate()
        web.wait(timeout=15)
        log.close()
    # Django's 500 page, rendered as Django renders it when a view fails.
    page = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "shell", "--no-imports", "-c",
         "from django.test import RequestFactory; from django.views.defaults import server_error; "
         "r = server_error(RequestFactory().get('/')); print(r.status_code, r.content.decode())"],
        cwd=copy, env={**copy_env(copy), **PRODUCTION}, capture_output=True, text=True, timeout=60,
    )
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("500 ") and "Something went wrong on our side" in page.stdout
    assert 'href="/static/css/site.css"' in page.stdout


@pytest.mark.parametrize("how", ["SIGTERM to make", "Ctrl-C (SIGINT to the process group)"])
def test_make_run_stops_quickly_and_quietly(tmp_path, how):
    copy = tree_copy(tmp_path)
    port = free_port()
    log_path = tmp_path / "make-run.log"
    log = log_path.open("wb")
    run = subprocess.Popen(make_command(copy, "run", f"PORT={port}"), env=copy_env(copy), stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    output = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/"), timeout=300, what=f"make run:\n{output()[-3000:]}")
        wait_for(lambda: " ready." in output() and "beat: Starting" in output(), timeout=120,
                 what=f"the worker and beat to start:\n{output()[-3000:]}")
        if how.startswith("SIGTERM"):
            run.send_signal(signal.SIGTERM)
        else:
            os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run still running 20 s after {how}:\n{output()[-3000:]}")
        # The shell waited for its children, and the worker for its pool.
        left = session_processes(run.pid)
    finally:
        if run.poll() is None or session_processes(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
    text = output()
    assert "Segmentation fault" not in text and "Traceback" not in text, text[-3000:]
    shutdown_lines = [line for line in text.splitlines() if "shutdown" in line.lower()]
    assert len(shutdown_lines) < 10, "\n".join(shutdown_lines[:20])
    assert left == []
