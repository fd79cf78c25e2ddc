"""Amazon SES is optional: boto3 (and the rest of the AWS SDK) comes only with
the ``ses`` extra, and choosing SES without it stops with one line saying
what to install."""

import re
import subprocess
import sys
import tomllib

from tests.conftest import ROOT
from tests.ops.test_config_errors import production_env

SES = {
    "EMAIL_PROVIDER": "amazon_ses", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_DEFAULT_REGION": "eu-west-1", "ANYMAIL_WEBHOOK_SECRET": "hooks:Zq8-vT2pZ_w8LmN4rX7sYb1c",
}


def test_boto3_comes_only_with_the_ses_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    aws = re.compile(r"amazon-ses|boto3", re.I)
    assert [dep for dep in project["dependencies"] if aws.search(dep)] == []
    assert any(aws.search(dep) for dep in project["optional-dependencies"]["ses"])
    # The image and the lock file still carry it.
    assert "pip install -c requirements.lock '.[ses]'" in (ROOT / "Dockerfile").read_text()
    assert "ses" in re.search(r"pip install -q '\.\[([^\]]*)\]'", (ROOT / "Makefile").read_text()).group(1)
    assert re.search(r"(?m)^boto3==", (ROOT / "requirements.lock").read_text())


def test_ses_without_boto3_stops_with_what_to_install():
    # boto3 made unimportable, as on an install without the extra.
    hide = "import runpy, sys; sys.modules['boto3'] = None; sys.argv = ['manage.py', 'check']; " \
           "runpy.run_path('manage.py', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", hide], cwd=ROOT, env=production_env(**SES),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: EMAIL_PROVIDER=amazon_ses needs boto3; install it with pip install '.[ses]'"
    ]


def test_ses_with_boto3_starts():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=production_env(**SES),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
