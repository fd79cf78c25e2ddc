"""HTTP load test: wrk against gunicorn on loopback.

    python -m bench.loadtest [--duration 60] [--json]

Starts gunicorn (the production command, ``gunicorn config.wsgi``) on a free
loopback port with DEBUG off, on the configured DATABASE_URL/REDIS_URL (the
laptop default is SQLite), loads the sample edition, then drives each
scenario with wrk at a steady target rate (a Lua ``delay()`` paces every
connection) and prints throughput, p50/p99 latency and errors. Needs ``wrk``
(``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# name, method, path, target requests/s, connections
SCENARIOS = [
    ("home GET", "GET", "/", 400, 16),
    ("subscribe GET", "GET", "/subscribe/", 300, 16),
    ("subscribe POST", "POST", "/subscribe/", 150, 16),
]

PACED_LUA = """
local rate_per_conn = tonumber(os.getenv("RATE_PER_CONN"))
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
end
function delay()
  return 1000 / rate_per_conn
end
request = function()
  if os.getenv("METHOD") == "POST" then
    counter = counter + 1
    local email = string.format("load-%s-%d-%d@example.org", os.getenv("RUN_ID"), thread_id, counter)
    local body = string.format(os.getenv("POST_BODY"), email)
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "csrftoken=" .. os.getenv("CSRF"),
      ["Referer"] = os.getenv("REFERER"),
    }, body)
  end
  return wrk.format("GET")
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_serving(env: dict, *, stdout=subprocess.DEVNULL):
    """gunicorn on ``env``'s BIND, yielding its base URL once /healthz/
    answers; stopped (its whole process group) on the way out."""
    web = subprocess.Popen([str(BIN / "gunicorn"), "config.wsgi", "--access-logfile", "/dev/null"],
                           cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT,
                           start_new_session=True)
    base = f"http://{env['BIND']}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


def parse_wrk(output: str, duration: float) -> dict:
    def latency_ms(label: str) -> float | None:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {
        "requests": total,
        "per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    var = Path(tempfile.mkdtemp(prefix="dp-load-"))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "load-test-" + os.urandom(24).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "POSTAL_ADDRESS": os.environ.get("POSTAL_ADDRESS", "Load test address"),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "VAR_DIR": os.environ.get("VAR_DIR", str(var)),
        "EMAIL_PROVIDER": "file",
        "EMAIL_OUTBOX_DIR": str(var / "outbox"),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # The load client is exempt from the signup rate limit.
        "RATE_LIMIT_EXEMPT_IPS": "127.0.0.1",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.workers),
        "WEB_THREADS": "1",
    }
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "ingest_papers", "--source", "file", "--sample"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    results = []
    with (var / "gunicorn.log").open("wb") as log, gunicorn_serving(env, stdout=log) as base:
        # Warm every worker (imports, template and cache fills) before timing.
        for _ in range(args.workers * 10):
            for path in ("/", "/subscribe/"):
                urllib.request.urlopen(base + path, timeout=30).read()
        # One GET gives a CSRF cookie and token valid for every POST.
        with urllib.request.urlopen(base + "/subscribe/") as response:
            cookie = response.headers.get("Set-Cookie", "")
            html = response.read().decode()
        csrf = re.search(r"csrftoken=([^;]+)", cookie)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        post_body = os.environ.get(
            "LOAD_POST_BODY",
            "csrfmiddlewaretoken={token}&email=%s&topics=reasoning&topics=agents-tools&keywords="
            "&frequency=daily&weekday=0&timezone=Europe%%2FParis&send_hour=7&leave_empty=",
        ).replace("{token}", token.group(1) if token else "")
        lua = var / "paced.lua"
        lua.write_text(PACED_LUA)
        for name, method, path, rate, conns in SCENARIOS:
            run_env = {
                **os.environ,
                "RATE_PER_CONN": str(rate / conns),
                "METHOD": method,
                "RUN_ID": str(int(time.time())),
                "CSRF": csrf.group(1) if csrf else "",
                "REFERER": base + "/subscribe/",
                "POST_BODY": post_body,
            }
            out = subprocess.run(
                ["wrk", "-t2", f"-c{conns}", f"-d{args.duration}s", "--latency", "-s", str(lua),
                 base + path],
                env=run_env, capture_output=True, text=True, check=True,
            ).stdout
            row = {"scenario": name, "target_per_s": rate, **parse_wrk(out, args.duration)}
            results.append(row)
            if not args.json:
                print(f"{name:15} target {rate:4}/s  got {row['per_s']:7.1f}/s  "
                      f"p50 {row['p50_ms']:.1f} ms  p99 {row['p99_ms']:.1f} ms  "
                      f"errors {row['errors']}  ({row['requests']} requests)", flush=True)
    if args.json:
        print(json.dumps({"duration_s": args.duration, "workers": args.workers, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
