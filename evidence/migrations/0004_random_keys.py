"""Random keys for sealed objects, evidence items and custody events (issue 16, item 3).

Here: the columns stop being sequences (the identity is dropped) and the new positions
are filled in the order the old keys gave.  The existing rows get their random keys in
casework 0012, which rewrites every table at once (evidence/ids.py says why).
"""

from django.db import migrations, models

import evidence.ids
from evidence.migrations._random_keys import number_within


def number_custody(apps, schema_editor):
    number_within(apps.get_model("evidence", "CustodyEvent"), "item_id")


def _random_key():
    return models.BigIntegerField(
        default=evidence.ids.random_id, editable=False, primary_key=True, serialize=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_sealed_objects_to_the_hour"),
    ]

    operations = [
        migrations.AlterField(model_name="sealedobject", name="id", field=_random_key()),
        migrations.AlterField(model_name="evidenceitem", name="id", field=_random_key()),
        migrations.AlterField(model_name="custodyevent", name="id", field=_random_key()),
        migrations.AddField(
            model_name="evidenceitem",
            name="position",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="custodyevent",
            name="position",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.RunPython(number_custody, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="evidenceitem",
            options={"ordering": ["position", "pk"]},
        ),
        migrations.AlterModelOptions(
            name="custodyevent",
            options={"ordering": ["item_id", "position"]},
        ),
        migrations.AddConstraint(
            model_name="custodyevent",
            constraint=models.UniqueConstraint(
                fields=("item", "position"), name="one_custody_position"
            ),
        ),
    ]
