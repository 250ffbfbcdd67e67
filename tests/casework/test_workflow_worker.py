"""No report lost: the workflow on real processes (gunicorn, Redis, a Celery worker, beat,
an SMTP server) while Redis stops, a worker is killed, a message arrives twice.

Each test runs its own Redis, so stopping it disturbs nobody else, and files reports
over HTTP through gunicorn as a reporter's phone would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from casework.models import CASE_REFERENCE, Case, WorkflowStep
from config.celery import app
from reporting.models import Report
from tests.support.mailserver import Mailbox, smtp_server
from tests.support.processes import (
    celery_beat,
    celery_worker,
    child_env,
    gunicorn,
    private_redis,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = "workflow-drill"
ANSWERS = {
    "urgency": [],
    "category": "threats",
    "region": "casablanca_settat",
    "language": "fr",
    "age_band": "18_24",
    "services": ["listening"],
    "consent_share": True,
    "consent_statistics": False,
    "narrative": "Il m'écrit toutes les nuits depuis un nouveau compte.",
}


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    site: str
    redis_port: int
    redis: subprocess.Popen
    mailbox: Mailbox

    def file(self) -> dict:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.site}/api/reports/",
            data=json.dumps(ANSWERS).encode(),
            headers={"Content-Type": "application/json", "Accept-Language": "fr"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            assert response.status == 201
            return json.loads(response.read())

    def delivered_references(self) -> list[str]:
        """The case reference of each message the mail server took."""
        return [CASE_REFERENCE.search(subject)[0] for subject in self.mailbox.subjects()]


@contextmanager
def stack(tmp: Path, *, hold_first: bool = False, **settings: str) -> Iterator[Stack]:
    """gunicorn and beat on a private Redis, mail to a real SMTP server; no worker yet."""
    with ExitStack() as processes:
        redis_port, redis = processes.enter_context(private_redis(tmp))
        smtp_port, mailbox = processes.enter_context(smtp_server(hold_first=hold_first))
        broker = f"redis://127.0.0.1:{redis_port}/0"
        env = child_env(
            CELERY_BROKER_URL=broker,
            CELERY_RESULT_BACKEND=broker,
            CELERY_TASK_DEFAULT_QUEUE=QUEUE,
            # One Redis for everything, as in production: when it dies, the rate limits'
            # counters die with the broker, and must let her report through.
            CACHE_URL=f"redis://127.0.0.1:{redis_port}/1",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            EVIDENCE_RECEIPT_WORK_FACTOR="10",
            # Emails after her acts wait for the full hour in production; here the
            # pipeline is under test (tests/casework/test_workflow.py tests the hour).
            CASEWORK_NOTIFY_ON_THE_HOUR="false",
            EVIDENCE_BLOB_ROOT=str(tmp / "blobs"),
            VAR_DIR=str(tmp / "var"),
            **settings,
        )
        site = processes.enter_context(gunicorn(env, tmp))
        processes.enter_context(celery_beat(env, tmp))
        yield Stack(tmp, env, site, redis_port, redis, mailbox)


@pytest.fixture
def organisation(cast):
    """Association A holds a key and serves Casablanca-Settat (tests/support/cast.py)."""
    return cast.orgs["association"]


def test_reports_filed_while_redis_is_down_are_all_kept_and_routed_when_it_returns(
    organisation, tmp_path
):
    with (
        stack(tmp_path) as site,
        celery_worker(site.env, tmp_path, queue=QUEUE),  # up all along, like beat
    ):
        site.redis.kill()  # as a crash would
        site.redis.wait()
        started = time.monotonic()
        receipts = [site.file() for _ in range(50)]
        filing_seconds = time.monotonic() - started

        # All 50 stored, each with its case in a queue and its notification step.
        assert len({r["receipt_code"] for r in receipts}) == 50
        assert Report.objects.count() == 50
        assert Case.objects.count() == 50  # 40 at the association (its capacity), 10 at N
        assert WorkflowStep.objects.filter(kind="new_case", state="pending").count() == 50
        assert filing_seconds < 25, "filing must not wait on the broker"

        with private_redis(tmp_path, port=site.redis_port):
            back = time.monotonic()
            wait_until(lambda: len(site.mailbox.accepted) >= 50, timeout=90, what="50 emails")
            routed_within = time.monotonic() - back
            wait_until(lambda: not WorkflowStep.objects.exists(), timeout=10, what="no step")
    references = sorted(site.delivered_references())
    expected = sorted(case.reference for case in Case.objects.all())
    assert references == expected  # every case announced, and each once
    print(f"50 filed in {filing_seconds:.1f}s without Redis; all told {routed_within:.1f}s after")
    assert routed_within < 60, f"routed {routed_within:.0f}s after Redis came back"


def test_a_worker_killed_in_the_middle_of_a_step_leaves_it_done_exactly_once(
    organisation, tmp_path
):
    with stack(
        tmp_path,
        hold_first=True,
        CASEWORK_STEP_LEASE_SECONDS="5",
        CASEWORK_OUTBOX_SWEEP_SECONDS="2",
    ) as site:
        with celery_worker(site.env, tmp_path, queue=QUEUE, name="first") as (_, first_log):
            site.file()
            # The worker has claimed the step and is talking to the mail server.
            assert site.mailbox.holding.wait(30), first_log.read_text()
            step = WorkflowStep.objects.get()
            assert step.state == "running"
            pid = int((tmp_path / "first.pid").read_text())
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), timeout=10, what="the worker to die")
        site.mailbox.release.set()  # the dead worker's mail transaction never completes
        assert site.mailbox.accepted == []

        with celery_worker(site.env, tmp_path, queue=QUEUE, name="second"):
            wait_until(lambda: site.mailbox.accepted, timeout=60, what="the step to run again")
            # Long enough for another lease and several sweeps to pass: nothing more.
            time.sleep(8)
        assert len(site.mailbox.accepted) == 1
        assert site.delivered_references() == [Case.objects.get().reference]
        assert not WorkflowStep.objects.exists()


def test_the_same_task_delivered_twice_makes_one_case_and_one_notification(organisation, tmp_path):
    with stack(tmp_path) as site:
        site.file()  # no worker yet: its message waits in Redis
        step = WorkflowStep.objects.get()
        broker = site.env["CELERY_BROKER_URL"]
        with app.connection_for_write(broker) as connection:
            app.send_task(
                "casework.tasks.run_step", args=[step.pk], queue=QUEUE, connection=connection
            )
        with celery_worker(site.env, tmp_path, queue=QUEUE, concurrency=2) as (_, log):
            wait_until(
                lambda: log.read_text().count("succeeded in") >= 2,
                timeout=60,
                what="both deliveries to run",
            )
        text = log.read_text()
        assert text.count("'done'") == 1
        assert text.count("'skipped'") == 1
        assert Case.objects.count() == 1
        assert len(site.mailbox.accepted) == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("zombie") == -1
