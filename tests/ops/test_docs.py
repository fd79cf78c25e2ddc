"""The README and docs/ say what is true: the layout table matches the tree,
and every command they show for a laptop runs as written (at least its
--help), in laptop mode rather than needing production settings."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT, VENV_BIN, laptop_env, make_command

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PRODUCTION_SECTION = "## Running in production"


def page_text(path) -> str:
    text = path.read_text()
    if path.name == "README.md":  # the commands run inside the app's container, with its environment
        before, _, rest = text.partition(PRODUCTION_SECTION)
        text = before + rest[rest.find("\n## ") :]
    return text


def layout_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## What is where", 1)[1].split("\n## ", 1)[0]
    return [path for row in table.splitlines() if row.startswith("| `")
            for path in re.findall(r"`([^`]+)`", row.split("|")[1])]


def test_the_layout_table_names_every_part_of_the_tree_and_nothing_else():
    listed = {path.rstrip("/") for path in layout_paths()}
    for path in listed:
        assert (ROOT / path.replace("/<area>", "")).is_dir(), path
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    top = {line.split("/")[0] for line in tracked.stdout.splitlines() if "/" in line}
    assert {d for d in top if not d.startswith(".")} <= listed | {"tests"}
    for app in ("newsletter", "subscribers"):
        packages = {f"{app}/{p.parent.name}" for p in (ROOT / app).glob("*/__init__.py")}
        assert packages - {f"{app}/management", f"{app}/migrations"} <= listed, app
    assert "config/lib" in listed and "tests/<area>" in listed


def documented_laptop_commands() -> list[tuple[str, str]]:
    """(page, command) for every command shown in code on a page: lines of
    fenced blocks, and inline code (which may wrap)."""
    found = []
    for path in PAGES:
        text = page_text(path)
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
        inline = [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text,
                                                                                         flags=re.S))]
        for line in [*(line for block in blocks for line in block.splitlines()), *inline]:
            line = re.sub(r"\s+#.*$", "", line).strip().removeprefix("$ ")
            if "python manage.py " in line or "make manage ARGS=" in line or re.search(r"-m bench\.\w", line):
                found.append((path.name, line))
    return found


def test_laptop_commands_are_shown_in_laptop_mode():
    # `python manage.py ...` needs production settings (DEBUG is off unless
    # set); on a laptop the documented form is `make manage ARGS="..."`.
    bare = [f"{page}: {line}" for page, line in documented_laptop_commands()
            if re.search(r"(^|\s)python manage\.py ", line)]
    assert bare == []
    assert len(documented_laptop_commands()) > 15


def _help_run(line: str) -> list[str] | None:
    """The command line that asks the documented command for its --help."""
    if "make manage" in line:
        [args] = re.findall(r'make manage ARGS=(?:"([^"]*)"|(\S+))', line)
        command = "".join(args).split()[0]
        return None if command == "..." else make_command(ROOT, "manage", f"ARGS={command} --help")
    words = shlex.split(line.replace("\\", ""))
    start = next(i for i, w in enumerate(words) if w.endswith("python"))
    module = words[start + 2]
    sub = words[start + 3:start + 4] if module == "bench.admin" else []
    return [str(VENV_BIN / "python"), "-m", module, *sub, "--help"]


def _env_prefix(line: str) -> dict[str, str]:
    """The variables set in front of the command (``DEBUG=true .venv/bin/python ...``)."""
    env = {}
    for word in shlex.split(line.replace("\\", "")):
        if not re.match(r"^[A-Z_]+=", word):
            break
        name, _, value = word.partition("=")
        env[name] = value
    return env


@pytest.mark.slow
def test_every_documented_laptop_command_starts():
    commands = {}
    for page, line in documented_laptop_commands():
        run = _help_run(line)
        if run:
            commands.setdefault(tuple(run), (page, line, _env_prefix(line)))
    for run, (page, line, env) in commands.items():
        env.pop("DATABASE_URL", None)  # --help reads no database; an example's address may not exist here
        result = subprocess.run(list(run), cwd=ROOT, env=laptop_env(**env), capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{page}: {line}\n{result.stdout[-1000:]}{result.stderr[-2000:]}"
        assert "Configuration error" not in result.stderr and result.stdout.strip(), f"{page}: {line}"
