from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, sync_playwright

from tests.support.processes import CHROMIUM, CHROMIUM_ARGS, child_env
from tests.support.processes import celery_worker as start_celery_worker

# Fixtures kept in modules of their own, for every test.
# tests.support.workers: what each pytest-xdist worker must have of its own.
pytest_plugins = ["tests.support.neutral", "tests.support.workers"]

# Playwright's sync API runs an event loop in the test thread; Django would then refuse
# ORM calls made by the live server's fixtures from that thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _real_services() -> None:
    """The suite runs on PostgreSQL and Redis or not at all; never on a stand-in."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("the tests need PostgreSQL: set DATABASE_URL (make test does)", returncode=3)
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.exit("the tests need Redis: set CELERY_BROKER_URL (make test does)", returncode=3)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """The test database as production has it after its migrate step: migrated by the
    role that owns it (pytest-django, as DATABASE_URL's role), then the site's own role
    granted on it by manage.py grant_site_role, which logs in as that role to check it.
    Every process the tests start connects as the site's role (tests/support/processes.py)."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from tests.support.processes import site_database_url, test_database_url

    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no collected test uses the database, so pytest-django made none
    site = {"DATABASE_OWNER_URL": test_database_url(), "DATABASE_URL": site_database_url()}
    with django_db_blocker.unblock(), override_settings(**site):
        call_command("grant_site_role", create=True, stdout=io.StringIO())


@pytest.fixture(autouse=True)
def blob_root(settings, tmp_path_factory) -> Path:
    """Each test seals into a blob store, and keeps local files, of its own."""
    root = tmp_path_factory.mktemp("blobs")
    settings.EVIDENCE_BLOB_ROOT = root
    settings.VAR_DIR = tmp_path_factory.mktemp("var")
    settings.EVIDENCE_SIGNING_KEY_FILE = settings.VAR_DIR / "signing-key.pem"
    return root


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Counters (the receipt-attempt limits) start at zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the site's default language (French), as in a fresh process.
    Django's locale middleware leaves the language of the last page a test client asked
    for active in the thread; on several xdist workers the test that ran before is not
    always the same one, so a test must not inherit it."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def same_minute() -> None:
    """Limits count in windows of the clock (a minute, a quarter of an hour, an hour),
    which all turn on a minute: start a test that fills one just after a minute turns,
    so that its requests cannot straddle two windows."""
    if time.time() % 60 > 45:
        time.sleep(60.5 - time.time() % 60)


@pytest.fixture(autouse=True)
def _cheap_key_stretching(settings) -> None:
    # Key stretching costs are parameters, not behaviour: scrypt at 2^10 instead of 2^17
    # and a light Argon2 keep each set_password() at milliseconds.  The production values
    # are in settings.py.
    settings.EVIDENCE_MEMBER_WORK_FACTOR = 10
    settings.EVIDENCE_RECEIPT_WORK_FACTOR = 10
    settings.PASSWORD_HASHERS = ["tests.support.hashers.CheapArgon2PasswordHasher"]


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """One real worker for the session, on the test database and this run's queue."""
    tmp = tmp_path_factory.mktemp("worker")
    with start_celery_worker(child_env(), tmp, queue=settings.CELERY_TASK_DEFAULT_QUEUE) as worker:
        yield worker


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def cast(db):
    """Alice, her colleagues, an outsider, a lawyer, a coordinator (tests/support/cast.py)."""
    from tests.support.cast import make_cast

    return make_cast()


@pytest.fixture
def admin_user(db):
    """The platform operator, with a confirmed authenticator like every staff account."""
    from tests.support.cast import confirmed_device, new_user

    operator = new_user("operator")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    confirmed_device(operator)
    return operator


@pytest.fixture
def admin_client(admin_user):
    """The operator signed in through the staff sign-in, second factor passed."""
    from tests.support.cast import signed_in_client

    return signed_in_client(admin_user)
