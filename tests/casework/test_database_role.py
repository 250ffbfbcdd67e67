"""The site's processes connect as a database role that can append to the audit log and
nothing more on it: not update, delete or truncate it, not alter the table nor drop or
disable its trigger.  Migrations run as the role that owns the tables, which then grants
the site's role its rights (manage.py grant_site_role); tests/conftest.py does the same
to the test database, and every gunicorn, Celery or manage.py process the suite starts
connects as that role (tests/support/processes.child_env)."""

from __future__ import annotations

import io

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction
from django.test import override_settings

from casework import audit, services
from casework.models import AuditEvent, Case
from tests.support import processes
from tests.support.cast import file_report
from tests.support.processes import SITE_ROLE, site_database_url

pytestmark = pytest.mark.django_db

INSERT_A_ROW = """
INSERT INTO casework_auditevent (seq, at, actor, action, detail, prev_hash, hash)
VALUES (-1, now(), 'site', 'test.append', '{}', repeat('0', 64), repeat('0', 64))
RETURNING id
"""
# Each what someone with the site's credentials (an injected query, a stolen env file)
# would try to rewrite history with, and the words PostgreSQL refuses it with.
REWRITES = {
    "UPDATE casework_auditevent SET actor = 'nobody'": "permission denied",
    "DELETE FROM casework_auditevent": "permission denied",
    "TRUNCATE casework_auditevent": "permission denied",
    "ALTER TABLE casework_auditevent DISABLE TRIGGER casework_auditevent_append_only": (
        "must be owner"
    ),
    "DROP TRIGGER casework_auditevent_append_only ON casework_auditevent": "must be owner",
    "ALTER TABLE casework_auditevent OWNER TO CURRENT_USER": "must be owner",
    "DROP TABLE casework_auditevent": "must be owner",
    "CREATE TABLE casework_auditevent_copy (LIKE casework_auditevent)": "permission denied",
    "SET session_replication_role = replica": "permission denied",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('casework', 'x', now())": (
        "permission denied"
    ),
}


@pytest.fixture
def as_site():
    """A connection of its own, logged in as the site's role, on the test database; all it
    does is rolled back."""
    site = psycopg2.connect(site_database_url(), connect_timeout=10)
    with site.cursor() as cursor:
        # Never wait on a lock the test's own transaction holds: a refusal comes first.
        cursor.execute("SET lock_timeout = '5s'")
    try:
        yield site
    finally:
        site.rollback()
        site.close()


def test_the_site_role_appends_to_the_audit_log_and_is_refused_every_rewrite(as_site):
    with as_site.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (SITE_ROLE,)
        cursor.execute(INSERT_A_ROW)  # its key from the table's sequence: nextval works
        cursor.execute("SELECT count(*) FROM casework_auditevent WHERE seq = -1")
        assert cursor.fetchone() == (1,)

        refused = {}
        for statement, words in REWRITES.items():
            cursor.execute("SAVEPOINT attempt")
            with pytest.raises(psycopg2.Error) as error:
                cursor.execute(statement)
            cursor.execute("ROLLBACK TO SAVEPOINT attempt")
            refused[statement] = words in str(error.value)
        assert refused == dict.fromkeys(REWRITES, True)

        cursor.execute("SELECT count(*) FROM casework_auditevent WHERE seq = -1")
        assert cursor.fetchone() == (1,)  # still there after every attempt


def test_the_site_role_still_does_the_sites_work(cast):
    """Filing, a caseworker's acts and their audit rows, under the site's role's rights
    (SET ROLE: the same privilege checks as a login, inside the test's transaction)."""
    alice = cast.users["alice"]
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {SITE_ROLE}")
        report, _ = file_report()
        services.assign_case(report.case, alice, actor=alice)
        services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=alice)
        services.add_note(report.case, "Appelé la plateforme", actor=alice)
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (SITE_ROLE,)

    assert Case.objects.get(pk=report.case.pk).status == Case.Status.ACKNOWLEDGED
    assert audit.verify() == (AuditEvent.objects.count(), None)
    with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_grants_refuse_a_site_that_would_connect_as_the_owner(db):
    owner = {
        "DATABASE_OWNER_URL": processes.test_database_url(),
        "DATABASE_URL": processes.test_database_url(),
    }
    with override_settings(**owner), pytest.raises(CommandError, match="owns the tables"):
        call_command("grant_site_role", stdout=io.StringIO())
    # Without an owner's URL the process is the site itself, which cannot grant.
    with (
        override_settings(DATABASE_OWNER_URL=None),
        pytest.raises(CommandError, match="DATABASE_OWNER_URL is not set"),
    ):
        call_command("grant_site_role", stdout=io.StringIO())


def test_grants_refuse_a_site_role_that_owns_a_table(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE owned_by_the_site (n int)")
        cursor.execute(f"ALTER TABLE owned_by_the_site OWNER TO {SITE_ROLE}")
    site = {
        "DATABASE_OWNER_URL": processes.test_database_url(),
        "DATABASE_URL": site_database_url(),
    }
    with override_settings(**site), pytest.raises(CommandError, match="REASSIGN OWNED BY"):
        call_command("grant_site_role", stdout=io.StringIO())


def test_grants_say_what_they_checked_as_the_site(db):
    site = {
        "DATABASE_OWNER_URL": processes.test_database_url(),
        "DATABASE_URL": site_database_url(),
    }
    out = io.StringIO()
    with override_settings(**site):
        call_command("grant_site_role", stdout=out)
    assert f"checked as {SITE_ROLE}: it can append to the audit log, and no more" in out.getvalue()
