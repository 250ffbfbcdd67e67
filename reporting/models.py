from __future__ import annotations

from django.db import models


class ReporterKey(models.Model):
    """A reporter's identity, sealed under her receipt code.

    She is known by nothing else: no account, no name, no address.  The code itself is
    never stored; ``lookup`` comes out of a slow KDF over it (reporting/receipts.py), so
    finding a row from a guessed code costs a full scrypt per guess.
    """

    lookup = models.CharField(max_length=64, unique=True, editable=False)
    key_recipient = models.CharField(max_length=100, editable=False)
    sealed_key = models.BinaryField(editable=False)
    # Rounded to the hour, like every reporter-side timestamp: a precise time could be
    # matched against a network log to find who filed.
    created_at = models.DateTimeField(editable=False)

    def __str__(self) -> str:
        return f"reporter key {self.pk}"
