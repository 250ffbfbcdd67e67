"""Start the project's real processes (gunicorn, a Celery worker, a private Redis) for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"gave up after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_database_url() -> str:
    """The URL of the database pytest-django created (its name starts with test_)."""
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def child_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; None removes a variable."""
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    # Only the test process needs this (see conftest.py); a server must never have it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextmanager
def running(argv: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def private_redis(tmp: Path, *, port: int | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """A Redis of this test's own, so that stopping it disturbs nobody else.  Give the
    port of one stopped earlier to bring "the same" Redis back (empty, as after a crash
    of a Redis that keeps nothing on disk)."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (make test installs it)"
    port = port or free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with running(argv, env=dict(os.environ), log=tmp / f"redis-{port}.log") as proc:
        wait_until(lambda: port_open(port), timeout=10, what="the private Redis")
        yield port, proc


@contextmanager
def gunicorn(env: dict[str, str], tmp: Path) -> Iterator[str]:
    """The production WSGI server on a free port; yields its base URL."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi:application",
    ]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"]
    with running(argv, env=env, log=tmp / "gunicorn.log") as proc:
        wait_until(lambda: proc.poll() is not None or port_open(port), timeout=30, what="gunicorn")
        assert proc.poll() is None, (tmp / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def celery_worker(
    env: dict[str, str], tmp: Path, *, queue: str, concurrency: int = 0, name: str = "worker"
) -> Iterator[tuple[str, Path]]:
    """A real worker process consuming ``queue``; yields its hostname and log path.
    One process (solo pool) unless ``concurrency`` asks for a prefork pool."""
    hostname = f"pytest-{os.getpid()}-{free_port()}@localhost"
    log = tmp / f"{name}.log"
    pool = ["--pool=prefork", f"--concurrency={concurrency}"] if concurrency else ["--pool=solo"]
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", *pool]
    argv += ["--hostname", hostname, "--queues", queue, "--loglevel=INFO"]
    argv += ["--without-mingle", "--without-gossip", "--pidfile", str(tmp / f"{name}.pid")]
    with running(argv, env=env, log=log) as proc:
        wait_until(
            lambda: proc.poll() is not None or "ready." in log.read_text(errors="replace"),
            timeout=60,
            what="the Celery worker",
        )
        assert proc.poll() is None, log.read_text()
        yield hostname, log


@contextmanager
def celery_beat(env: dict[str, str], tmp: Path) -> Iterator[Path]:
    """The real beat process (config/settings.py's schedule); yields its log path."""
    log = tmp / "beat.log"
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    argv += ["--schedule", str(tmp / "beat-schedule")]
    with running(argv, env=env, log=log) as proc:
        wait_until(
            lambda: proc.poll() is not None or "beat: Starting" in log.read_text(errors="replace"),
            timeout=60,
            what="Celery beat",
        )
        assert proc.poll() is None, log.read_text()
        yield log


def database_dump() -> str:
    """Everything in the test database, as a copy of it would hold (pg_dump, data only)."""
    db = settings.DATABASES["default"]
    argv = [
        "pg_dump",
        "--data-only",
        "-h",
        db["HOST"] or "127.0.0.1",
        "-p",
        str(db["PORT"] or 5432),
    ]
    argv += ["-U", db["USER"], db["NAME"]]
    return subprocess.run(
        argv,
        capture_output=True,
        env={"PGPASSWORD": db["PASSWORD"] or ""},
        check=True,
        timeout=120,
        text=True,
        errors="replace",
    ).stdout
