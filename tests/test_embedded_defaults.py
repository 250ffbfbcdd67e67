"""With nothing configured, `make run`'s stack works: SQLite and a filesystem broker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import REPO, celery_worker, child_env

pytestmark = pytest.mark.worker


def test_embedded_defaults_carry_a_task_through_a_real_worker(tmp_path):
    env = child_env(
        VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=None,
        CELERY_BROKER_URL=None,
        CELERY_RESULT_BACKEND=None,
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "var" / "db.sqlite3").stat().st_size > 0

    with celery_worker(env, tmp_path, queue=env["CELERY_TASK_DEFAULT_QUEUE"]):
        sent = subprocess.run(
            [
                sys.executable,
                "-c",
                "from config.celery import ping; print(ping.delay().get(timeout=30))",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "pong"
    # The broker's files all live under var/; nothing lands in the working tree.
    assert (tmp_path / "var" / "celery" / "control").is_dir()
    assert not (REPO / "control").exists()
