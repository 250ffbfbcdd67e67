"""A bundle builder signs its row with the platform's signing key (issue 16, item 7):
approval lends nothing to a row without a signature that verifies, so a builder started
before this migration is passed over until it restarts (a deployment restarts it)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0013_legal_hold_one_time_passwords"),
    ]

    operations = [
        migrations.AddField(
            model_name="bundlebuilder",
            name="signature",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
