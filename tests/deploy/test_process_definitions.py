"""The systemd units and the compose file run every process of the Procfile, hardened,
with commands that start the real thing.

The Procfile is what `make run` starts and what the tests exercise; a production recipe
that drifts from it (a renamed option, a forgotten bundle builder, a queue left out) fails
only on the day someone installs it.  So these read deploy/ as systemd and compose do,
and start the units' own command lines with the example env file filled in.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from casework.models import BundleBuilder
from config.celery import app as celery_app
from tests.deploy import recipe
from tests.support import processes
from tests.support.processes import REPO, free_port, running, wait_until

SERVICES = sorted(path.name for path in recipe.UNITS.glob("*.service"))
LONG_RUNNING = ["web", "worker", "beat", "bundles"]
# The only places a unit may write: VAR_DIR and the blob store, the backups, and the
# static files collectstatic copies for nginx.
WRITABLE = {"/var/lib/safe-report", "/var/backups/safe-report", f"{recipe.APP}/staticfiles"}
GUNICORN = ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi"]


def exec_start(name: str) -> list[list[str]]:
    return [recipe.command(line) for line in recipe.unit(name)["Service"]["ExecStart"]]


def under(path: str, folders: list[str]) -> bool:
    return any(Path(path).is_relative_to(folder) for folder in folders)


def test_every_procfile_process_runs_under_systemd_and_compose_with_its_command():
    target = recipe.unit("safe-report.target")["Unit"]["Wants"][0].split()
    services = recipe.compose()["services"]

    for name, argv in recipe.procfile().items():
        # The Procfile's web is Django's development server; production runs gunicorn.
        expected = GUNICORN if name == "web" else recipe.program(argv)
        unit_name = f"safe-report-{name}.service"
        (start,) = exec_start(unit_name)
        assert recipe.program(start) == expected, unit_name
        assert start[0] == f"{recipe.APP}/.venv/bin/{expected[0]}", unit_name
        assert (REPO / ".venv" / "bin" / expected[0]).exists()
        assert unit_name in target
        assert recipe.unit(unit_name)["Install"]["WantedBy"] == ["safe-report.target"]
        assert services[name]["command"] == expected, f"compose service {name}"

    # The bundle builder is one process with its key in memory (docs/BUNDLES.md).
    (bundles,) = exec_start("safe-report-bundles.service")
    assert " --queues bundles --pool=solo --hostname bundles@%h" in " ".join(bundles)


def test_migrations_and_static_files_come_before_every_process():
    migrate = recipe.unit("safe-report-migrate.service")
    steps = [recipe.program(recipe.command(line)) for line in migrate["Service"]["ExecStart"]]
    assert steps == [
        ["python", "manage.py", "migrate", "--noinput"],
        # As the owner still: the site's role gets its rights after every migration.
        ["python", "manage.py", "grant_site_role"],
        ["python", "manage.py", "collectstatic", "--noinput"],
    ]
    assert recipe.last(migrate["Service"], "Type") == "oneshot"
    assert recipe.last(migrate["Service"], "RemainAfterExit") == "yes"
    # nginx (www-data) reads what collectstatic writes.
    assert recipe.last(migrate["Service"], "UMask") == "0022"
    for name in LONG_RUNNING:
        unit = recipe.unit(f"safe-report-{name}.service")["Unit"]
        assert "safe-report-migrate.service" in unit["Requires"][0].split()
        assert "safe-report-migrate.service" in unit["After"][0].split()
    compose = recipe.compose()["services"]
    # compose's owner is the postgres image's superuser, which makes the site's role.
    compose_steps = [[*s, "--create"] if "grant_site_role" in s else s for s in steps]
    assert compose["migrate"]["command"][-1] == " && ".join(
        " ".join(step)
        for step in [
            ["python", "manage.py", "check", "--deploy"],
            *compose_steps,
        ]
    )
    for name in LONG_RUNNING:
        assert compose[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_only_the_migrate_step_connects_as_the_owner_of_the_tables():
    """The owner can truncate the audit log and drop its trigger: its URL reaches the
    migrate step alone, from a file only root reads (systemd hands it over as a
    credential); the site's processes connect as a role of their own."""
    for name in SERVICES:
        service = recipe.unit(name)["Service"]
        owner = [v for v in service.get("Environment", []) if "%d/database-owner-url" in v]
        credentials = service.get("LoadCredential", [])
        if name == "safe-report-migrate.service":
            assert owner == ["DATABASE_OWNER_URL_FILE=%d/database-owner-url"]
        elif name == "safe-report-restore-drill.service":
            # It creates and fills a scratch database, as the owner (CREATEDB).
            assert owner == ["DATABASE_URL_FILE=%d/database-owner-url"]
            assert service["UnsetEnvironment"] == ["DATABASE_URL"]
        else:
            assert (owner, credentials) == ([], []), name
            continue
        assert credentials == ["database-owner-url:/etc/safe-report/database-owner-url"]
    assert not [name for name in recipe.env_example() if name.startswith("DATABASE_OWNER")]

    services = recipe.compose()["services"]
    site_url = services["web"]["environment"]["DATABASE_URL"]
    owner_url = services["migrate"]["environment"]["DATABASE_OWNER_URL"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    assert owner_url.startswith(f"postgres://{owner}:")
    assert not site_url.startswith(f"postgres://{owner}:")
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert ("DATABASE_OWNER_URL" in environment) == (name == "migrate"), name
        # The restore drill creates and fills a scratch database: the owner's work.
        if name not in ("postgres", "redis", "nginx", "restore-drill"):
            assert environment["DATABASE_URL"] == site_url, name


@pytest.mark.parametrize("name", SERVICES)
def test_every_unit_runs_unprivileged_and_confined(name):
    service = recipe.unit(name)["Service"]
    env = recipe.env_example()

    assert recipe.last(service, "User") == recipe.last(service, "Group") == "safereport"
    assert service["EnvironmentFile"] == ["/etc/safe-report/safe-report.env"]
    assert recipe.last(service, "WorkingDirectory") == recipe.APP
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictSUIDSGID": "yes",
        "LimitCORE": "0",
        "SystemCallFilter": "@system-service",
    }.items():
        assert recipe.last(service, key) == value, f"{name}: {key}"
    assert recipe.last(service, "UMask") == ("0022" if "migrate" in name else "0077")
    writable = " ".join(service.get("ReadWritePaths", [])).split()
    assert set(writable) <= WRITABLE, name
    if name.removeprefix("safe-report-").removesuffix(".service") in LONG_RUNNING:
        for setting in ("VAR_DIR", "EVIDENCE_BLOB_ROOT", "EVIDENCE_SIGNING_KEY_FILE"):
            assert under(env[setting], writable), f"{name} cannot write {setting}"
    if "backup" in name or "drill" in name:
        assert writable == [env["BACKUP_DIR"]]
        (script,) = exec_start(name)
        assert os.access(recipe.in_checkout(script)[0], os.X_OK)


def test_the_example_env_file_sets_production_and_only_real_settings():
    env = recipe.env_example()
    documented = (REPO / "docs" / "CONFIGURATION.md").read_text()

    assert env["DJANGO_ENV"] == "production"
    assert env["DJANGO_BEHIND_TLS_PROXY"] == "true"
    for name in env:
        # BACKUP_* are read by deploy/backup.sh; everything else by the site.
        assert f"`{name}`" in documented or name.startswith(("BACKUP_", "GUNICORN_")), name
    assert "GUNICORN_ACCESS_LOG" not in env  # no access log: a dated line dates her filing


def test_systemd_accepts_the_unit_files(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is not installed (Debian's systemd package)"
    # A root with the units installed where docs/DEPLOY.md puts them, the programs they
    # start, and the system's own units for the targets they name.
    root = tmp_path / "root"
    shutil.copytree("/lib/systemd/system", root / "lib/systemd/system", symlinks=True)
    shutil.copytree(recipe.UNITS, root / "etc/systemd/system")
    (root / "etc/safe-report").mkdir(parents=True)
    shutil.copy(recipe.ENV_EXAMPLE, root / "etc/safe-report/safe-report.env")
    for name in ("gunicorn", "celery", "python"):
        stub = root / f"{recipe.APP[1:]}/.venv/bin/{name}"
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    shutil.copytree(recipe.DEPLOY, root / f"{recipe.APP[1:]}/deploy")
    (root / "bin").mkdir()
    shutil.copy("/bin/kill", root / "bin/kill")
    units = sorted(p.name for p in recipe.UNITS.iterdir())

    done = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", *units],
        cwd=root / "etc/systemd/system",
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.django_db(transaction=True)
def test_the_units_commands_start_the_site_worker_beat_and_bundle_builder(tmp_path):
    port = free_port()
    env = recipe.production_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}")
    # systemd's side of Type=notify: gunicorn must say READY=1 on this socket.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    logs = {}
    with ExitStack() as stack:
        stack.callback(notify.close)
        for name in LONG_RUNNING:
            (argv,) = exec_start(f"safe-report-{name}.service")
            logs[name] = tmp_path / f"{name}.log"
            extra = {"NOTIFY_SOCKET": str(tmp_path / "notify")} if name == "web" else {}
            stack.enter_context(
                running(recipe.in_checkout(argv), env={**env, **extra}, log=logs[name])
            )

        assert notify.recv(256).startswith(b"READY=1")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz",
            headers={"Host": "report.example.org", "X-Forwarded-Proto": "https"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            assert json.loads(response.read())["status"] == "ok"

        def started(name: str, line: str) -> bool:
            return line in logs[name].read_text(errors="replace")

        wait_until(lambda: started("worker", "ready."), timeout=60, what="the worker")
        ping = celery_app.send_task("config.ping", queue=env["CELERY_TASK_DEFAULT_QUEUE"])
        assert ping.get(timeout=30) == "pong"
        wait_until(lambda: started("beat", "beat: Starting"), timeout=60, what="beat")
        assert list(Path(env["VAR_DIR"]).glob("celerybeat-schedule*"))  # under VAR_DIR
        wait_until(
            lambda: BundleBuilder.objects.filter(name__startswith="bundles@").exists(),
            timeout=60,
            what="the bundle builder to say it is alive",
        )
        assert BundleBuilder.objects.get().name == f"bundles@{socket.gethostname()}"


@pytest.mark.django_db(transaction=True)
def test_the_migrate_unit_checks_and_migrates_with_the_example_settings(tmp_path):
    service = recipe.unit("safe-report-migrate.service")["Service"]
    # The credential systemd would hand over: the owner's URL, of the test database.
    credential = tmp_path / "credentials" / "database-owner-url"
    credential.parent.mkdir()
    credential.write_text(processes.test_database_url() + "\n")
    env = recipe.production_env(
        tmp_path, DATABASE_OWNER_URL_FILE=str(credential), DATABASE_OWNER_URL=None
    )
    steps = [recipe.command(line) for line in service["ExecStartPre"] + service["ExecStart"]]

    for argv in steps:
        # collectstatic would write into this checkout's staticfiles/: ask it what it
        # would copy instead.
        extra = ["--dry-run"] if "collectstatic" in argv else []
        done = subprocess.run(
            recipe.in_checkout(argv) + extra,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
        if "check" in argv:
            assert "System check identified no issues" in done.stdout
        if "collectstatic" in argv:
            assert "static files copied" in done.stdout
        if "grant_site_role" in argv:
            assert f"checked as {processes.SITE_ROLE}: it can append" in done.stdout


@pytest.mark.django_db(transaction=True)
def test_manage_sh_runs_commands_with_the_env_file_taken_literally(tmp_path):
    password = "pa$word;with`odd'chars\""  # a shell would expand or choke on these
    values = recipe.production_settings(tmp_path, EMAIL_HOST_PASSWORD=password)
    env_file = tmp_path / "safe-report.env"
    env_file.write_text("# comment\n\n" + "".join(f"{k}={v}\n" for k, v in values.items()))
    program = "from django.conf import settings; print(settings.EMAIL_HOST_PASSWORD)"

    done = subprocess.run(
        [str(recipe.DEPLOY / "manage.sh"), "shell", "-c", program],
        env=dict(
            os.environ,
            SAFE_REPORT_ENV_FILE=str(env_file),
            SAFE_REPORT_USER=getpass.getuser(),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == password
