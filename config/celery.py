"""The Celery app: ``celery -A config worker`` and ``celery -A config beat``."""

import gc
import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
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


@task_prerun.connect
def _count_queries(**kwargs):
    # Benchmarks only (DB_QUERY_COUNT_KEY): queries per delivery, from the workers.
    from newsletter.querycount import queries_count_attach

    queries_count_attach()


@task_postrun.connect
def _flush_query_count(**kwargs):
    from newsletter.querycount import queries_count_flush

    queries_count_flush()


@worker_ready.connect  # the process that runs tasks with --pool=solo (and prefork's parent)
@worker_process_init.connect  # each prefork child
def _gc_freeze(**kwargs):
    # What is loaded by now (Django, Celery, the libraries, the app's modules)
    # lives as long as the process. Python's full collections walked all of
    # it again and again: ~8% of a sending worker's CPU (measured with
    # gc.callbacks during bench_delivery). Frozen, the collector skips it;
    # what tasks allocate is collected as before. A chunk keeps a few hundred
    # messages alive for a second or two: with the default first threshold
    # (700) they were traversed and promoted over and over (~20 µs of CPU
    # per message); at 10,000 it is ~7 µs. Cycles are rare here (reference
    # counting frees the rest), so memory stays flat.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
