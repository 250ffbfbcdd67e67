from __future__ import annotations

from django.db import models


class SealedObject(models.Model):
    """One sealed thing: its age header here, its payload in the blob store.

    The header holds one stanza per recipient (an organisation, a reporter...).  Giving
    another organisation access re-issues the header; the payload is never rewritten.
    Erasing drops the header first (crypto-erasure: the payload can no longer be
    opened by anyone), then deletes the payload.  The row stays as a tombstone.
    """

    blob_key = models.CharField(max_length=32, unique=True, editable=False)
    header = models.BinaryField(editable=False)
    payload_size = models.BigIntegerField(editable=False)  # ciphertext bytes on disk
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "sealed object"

    def __str__(self) -> str:
        state = "erased" if self.erased_at else f"{self.payload_size} bytes"
        return f"sealed object {self.pk} ({state})"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
