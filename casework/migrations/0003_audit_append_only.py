"""The audit log refuses UPDATE and DELETE of its rows.

A trigger as well as grants: in a small deployment the web process often runs as the
role that owns the tables, which grants do not restrain; the trigger stops an ordinary
UPDATE or DELETE from it (a bug, an injected query).  It does not stop TRUNCATE (the test
suite's flush needs it), nor an owner who drops the trigger on purpose: production runs
the web process as a role without UPDATE, DELETE or TRUNCATE on the table, and the hash
chain with a head kept elsewhere is what detects the rest (docs/CASEWORK.md).  SQLite
(laptop runs) gets the same refusal through its own trigger syntax.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION casework_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused on casework_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER casework_auditevent_append_only
    BEFORE UPDATE OR DELETE ON casework_auditevent
    FOR EACH ROW EXECUTE FUNCTION casework_audit_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER casework_auditevent_append_only ON casework_auditevent;
DROP FUNCTION casework_audit_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER casework_auditevent_no_update BEFORE UPDATE ON casework_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;""",
    """CREATE TRIGGER casework_auditevent_no_delete BEFORE DELETE ON casework_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER casework_auditevent_no_update;",
    "DROP TRIGGER casework_auditevent_no_delete;",
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    statements = [POSTGRES_FORWARD] if connection.vendor == "postgresql" else SQLITE_FORWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    connection = schema_editor.connection
    statements = [POSTGRES_BACKWARD] if connection.vendor == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("casework", "0002_workspace")]

    operations = [migrations.RunPython(forward, backward)]
