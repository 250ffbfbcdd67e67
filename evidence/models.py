from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evidence.ids import random_id


def this_hour() -> datetime:
    """Now, to the hour.  Every sealed thing is hers or about her (her words, her files,
    the messages to her), and no plaintext time about her is kept finer than the hour:
    an exact second, matched with a network log, could name who filed."""
    return timezone.now().replace(minute=0, second=0, microsecond=0)


class SealedObject(models.Model):
    """One sealed thing: its age header here, its payload in the blob store.

    The header holds one stanza per recipient (an organisation, a reporter...).  Giving
    another organisation access re-issues the header; the payload is never rewritten.
    Erasing drops the header first (crypto-erasure: the payload can no longer be
    opened by anyone), then deletes the payload.  The row stays as a tombstone.
    """

    class SealedBy(models.TextChoices):
        # Her browser sealed it before it left her device (issue 18): the server only
        # ever held ciphertext.  Or the server sealed it as it arrived (scripts off, and
        # what the server writes itself: notes, messages from staff, receipts).
        BROWSER = "browser", _("Sealed on her device")
        SERVER = "server", _("Sealed by the server when it arrived")

    # Random, not a sequence: sealed objects are made at her acts (evidence/ids.py).
    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    blob_key = models.CharField(max_length=32, unique=True, editable=False)
    header = models.BinaryField(editable=False)
    payload_size = models.BigIntegerField(editable=False)  # ciphertext bytes on disk
    created_at = models.DateTimeField(default=this_hour, editable=False)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    sealed_by = models.CharField(
        max_length=8, choices=SealedBy.choices, default=SealedBy.SERVER, editable=False
    )
    # For an object her browser sealed: the SHA-256 of the whole age file (header and
    # payload) exactly as it arrived, so that what her device sent can be matched later
    # (the header here may since have been re-issued).  Empty when the server sealed it.
    ciphertext_sha256 = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "sealed object"

    def __str__(self) -> str:
        state = "erased" if self.erased_at else f"{self.payload_size} bytes"
        return f"sealed object {self.pk} ({state})"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class EvidenceItem(models.Model):
    """One file received as evidence, and what its chain of custody starts with.

    The original is sealed exactly as received; images also get a sealed, sanitised
    working copy for viewing.  The name she gave the file and the exact time it arrived
    are content, sealed in ``note``; what stays in plaintext (type, size, SHA-256, the
    perceptual hash, the hour) is what custody and case linking need.
    """

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    original = models.OneToOneField(
        SealedObject, on_delete=models.PROTECT, related_name="evidence_original"
    )
    working_copy = models.OneToOneField(
        SealedObject, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence_copy"
    )
    note = models.OneToOneField(
        SealedObject, on_delete=models.PROTECT, related_name="evidence_note"
    )
    kind = models.CharField(max_length=16)  # image, video, audio, pdf, text, archive
    mime = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # PDQ (256 bits as hex), so that the same image reported twice links the cases and a
    # hash-only takedown list can be made; empty when the image is too flat to hash.
    pdq_hash = models.CharField(max_length=64, blank=True, db_index=True)
    pdq_quality = models.SmallIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()  # to the hour; the exact time is in the note
    # Its place among the files of what it was filed with (1, 2, ...), set by whoever
    # files it (a report): the order she gave them, which the key no longer tells.
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"evidence {self.pk} ({self.kind}, {self.size} bytes)"


class CustodyEvent(models.Model):
    """One step in an item's chain of custody, from receipt to export."""

    class Action(models.TextChoices):
        RECEIVED = "received"
        WORKING_COPY_MADE = "working_copy_made"
        WORKING_COPY_REFUSED = "working_copy_refused"
        EXPORTED = "exported"  # into an evidence bundle (detail: the bundle's identifier)

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="custody")
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.CharField(max_length=64)  # "reporter", "system", or a member's label
    at = models.DateTimeField()  # to the hour, like every plaintext time about a reporter
    detail = models.JSONField(default=dict)
    # Its place in the item's chain (1 is the receipt).  Times are to the hour, so this
    # is what keeps the chain in the order a court reads it; evidence.services.add_custody
    # counts it up under the item's lock.
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["item_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="one_custody_position")
        ]

    def __str__(self) -> str:
        return f"{self.action} ({self.item_id})"


class ResumableUpload(models.Model):
    """An age file her browser sealed, on its way in (evidence/resumable.py).

    Its address is a random token that only her browser holds; the row keeps a hash of
    it, so a copy of the database gives nobody a way to write into her upload.  The
    header, while it arrives and once complete, is kept here (as for every sealed
    object); the payload goes straight into the blob store, ciphertext only.  The row
    goes when the filing claims it (its blob then belongs to a SealedObject), when she
    or her browser discards it, or when the sweep finds it abandoned.
    """

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Whose it is: an opaque value from the caller (a keyed hash of her session's key).
    owner = models.CharField(max_length=128, db_index=True, editable=False)
    blob_key = models.CharField(max_length=32, unique=True, editable=False)
    length = models.BigIntegerField(editable=False)  # ciphertext bytes announced
    readers = models.PositiveSmallIntegerField(editable=False)  # X25519 stanzas expected
    max_size = models.BigIntegerField(editable=False)  # plaintext bytes allowed
    created_at = models.DateTimeField(default=this_hour, editable=False)  # to the hour
    # The bytes received before the payload: the age header, whole once
    # ``header_complete``; until then whatever of it has arrived.
    header = models.BinaryField(default=b"", editable=False)
    header_complete = models.BooleanField(default=False, editable=False)
    completed = models.BooleanField(default=False, editable=False)
    payload_size = models.BigIntegerField(null=True, blank=True, editable=False)
    ciphertext_sha256 = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "resumable upload"

    def __str__(self) -> str:
        state = "complete" if self.completed else "in progress"
        return f"upload {self.pk} ({self.length} bytes, {state})"
