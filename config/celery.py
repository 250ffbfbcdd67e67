"""The Celery app.

Security and delivery rules that no deployment should change live here, not in settings:
messages are JSON only (a pickle from a compromised broker must never execute), tasks are
acknowledged after they finish so a killed worker's task runs again, and every task has a
time limit.  Tasks therefore have to be idempotent and take ids (CONVENTIONS.md).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("safe_report")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One message at a time per process: with acks_late, a prefetched message would wait
    # behind a long task instead of going to an idle worker.
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=24 * 3600,
)
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping() -> str:
    """Smoke task: proves a worker is consuming this app's queue."""
    return "pong"
