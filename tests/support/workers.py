"""The suite on several processes (pytest-xdist: scripts/test.sh passes -n PYTEST_WORKERS).

Each worker process runs its tests beside the others', so whatever a test empties,
counts or listens to must be its worker's own.  Set here, in the environment each worker
starts with (before Django reads its settings), so that every test and every process a
test starts (gunicorn, Celery, manage.py) sees the same:

* the test database: pytest-django already names it per worker (test_..._gw0, _gw1);
* the cache: a Redis database per worker, the run's CACHE_URL database plus the worker's
  number (tests/conftest.py empties it before every test, and some tests read all of it);
* the Celery queue: the run's CELERY_TASK_DEFAULT_QUEUE plus the worker's name, consumed
  by that worker's own Celery worker (tests/conftest.py's ``celery_worker``).  The broker
  database is shared: messages stay in their queue, results are filed by task id;
* the temporary folder (TMPDIR): tests look for files the site left in it.

scripts/test.sh hands out whole modules (--dist loadfile): a module's tests run in order
on one worker, so a fixture built once per module (tests/test_demo_load.py's running demo)
is built once.  (--dist loadgroup, finer, groups nothing on pytest 9.2: the worker's
nodeid rewrite no longer takes, pytest-xdist issue 1386.)

Ports are always asked of the kernel (tests/support/processes.free_port), never fixed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

# redis.conf's default: databases 0 to 15.
REDIS_DATABASES = 16


def redis_database(url: str) -> int:
    path = urllib.parse.urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def on_database(url: str, number: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))


def same_server(one: str, other: str) -> bool:
    a, b = urllib.parse.urlsplit(one), urllib.parse.urlsplit(other)
    return (a.hostname, a.port or 6379) == (b.hostname, b.port or 6379)


def worker_environment(index: int, name: str, environ: dict[str, str]) -> dict[str, str]:
    """What worker number ``index`` (named ``name``, "gw0"...) changes in ``environ``."""
    env = {}
    cache = environ.get("CACHE_URL", "")
    if cache.startswith(("redis://", "rediss://")):
        number = redis_database(cache) + index
        if number >= REDIS_DATABASES:
            raise pytest.UsageError(
                f"worker {name} would need Redis database {number} for its cache "
                f"(CACHE_URL's database plus its number): run fewer workers "
                f"(PYTEST_WORKERS) or start the cache databases lower"
            )
        for setting in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
            other = environ.get(setting, "")
            shared = other.startswith("redis") and same_server(cache, other)
            if shared and redis_database(other) == number:
                raise pytest.UsageError(
                    f"worker {name}'s cache would be Redis database {number}, which is "
                    f"{setting}'s: the tests empty their cache before every test"
                )
        env["CACHE_URL"] = on_database(cache, number)
    queue = environ.get("CELERY_TASK_DEFAULT_QUEUE") or "safe-report"
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"{queue}-{name}"
    return env


_temporary_folders: list[Path] = []


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list) -> None:
    """In the controlling process, before it starts the workers: each one's environment."""
    for index, spec in enumerate(specs):
        name = spec.id or f"gw{index}"
        spec.env.update(worker_environment(index, name, dict(os.environ)))
        folder = Path(tempfile.mkdtemp(prefix=f"safe-report-tests-{name}-"))
        # Open to pass through, not to list: a private PostgreSQL cluster's folder below it
        # belongs to the "postgres" user (tests/support/processes.private_postgres).
        folder.chmod(0o711)
        _temporary_folders.append(folder)
        spec.env["TMPDIR"] = str(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _temporary_folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _own_services_per_worker() -> None:
    """A worker started without its own queue, cache and folder would share them."""
    name = os.environ.get("PYTEST_XDIST_WORKER")
    if not name:
        return
    from django.conf import settings

    if not settings.CELERY_TASK_DEFAULT_QUEUE.endswith(f"-{name}") or (
        f"-{name}-" not in tempfile.gettempdir()
    ):
        pytest.exit(
            f"xdist worker {name} runs without its own queue or temporary folder "
            "(tests/support/workers.py did not set them up)",
            returncode=3,
        )
