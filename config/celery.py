"""The Celery app: ``celery -A config worker`` and ``celery -A config beat``."""

import gc
import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    worker_process_init,
    worker_ready,
)

from config.env import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _fail_fast_on_bad_settings(sender, **kwargs):
    # Reading one setting imports them all, so a bad variable stops the
    # worker with one line instead of a traceback at the first task.
    from django.conf import settings

    with exit_on_config_error():
        settings.INSTALLED_APPS  # noqa: B018


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger, **kwargs):
    # The worker replaces the root logger's handlers with its own, and with
    # them the redacting filter from settings.LOGGING: put it back, so worker
    # and beat logs never show a full address or a token either.
    from config.security import RedactingFilter

    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


@worker_ready.connect  # the process that runs tasks with --pool=solo (and prefork's parent)
@worker_process_init.connect  # each prefork child
def _gc_freeze(**kwargs):
    # What is loaded by now lives as long as the process: frozen, full
    # collections stop walking it again and again, and a higher first
    # threshold stops a chunk's short-lived messages from being traversed
    # and promoted over and over (measurements: docs/performance.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
