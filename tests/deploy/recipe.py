"""Read the deployment recipe (deploy/) the way systemd, compose and the shell read it."""

from __future__ import annotations

import re
import secrets
import shlex
from collections import defaultdict
from pathlib import Path

import yaml
from django.conf import settings

from evidence import age
from tests.support.processes import REPO, child_env

DEPLOY = REPO / "deploy"
UNITS = DEPLOY / "systemd"
APP = "/srv/safe-report/app"  # where docs/DEPLOY.md installs the code
ENV_EXAMPLE = DEPLOY / "safe-report.env.example"


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> every value given, in order (systemd keeps
    repeated keys such as ExecStart= and SystemCallFilter=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], defaultdict(list))
            continue
        assert current is not None, f"{name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not a key=value line: {line!r}"
        current[key.strip()].append(value.strip())
    return sections


def last(section: dict[str, list[str]], key: str) -> str | None:
    """The value systemd uses for a single-valued key: the last one given."""
    values = section.get(key)
    return values[-1] if values else None


def command(line: str) -> list[str]:
    """An ExecStart= line as the argv systemd runs: split like a shell, with "%%" the
    only specifier allowed (it stands for a literal "%")."""
    argv = shlex.split(line)
    for word in argv:
        assert not re.search(r"%[^%]", word.replace("%%", "")), f"systemd specifier in {word!r}"
    return [word.replace("%%", "%") for word in argv]


def program(argv: list[str]) -> list[str]:
    """The argv with the program named by its base name (".venv/bin/celery" -> "celery")."""
    return [Path(argv[0]).name, *argv[1:]]


def in_checkout(argv: list[str]) -> list[str]:
    """A unit's argv run from this checkout instead of /srv/safe-report/app."""
    return [word.replace(APP, str(REPO), 1) if word.startswith(APP) else word for word in argv]


def procfile() -> dict[str, list[str]]:
    """The Procfile's commands, without make run's supervisor (scripts/respawn.sh): the
    units and compose restart the processes themselves."""
    processes = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, text = line.partition(":")
            argv = shlex.split(text)
            processes[name.strip()] = argv[1:] if argv[0] == "scripts/respawn.sh" else argv
    return processes


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, line
            assert name == name.strip(), line
            assert value == value.strip(), line
            values[name] = value
    return values


def production_settings(tmp: Path, **overrides: str) -> dict[str, str]:
    """The example env file as an operator fills it in, pointed at the test's database,
    Redis and folders: DJANGO_ENV=production settings for the project's processes."""
    values = env_example()
    redis = settings.CELERY_BROKER_URL
    values.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=child_env()["DATABASE_URL"],  # the test database
        EVIDENCE_RECOVERY_RECIPIENT=str(age.X25519Identity.generate().recipient),
        CELERY_BROKER_URL=redis,
        CELERY_RESULT_BACKEND=redis,
        CACHE_URL=settings.CACHE_URL or redis,
        VAR_DIR=str(tmp / "var"),
        EVIDENCE_BLOB_ROOT=str(tmp / "var" / "blobs"),
        EVIDENCE_SIGNING_KEY_FILE=str(tmp / "var" / "signing-key.pem"),
        BACKUP_DIR=str(tmp / "backups"),
        # A queue of this test's own on the shared Redis (scripts/test.sh does the same).
        CELERY_TASK_DEFAULT_QUEUE=f"{settings.CELERY_TASK_DEFAULT_QUEUE}-deploy",
        # The test's cheap key stretching (tests/conftest.py): a parameter, not behaviour.
        EVIDENCE_RECEIPT_WORK_FACTOR="10",
        EVIDENCE_MEMBER_WORK_FACTOR="10",
    )
    values.update(overrides)
    (tmp / "var" / "blobs").mkdir(parents=True, exist_ok=True)
    return values


def production_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """This process's environment with the production settings on top."""
    unset = {name: None for name in ("DJANGO_DEBUG", "DATABASE_URL_FILE", "GUNICORN_ACCESS_LOG")}
    return child_env(**unset, **production_settings(tmp, **overrides))
