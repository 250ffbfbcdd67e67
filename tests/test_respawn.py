"""make run keeps going when a Celery process dies: the Procfile starts the worker, beat
and the bundle builder through scripts/respawn.sh, which starts a command again after it
exits, and stops when honcho (or Ctrl-C) stops it.

Why: honcho stops every process when one exits, and kombu 5.7.0's worker exits when Redis
goes away (docs/BENCHMARKS.md, the redis-down drill) — a laptop demo would lose its web
server with it.  The crash here is a stand-in that exits the same way (status 1), so the
test does not depend on kombu's race.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.deploy import recipe
from tests.support.processes import REPO, wait_until

RESPAWN = REPO / "scripts" / "respawn.sh"
# Exits with status 1 the first time (as the worker does when kombu's bug hits), then
# stays up: each start leaves a line in starts.txt, and the process that stays, its pid.
CRASHES_ONCE = """#!/bin/sh
echo started >> starts.txt
if [ ! -e crashed ]; then touch crashed; echo 'Unrecoverable error' >&2; exit 1; fi
echo $$ > up.pid
exec sleep 300
"""


def crashes_once(tmp: Path) -> Path:
    script = tmp / "crashes-once.sh"
    script.write_text(CRASHES_ONCE)
    script.chmod(0o755)
    return script


def starts(tmp: Path) -> int:
    path = tmp / "starts.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_procfiles_celery_processes_run_under_the_respawn_wrapper():
    lines = dict(
        line.split(":", 1) for line in (REPO / "Procfile").read_text().splitlines() if line.strip()
    )
    for name in ("worker", "beat", "bundles"):
        assert lines[name].split()[0] == "scripts/respawn.sh", name
    assert os.access(RESPAWN, os.X_OK)
    # The units and compose supervise on their own, with the same commands.
    assert recipe.procfile()["worker"][0] == ".venv/bin/celery"


def test_a_command_that_crashes_is_started_again_and_stops_with_the_wrapper(tmp_path):
    env = dict(os.environ, RESPAWN_DELAY="1")
    log = tmp_path / "respawn.log"
    with log.open("wb") as out:
        wrapper = subprocess.Popen(
            [str(RESPAWN), str(crashes_once(tmp_path))],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: starts(tmp_path) == 2, timeout=30, what="the second start")
        assert wrapper.poll() is None
        said = log.read_text()
        assert "crashes-once.sh' exited with status 1; starting it again in 1 s" in said

        # TERM to the wrapper alone (honcho signals the group; this is the harder case):
        # it passes the signal on, waits for the command, and does not start it again.
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=15) == 0
        assert starts(tmp_path) == 2
        assert "status 143" not in log.read_text()
        wait_until(
            lambda: not alive(int((tmp_path / "up.pid").read_text())),
            timeout=10,
            what="the command to be gone",
        )
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
            wrapper.wait()


def test_under_honcho_a_crashed_process_comes_back_and_the_others_keep_running(tmp_path):
    """make run's own path: honcho with a Procfile, one process crashing once."""
    script = crashes_once(tmp_path)
    (tmp_path / "Procfile").write_text(
        f"crashy: {RESPAWN} {script}\nsteady: echo $$ > steady.pid; exec sleep 300\n"
    )
    honcho = Path(sys.executable).parent / "honcho"
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        manager = subprocess.Popen(
            [str(honcho), "--no-colour", "start"],
            cwd=tmp_path,
            env=dict(os.environ, RESPAWN_DELAY="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: starts(tmp_path) == 2, timeout=30, what="the crashed process again")
        assert manager.poll() is None, log.read_text()
        assert "sending SIGTERM" not in log.read_text()
        assert alive(int((tmp_path / "steady.pid").read_text()))

        # Ctrl-C: honcho stops everything, the wrapper included, and nothing starts again.
        manager.send_signal(signal.SIGINT)
        manager.wait(timeout=20)
        assert starts(tmp_path) == 2
        for name in ("up.pid", "steady.pid"):
            pid = int((tmp_path / name).read_text())
            wait_until(lambda p=pid: not alive(p), timeout=10, what=f"{name} to be gone")
    finally:
        if manager.poll() is None:
            os.killpg(manager.pid, signal.SIGKILL)
            manager.wait()
