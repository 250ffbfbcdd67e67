"""Random keys for every row she makes or that is made at her act (issue 16, item 3):
new cases and workflow steps here, and the existing rows of evidence, reporting and
casework renumbered, all in this migration's one transaction (evidence/ids.py).

Existing cases keep their ids.  The audit log is append-only and hash-chained
(casework/audit.py): its rows name cases by id and cannot be rewritten, so a renumbered
case would lose its history (timeline, access log) while the old order stayed written
in the log anyway.  Cases opened from now on get random keys.  The log's rows that name
an evidence item (``{"item": id}``, who viewed or downloaded a file) keep the old id:
new keys start above every old one, so such a row never names another file, and a
download row also carries the file's SHA-256.

Also left as they were: sessions that named her report by its old id (she types her
code again) and workflow steps already sent to a worker under their old id (the worker
finds nothing; the outbox sweep sends the step again under its new one).  The old keys
stay in PostgreSQL's dead row versions until VACUUM FULL, in the WAL and in backups
made before: docs/DEPLOY.md says what to run after this migration.
"""

from django.db import migrations, models

import evidence.ids
from evidence.migrations._random_keys import renumber

RENUMBERED = [
    "evidence.SealedObject",
    "evidence.EvidenceItem",
    "evidence.CustodyEvent",
    "reporting.ReporterKey",
    "reporting.Report",
    "reporting.Message",
    "reporting.ConsentRequest",
    "reporting.ReportEvidence",
    "casework.WorkflowStep",
]


def renumber_rows(apps, schema_editor):
    renumber(apps, schema_editor, RENUMBERED)


def _random_key():
    return models.BigIntegerField(
        default=evidence.ids.random_id, editable=False, primary_key=True, serialize=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0011_bundle_recipients"),
        ("evidence", "0004_random_keys"),
        ("reporting", "0003_random_keys"),
    ]

    operations = [
        migrations.AlterField(model_name="case", name="id", field=_random_key()),
        migrations.AlterField(model_name="workflowstep", name="id", field=_random_key()),
        migrations.AlterModelOptions(
            name="workflowstep",
            options={
                "ordering": ["created_at", "pk"],
                "verbose_name": "workflow step",
                "verbose_name_plural": "workflow steps",
            },
        ),
        # Last: PostgreSQL refuses to alter a table with foreign-key checks still pending.
        migrations.RunPython(renumber_rows, migrations.RunPython.noop),
    ]
