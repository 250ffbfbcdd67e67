"""Issue 18: how each sealed object was sealed (her browser or the server), the SHA-256
of what her browser sent, and the uploads of browser-sealed files in progress
(evidence/resumable.py).  Every existing object was sealed by the server."""

import evidence.ids
import evidence.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('evidence', '0004_random_keys'),
    ]

    operations = [
        migrations.CreateModel(
            name='ResumableUpload',
            fields=[
                ('id', models.BigIntegerField(default=evidence.ids.random_id, editable=False, primary_key=True, serialize=False)),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('owner', models.CharField(db_index=True, editable=False, max_length=128)),
                ('blob_key', models.CharField(editable=False, max_length=32, unique=True)),
                ('length', models.BigIntegerField(editable=False)),
                ('readers', models.PositiveSmallIntegerField(editable=False)),
                ('max_size', models.BigIntegerField(editable=False)),
                ('created_at', models.DateTimeField(default=evidence.models.this_hour, editable=False)),
                ('header', models.BinaryField(default=b'')),
                ('header_complete', models.BooleanField(default=False, editable=False)),
                ('completed', models.BooleanField(default=False, editable=False)),
                ('payload_size', models.BigIntegerField(blank=True, editable=False, null=True)),
                ('ciphertext_sha256', models.CharField(blank=True, editable=False, max_length=64)),
            ],
            options={
                'verbose_name': 'resumable upload',
            },
        ),
        migrations.AddField(
            model_name='sealedobject',
            name='ciphertext_sha256',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='sealedobject',
            name='sealed_by',
            field=models.CharField(choices=[('browser', 'Sealed on her device'), ('server', 'Sealed by the server when it arrived')], default='server', editable=False, max_length=8),
        ),
    ]
