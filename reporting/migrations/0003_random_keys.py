"""Random keys for her key, her report, its messages, files and consent questions
(issue 16, item 3).

Here: the columns stop being sequences, the table Django made for ``Report.evidence``
is declared as a model (same table, same columns) so that its rows get random keys too,
and the new positions are filled in the order the old keys gave.  The existing rows get
their random keys in casework 0012, which rewrites every table at once.
"""

import django.db.models.deletion
from django.db import migrations, models

import evidence.ids
from evidence.migrations._random_keys import number_within


def number_rows(apps, schema_editor):
    number_within(apps.get_model("reporting", "Message"), "report_id")
    number_within(apps.get_model("reporting", "ConsentRequest"), "report_id")
    # A file's place among its report's: the order it was added in.  Items belong to
    # one report each; the link rows are numbered within the report, by the item's key.
    ReportEvidence = apps.get_model("reporting", "ReportEvidence")
    EvidenceItem = apps.get_model("evidence", "EvidenceItem")
    counts: dict[int, int] = {}
    links = ReportEvidence.objects.order_by("report_id", "evidenceitem_id")
    changed = []
    for report_id, item_id in links.values_list("report_id", "evidenceitem_id").iterator():
        counts[report_id] = counts.get(report_id, 0) + 1
        changed.append(EvidenceItem(pk=item_id, position=counts[report_id]))
    EvidenceItem.objects.bulk_update(changed, ["position"], batch_size=1000)


def _random_key():
    return models.BigIntegerField(
        default=evidence.ids.random_id, editable=False, primary_key=True, serialize=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_consent_requests"),
        ("evidence", "0004_random_keys"),
    ]

    operations = [
        migrations.AlterField(model_name="reporterkey", name="id", field=_random_key()),
        migrations.AlterField(model_name="report", name="id", field=_random_key()),
        migrations.AlterField(model_name="message", name="id", field=_random_key()),
        migrations.AlterField(model_name="consentrequest", name="id", field=_random_key()),
        # The link table exists already (made for the many-to-many field): the model is
        # added to the state only, then its key loses its sequence like the others.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ReportEvidence",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "report",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="reporting.report",
                            ),
                        ),
                        (
                            "evidenceitem",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="evidence.evidenceitem",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "reporting_report_evidence",
                        "unique_together": {("report", "evidenceitem")},
                    },
                ),
                migrations.AlterField(
                    model_name="report",
                    name="evidence",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="reports",
                        through="reporting.ReportEvidence",
                        to="evidence.evidenceitem",
                    ),
                ),
            ],
        ),
        migrations.AlterField(model_name="reportevidence", name="id", field=_random_key()),
        migrations.AddField(
            model_name="message",
            name="position",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="consentrequest",
            name="position",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.RunPython(number_rows, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="message",
            options={"ordering": ["report_id", "position"]},
        ),
        migrations.AlterModelOptions(
            name="consentrequest",
            options={"ordering": ["report_id", "position"]},
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("report", "position"), name="one_message_position"
            ),
        ),
    ]
