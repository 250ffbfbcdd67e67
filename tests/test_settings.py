"""Settings come from the environment; bad values and production mistakes stop the start."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import Env
from tests.support.processes import REPO, child_env

GOOD_SECRET = secrets.token_urlsafe(50)


def django_start(**env: str | None) -> subprocess.CompletedProcess[str]:
    """Start Django in a fresh interpreter with this environment, as a server would."""
    base = {
        "DJANGO_ENV": None,
        "DJANGO_DEBUG": None,
        "DJANGO_SECRET_KEY": None,
        "DJANGO_ALLOWED_HOSTS": None,
        "DATABASE_URL": None,
        "CELERY_BROKER_URL": None,
        "CELERY_RESULT_BACKEND": None,
        "CACHE_URL": None,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=child_env(**(base | env)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_boolean_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG must be one of"):
        Env({"DJANGO_DEBUG": "maybe"}).bool("DJANGO_DEBUG", default=False)


def test_a_number_below_its_minimum_is_refused():
    with pytest.raises(
        ImproperlyConfigured, match="CELERY_TASK_SOFT_TIME_LIMIT must be at least 1"
    ):
        Env({"CELERY_TASK_SOFT_TIME_LIMIT": "0"}).int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)


def test_a_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-the-file\n")
    env = Env({"DJANGO_SECRET_KEY_FILE": str(secret_file)})
    assert env.secret("DJANGO_SECRET_KEY") == "from-the-file"


def test_a_secret_given_twice_is_refused(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    env = Env({"DJANGO_SECRET_KEY": "two", "DJANGO_SECRET_KEY_FILE": str(secret_file)})
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.secret("DJANGO_SECRET_KEY")


def test_a_missing_secret_file_is_named(tmp_path):
    env = Env({"DJANGO_SECRET_KEY_FILE": str(tmp_path / "absent")})
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.secret("DJANGO_SECRET_KEY")


def test_production_refuses_every_laptop_default():
    result = django_start(DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_ENV=production refuses to start" in result.stderr
    for name in (
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
    ):
        assert name in result.stderr


def test_production_refuses_debug():
    result = django_start(
        DJANGO_ENV="production",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY=GOOD_SECRET,
        DJANGO_ALLOWED_HOSTS="report.example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/safe_report",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG is on" in result.stderr
    assert "DJANGO_SECRET_KEY" not in result.stderr


def test_production_starts_and_passes_deploy_checks_when_configured():
    env = child_env(
        DJANGO_ENV="production",
        DJANGO_DEBUG=None,
        DJANGO_SECRET_KEY=GOOD_SECRET,
        DJANGO_ALLOWED_HOSTS="report.example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/safe_report",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_checks_notice_a_site_without_csrf_protection(settings):
    from django.core import checks

    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "web.csrf.HiddenOriginCsrfViewMiddleware"
    ]
    errors = checks.run_checks(tags=[checks.Tags.security])
    assert "safe_report.E001" in [error.id for error in errors]


def test_a_malformed_database_url_is_explained():
    result = django_start(DATABASE_URL="nonsense://what")
    assert result.returncode != 0
    assert "DATABASE_URL is not a database URL Django knows" in result.stderr


def test_the_test_suite_refuses_to_run_on_sqlite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_layering.py"],
        cwd=REPO,
        env=child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3
    assert "the tests need PostgreSQL" in result.stdout + result.stderr


@pytest.mark.parametrize(("debug", "shown"), [(None, "False"), ("1", "True")])
def test_debug_pages_are_off_unless_a_developer_turns_them_on(debug, shown, tmp_path):
    # The demo (`make run`, nothing configured) shows the site's own error pages; a
    # developer can still ask for Django's.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import "
            "settings; print(settings.DEBUG, settings.DATABASES['default']['OPTIONS'])",
        ],
        cwd=REPO,
        env=child_env(
            DJANGO_ENV=None, DJANGO_DEBUG=debug, DATABASE_URL=None, VAR_DIR=str(tmp_path)
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1)[0] == shown
    # The embedded SQLite file waits for a busy writer instead of failing.
    assert "'transaction_mode': 'IMMEDIATE'" in result.stdout
    assert "journal_mode=WAL" in result.stdout
