"""Give the site's database role what the web, worker, beat and bundle builder need, and
no more: read and write the application's tables, but only read and append to the audit
log, and own nothing (so it cannot truncate, alter or drop a table, nor its trigger).

Run by the migrate step after every ``migrate``, as the role that owns the tables
(``DATABASE_OWNER_URL``): grants are re-applied after each migration, so a table a later
migration adds is covered, and the audit table never gains UPDATE, DELETE or TRUNCATE.
The default privileges below cover a table created between a migration and this command.
docs/DEPLOY.md, section 3, says how the two roles are made; docs/SECURITY.md says why.
"""

from __future__ import annotations

import getpass
import re

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

AUDIT_TABLE = "casework_auditevent"
# The migration history is the owner's: the site only reads it (Django checks it).
OWNER_ONLY_WRITES = ("django_migrations",)
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class Command(BaseCommand):
    help = (
        "As the role that owns the tables (DATABASE_OWNER_URL), grant the site's role "
        "(DATABASE_URL's) reading and writing of the application's tables, only reading "
        "and appending to the audit log, and nothing it could alter a table with; then "
        "check that role's rights. Run after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role",
            help=(
                "the role to grant (default: the user of DATABASE_URL or, for a URL without "
                "one, the Unix user running this, as PostgreSQL's peer authentication does)"
            ),
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help=(
                "create the role when it does not exist, with DATABASE_URL's password "
                "(needs CREATEROLE: make run and compose use it; on Debian, docs/DEPLOY.md "
                "creates the role with createuser)"
            ),
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite has no roles: nothing to grant (make run's default).")
            return
        role, password, site_url = self._site_role(options["role"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (me,) = cursor.fetchone()
            cursor.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = %s",
                [AUDIT_TABLE],
            )
            found = cursor.fetchone()
            if found is None:
                raise CommandError(f"no table {AUDIT_TABLE} here: run manage.py migrate first")
            if found[0] != me:
                raise CommandError(
                    f"{me} does not own the tables ({found[0]} does): run this as the role "
                    "that migrates, with DATABASE_OWNER_URL set (docs/DEPLOY.md, section 3)"
                )
            if role == me:
                raise CommandError(
                    f"the site would connect as {role}, the role that owns the tables, which "
                    "can truncate the audit log or drop its trigger. Give the site a role of "
                    "its own in DATABASE_URL, and the owner's URL to the migrate step alone "
                    "in DATABASE_OWNER_URL (docs/DEPLOY.md, section 3)"
                )
            self._ensure_role(cursor, role, password, create=options["create"])
            self._refuse_a_role_that_could_alter(cursor, role, me)
            with transaction.atomic():
                for statement in grants(connection.ops.quote_name(role)):
                    cursor.execute(statement)
        self.stdout.write(
            f"{role} may read and write the site's tables, and only read and append to "
            f"the audit log; {me} owns them"
        )
        if site_url is not None:
            self._check_as_site(site_url, role)

    def _site_role(self, explicit: str | None) -> tuple[str, str | None, str | None]:
        """(role, its password, the site's URL to check with) from --role or DATABASE_URL."""
        if explicit:
            role, password, url = explicit, None, None
        else:
            if not settings.DATABASE_OWNER_URL:
                raise CommandError(
                    "DATABASE_OWNER_URL is not set: this process connects as the site's own "
                    "role (DATABASE_URL), which must not own the tables. Give the migrate "
                    "step the owner's URL in DATABASE_OWNER_URL, or name the role with --role "
                    "(docs/DEPLOY.md, section 3; upgrading: section 10)"
                )
            url = settings.DATABASE_URL
            parsed = dj_database_url.parse(url)
            role = parsed.get("USER") or getpass.getuser()
            password = parsed.get("PASSWORD") or None
        if not _ROLE_NAME.fullmatch(role):
            raise CommandError(f"{role!r} is not a role name this command grants (letters, _)")
        return role, password, url

    def _ensure_role(self, cursor, role: str, password: str | None, *, create: bool) -> None:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            return
        if not create:
            raise CommandError(
                f"there is no database role {role}: create it (as postgres: createuser {role}), "
                "or run this with --create"
            )
        statement = f"CREATE ROLE {connection.ops.quote_name(role)} LOGIN"
        try:
            with transaction.atomic():
                if password:
                    cursor.execute(statement + " PASSWORD %s", [password])
                else:
                    cursor.execute(statement)
        except DatabaseError as exc:
            # Another run beside this one (two test sessions on one server) made it first.
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if not cursor.fetchone():
                raise CommandError(f"could not create the role {role}: {exc}") from None
        self.stdout.write(f"created the database role {role}")

    def _refuse_a_role_that_could_alter(self, cursor, role: str, owner: str) -> None:
        cursor.execute(
            "SELECT rolsuper, pg_has_role(%s, %s, 'USAGE') FROM pg_roles WHERE rolname = %s",
            [role, owner, role],
        )
        superuser, member_of_owner = cursor.fetchone()
        if superuser:
            raise CommandError(f"{role} is a superuser: no grant can restrain it")
        if member_of_owner:
            raise CommandError(
                f"{role} is a member of {owner} and has its rights: REVOKE {owner} FROM {role}"
            )
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = %s",
            [role],
        )
        (owned,) = cursor.fetchone()
        if owned:
            raise CommandError(
                f"{role} owns {owned} table(s) or sequence(s) here, and could alter them. "
                f"As postgres, in this database: REASSIGN OWNED BY {role} TO {owner} "
                "(after a restore, docs/DEPLOY.md, section 11)"
            )

    def _check_as_site(self, url: str, role: str) -> None:
        """Ask PostgreSQL, connected as the site, what it may do: a grant that did not
        take, or a password that does not match, shows here rather than at first use."""
        params = dj_database_url.parse(url)
        try:
            site = psycopg2.connect(
                dbname=params["NAME"],
                user=params.get("USER") or None,
                password=params.get("PASSWORD") or None,
                host=params.get("HOST") or None,
                port=params.get("PORT") or None,
                connect_timeout=10,
            )
        except psycopg2.OperationalError as exc:
            raise CommandError(
                f"the site cannot connect as {role} with DATABASE_URL: {exc}"
            ) from None
        try:
            with site.cursor() as cursor:
                cursor.execute(
                    "SELECT has_table_privilege(%s, 'INSERT'), has_table_privilege(%s, 'UPDATE'), "
                    "has_table_privilege(%s, 'DELETE'), has_table_privilege(%s, 'TRUNCATE'), "
                    "pg_get_userbyid(relowner) = current_user "
                    "FROM pg_class WHERE oid = %s::regclass",
                    [AUDIT_TABLE] * 5,
                )
                append, update, delete, truncate, owns = cursor.fetchone()
        finally:
            site.close()
        if not append or update or delete or truncate or owns:
            raise CommandError(
                f"connected as {role}, the audit log is not append-only: insert {append}, "
                f"update {update}, delete {delete}, truncate {truncate}, owner {owns}"
            )
        self.stdout.write(f"checked as {role}: it can append to the audit log, and no more")


def grants(role: str) -> list[str]:
    """The statements, in order; ``role`` is already quoted."""
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE UPDATE, DELETE ON {AUDIT_TABLE} FROM {role}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {role}" for table in OWNER_ONLY_WRITES),
        # nextval() for the tables whose keys still come from a sequence (the audit log's
        # own), and SELECT so that pg_dump (deploy/backup.sh, as the site) reads them.
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
