"""The Dockerfile's build steps work as written (there is no Docker engine on
our machines): its collectstatic line runs here with the image's environment."""

import os
import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT, VENV_BIN


def dockerfile() -> tuple[dict[str, str], str, list[str]]:
    """The image's ENV, its WORKDIR and its RUN commands, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    env, workdir, runs = {}, "/", []
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
        elif instruction == "WORKDIR":
            workdir = rest.strip()
        elif instruction == "RUN":
            runs.append(rest.strip())
    return env, workdir, runs


def collectstatic_step() -> str:
    [step] = [part.strip() for run in dockerfile()[2] for part in run.split("&&") if "collectstatic" in part]
    return step


def test_the_collectstatic_step_is_found_where_the_image_builds_it():
    env, workdir, _ = dockerfile()
    assert workdir == "/app" and env["VAR_DIR"] == "/app/var"
    assert "manage.py collectstatic" in collectstatic_step()


@pytest.mark.slow
def test_collectstatic_runs_with_the_images_environment(tmp_path):
    env, workdir, _ = dockerfile()
    # The image's paths under WORKDIR land in a temporary folder; `python` is
    # the one with the pinned dependencies installed, as pip install makes it in the image.
    env = {name: value.replace(workdir, str(tmp_path), 1) if value.startswith(workdir) else value
           for name, value in env.items()}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", HOME=str(tmp_path))
    result = subprocess.run(["sh", "-c", collectstatic_step()], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "var" / "static" / "css").glob("site.*.css.gz"))
