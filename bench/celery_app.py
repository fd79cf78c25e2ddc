"""The project's Celery app with database queries counted, for the delivery
benchmark's workers: ``celery -A bench.celery_app worker``. Production
workers (``celery -A config``) carry none of this."""

from celery.signals import task_postrun, task_prerun

from bench.querycount import queries_count_attach, queries_count_flush
from config.celery import app

__all__ = ["app"]


@task_prerun.connect
def _count_queries(**kwargs):
    queries_count_attach()


@task_postrun.connect
def _flush_query_count(**kwargs):
    queries_count_flush()
