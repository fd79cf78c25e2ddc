"""Django for the benchmarks, which run as scripts (``python -m bench.<name>``)
rather than as management commands of the apps.

Importing this module sets Django up (once: under pytest it already is), so
a benchmark's first import of the project is ``import bench.bootstrap``,
before any module of the apps, and its last line is
``bench.bootstrap.command_main(...)``. A bad setting stops the script with
one line, as it stops ``manage.py``.
"""

from __future__ import annotations

import os
import sys

import django
from django.apps import apps
from django.core.management.base import BaseCommand

from config.env import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not apps.ready:
    with exit_on_config_error():
        django.setup()


def command_main(*, module: str, commands: dict[str, type[BaseCommand]]) -> None:
    """Run one of a benchmark's commands with the script's arguments, with
    the parsing, ``--help`` and error handling of a management command.
    One command: ``python -m bench.digests [options]``; several:
    ``python -m bench.admin seed|run [options]``."""
    args = sys.argv[1:]
    if len(commands) == 1:
        [command] = commands.values()
        command().run_from_argv(["python -m", module, *args])
        return
    if not args or args[0] not in commands:
        sys.stderr.write(f"usage: python -m {module} {{{'|'.join(commands)}}} [options] (--help for each)\n")
        sys.exit(2)
    commands[args[0]]().run_from_argv([f"python -m {module}", *args])
