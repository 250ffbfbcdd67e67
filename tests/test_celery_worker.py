"""A real worker, a real Redis: tasks travel as JSON and come back."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app, ping
from tests.support.processes import wait_until

pytestmark = pytest.mark.worker


def test_worker_answers_a_task_through_redis(celery_worker):
    assert ping.delay().get(timeout=30) == "pong"


def test_worker_runs_with_json_only_late_acks_and_time_limits(celery_worker):
    hostname, _ = celery_worker
    replies = app.control.inspect(destination=[hostname], timeout=5).conf(with_defaults=True)
    conf = replies[hostname]
    assert conf["accept_content"] == ["json"]
    assert conf["task_serializer"] == "json"
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["task_soft_time_limit"] == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert conf["task_time_limit"] == settings.CELERY_TASK_TIME_LIMIT


def test_worker_refuses_a_pickled_message_and_keeps_working(celery_worker):
    _, log = celery_worker
    refused = ping.apply_async(serializer="pickle")
    wait_until(
        lambda: "untrusted content of type pickle" in log.read_text(errors="replace"),
        timeout=20,
        what="the worker to refuse the pickled message",
    )
    assert refused.state == "PENDING"  # it never ran
    assert ping.delay().get(timeout=30) == "pong"
