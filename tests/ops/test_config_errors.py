"""Bad configuration stops every entry point with one line naming the variable."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROD = {
    "DEBUG": "false",
    "SECRET_KEY": "k3Jq9-vT2pZ_w8LmN4rX7sYb1cHd6fGe0aUiOo5QyRtWzEx2Vn",
    "ALLOWED_HOSTS": "papers.example.org",
    "POSTAL_ADDRESS": "1 Example Street",
    "SITE_URL": "https://papers.example.org",
    "DATABASE_URL": "sqlite:///var/check.sqlite3",
    "EMAIL_PROVIDER": "file",
}


def production_env(**overrides) -> dict[str, str]:
    # Start from the machine's environment minus anything the test settings set.
    drop = {*PROD, "REDIS_URL", "SECURE_SSL_REDIRECT", "SITE_URL", "DEFAULT_FROM_EMAIL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PROD)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_manage(*args, **env_overrides):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(**env_overrides),
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL='nonsense' is not a supported database URL"),
        ({"EMAIL_PROVIDER": "unknown"}, "EMAIL_PROVIDER='unknown' is unknown"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"EMAIL_PROVIDER": "postmark"}, "EMAIL_PROVIDER=postmark needs POSTMARK_SERVER_TOKEN"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with redis://"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus' is not a known time zone"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set when DEBUG is off"),
    ],
)
def test_bad_setting_is_one_clear_line(overrides, expected):
    result = run_manage("check", **overrides)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: ")
    assert expected in result.stderr


def test_development_key_only_with_debug():
    result = run_manage("check", DEBUG="true", SECRET_KEY=None)
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_provider_with_credentials_starts(tmp_path):
    result = run_manage("check", EMAIL_PROVIDER="postmark", POSTMARK_SERVER_TOKEN="token-123")
    assert result.returncode == 0, result.stderr
