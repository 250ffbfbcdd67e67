"""Sealing, opening, sharing and erasing stored objects.  Plaintext stays in memory."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from evidence import age
from evidence.blobstore import HOUR, blob_store, new_key
from evidence.browser_sealed import check_reissued_header
from evidence.exceptions import CannotOpen, SealedObjectErased, UploadRefused
from evidence.ids import next_position
from evidence.models import CustodyEvent, SealedObject

logger = logging.getLogger(__name__)


class BlobSealer:
    """Seals a stream into the blob store, without a database row yet.

    ``write()`` plaintext as it arrives; ``finish()`` makes the payload appear under its
    key and returns a ``SealedBlob``; ``abort()`` removes everything written.  Used where
    the row must be created later, inside another transaction (an upload whose form may
    still be refused).
    """

    def __init__(self, recipients: Iterable[age.Recipient]) -> None:
        self.key = new_key()
        self._header = io.BytesIO()
        self._stack = ExitStack()
        self._payload = self._stack.enter_context(blob_store().writer(self.key))
        self._writer = age.Encryptor(list(recipients), self._payload, header_sink=self._header)

    def write(self, data: bytes) -> int:
        return self._writer.write(data)

    @property
    def size(self) -> int:
        return self._writer.size

    def finish(self) -> SealedBlob:
        self._writer.close()
        payload_size = self._payload.tell()
        self._stack.close()  # fsync and rename into place
        return SealedBlob(
            self.key, self._header.getvalue(), payload_size, self._writer.sha256, self._writer.size
        )

    def abort(self) -> None:
        self._writer.abort()
        try:
            self._stack.__exit__(RuntimeError, RuntimeError("sealing aborted"), None)
        except OSError as exc:
            # A disk that failed a write often fails the close too (a full disk cannot
            # flush the buffer).  The partial file is removed all the same (the blob
            # store's writer), and the caller must go on to discard her other files.
            logger.warning("aborted blob %s: %s", self.key, exc.strerror)


@dataclass(frozen=True)
class SealedBlob:
    """A payload in the blob store with its header in hand, not yet recorded."""

    key: str
    header: bytes
    payload_size: int
    sha256: str  # of the plaintext
    size: int  # plaintext bytes

    def record(self) -> SealedObject:
        return SealedObject.objects.create(
            blob_key=self.key, header=self.header, payload_size=self.payload_size
        )

    def discard(self) -> None:
        blob_store().delete(self.key)


@dataclass
class Sealing:
    """An open sealing: ``write()`` plaintext; the object exists once the block ends."""

    sealer: BlobSealer
    sealed: SealedObject | None = None
    blob: SealedBlob | None = None

    def write(self, data: bytes) -> int:
        return self.sealer.write(data)

    @property
    def sha256(self) -> str:
        return self.blob.sha256 if self.blob else ""

    @property
    def size(self) -> int:
        return self.sealer.size


def may_be_stored(failure: BaseException) -> bool:
    """Could the rows of a transaction that ended with ``failure`` be in the database?

    The connection failing (lost, killed, timed out) can happen during COMMIT, and then
    nobody knows whether the server committed before its answer was lost.  Deleting the
    payloads would leave a stored report pointing at nothing; keeping them costs at most
    some ciphertext that the hourly orphan sweep removes once no row names it."""
    return isinstance(failure, OperationalError | InterfaceError)


# The payloads sealed inside the current discard_on_failure() block, if any.
_journal: ContextVar[list[str] | None] = ContextVar("sealed_blob_journal", default=None)


@contextmanager
def discard_on_failure() -> Iterator[None]:
    """Delete every payload sealed inside the block if the block raises, unless the
    rows naming them may have been committed (``may_be_stored``).

    Put it around a transaction that seals as it goes: the rollback removes the rows,
    this removes their payloads, so a refused or failed report leaves no blob behind.
    """
    journal: list[str] = []
    token = _journal.set(journal)
    try:
        yield
    except BaseException as failure:
        if not may_be_stored(failure):
            for key in journal:
                blob_store().delete(key)
        raise
    finally:
        _journal.reset(token)


@contextmanager
def sealing(recipients: Iterable[age.Recipient]) -> Iterator[Sealing]:
    """Seal a stream to ``recipients``, chunk by chunk, straight into the blob store.

    If the block raises, nothing is left behind: the partial payload is removed and no
    row is created.  If the surrounding transaction later rolls back, the payload it
    wrote is removed by ``sweep_orphan_blobs``.
    """
    sealer = BlobSealer(recipients)
    journal = _journal.get()
    if journal is not None:
        journal.append(sealer.key)
    state = Sealing(sealer)
    try:
        yield state
    except BaseException:
        sealer.abort()
        raise
    state.blob = sealer.finish()
    try:
        state.sealed = state.blob.record()
    except BaseException:
        state.blob.discard()
        raise


def seal_bytes(data: bytes, recipients: Iterable[age.Recipient]) -> SealedObject:
    with sealing(recipients) as state:
        state.write(data)
    return state.sealed


def open_object(sealed: SealedObject, identities: Iterable[age.Identity]) -> age.PayloadReader:
    """A readable stream of the plaintext; the caller closes it."""
    if sealed.is_erased:
        raise SealedObjectErased(sealed.pk)
    payload = blob_store().open(sealed.blob_key)
    try:
        return age.open_sealed(payload, list(identities), header=bytes(sealed.header))
    except age.NoIdentityMatch:
        payload.close()
        raise CannotOpen(sealed.pk) from None
    except BaseException:
        payload.close()
        raise


def age_file(sealed: SealedObject, *, piece: int = 64 * 1024) -> Iterator[bytes]:
    """The object as one age file, its header then its payload read from the blob store
    in pieces, for a device that holds a key to open it (her browser on a return
    visit).  Nothing is opened here.  The payload is opened at once, so that a missing
    one fails before an answer has started."""
    if sealed.is_erased:
        raise SealedObjectErased(sealed.pk)
    header = bytes(sealed.header)
    payload = blob_store().open(sealed.blob_key)

    def pieces() -> Iterator[bytes]:
        with payload:
            yield header
            while chunk := payload.read(piece):
                yield chunk

    return pieces()


def plaintext_size(sealed: SealedObject) -> int:
    """The plaintext's length, from the payload's: a 16-byte nonce, then chunks of up to
    64 KiB each followed by a 16-byte tag (an empty plaintext is one empty chunk)."""
    body = sealed.payload_size - age.stream.NONCE_SIZE
    chunks = max(1, -(-body // (age.CHUNK_SIZE + age.stream.TAG_SIZE)))
    return body - chunks * age.stream.TAG_SIZE


def read_object(sealed: SealedObject, identities: Iterable[age.Identity]) -> bytes:
    with open_object(sealed, identities) as reader:
        return reader.read()


@transaction.atomic
def share_object(
    sealed: SealedObject,
    *,
    unlocked_by: Iterable[age.Identity],
    recipients: Iterable[age.Recipient],
) -> None:
    """Re-issue the header for exactly ``recipients`` (add someone: include the current
    ones; remove someone: leave them out).  The payload is not touched."""
    locked = SealedObject.objects.select_for_update().get(pk=sealed.pk)
    if locked.is_erased:
        raise SealedObjectErased(sealed.pk)
    try:
        header = age.reissue_header(bytes(locked.header), list(unlocked_by), list(recipients))
    except age.NoIdentityMatch:
        raise CannotOpen(sealed.pk) from None
    locked.header = header
    locked.save(update_fields=["header"])
    sealed.header = header


@transaction.atomic
def replace_header(sealed: SealedObject, header: bytes, *, readers: int) -> None:
    """Put in place a header re-issued where the key is (her browser, for her "yes" to
    a referral: frontend/src/header.js), checked without any key: the header alone,
    exactly ``readers`` X25519 stanzas (browser_sealed.check_reissued_header).  The
    payload is not touched.  NotAcceptable if the header is not in that form,
    SealedObjectErased if the object was erased meanwhile."""
    check_reissued_header(header, readers=readers)
    locked = SealedObject.objects.select_for_update().get(pk=sealed.pk)
    if locked.is_erased:
        raise SealedObjectErased(sealed.pk)
    locked.header = header
    locked.save(update_fields=["header"])
    sealed.header = header


@transaction.atomic
def lend_object(
    sealed: SealedObject, *, unlocked_by: Iterable[age.Identity], to: age.Recipient
) -> None:
    """Add one recipient to an object's header, keeping every other stanza: a short
    loan (a bundle builder's in-memory key), taken back with ``take_back_object``."""
    locked = SealedObject.objects.select_for_update().get(pk=sealed.pk)
    if locked.is_erased:
        raise SealedObjectErased(sealed.pk)
    try:
        locked.header = age.add_stanzas(bytes(locked.header), list(unlocked_by), [to])
    except age.NoIdentityMatch:
        raise CannotOpen(sealed.pk) from None
    locked.save(update_fields=["header"])


@transaction.atomic
def take_back_object(sealed: SealedObject, *, identity: age.Identity) -> None:
    """Remove from an object's header every stanza ``identity`` opens (the end of a
    loan).  Nothing to do if it opens none, or the object was erased meanwhile."""
    locked = SealedObject.objects.select_for_update().get(pk=sealed.pk)
    if locked.is_erased:
        return
    try:
        locked.header = age.drop_stanzas(bytes(locked.header), identity)
    except age.NoIdentityMatch:
        return
    locked.save(update_fields=["header"])


@transaction.atomic
def erase_object(sealed: SealedObject) -> None:
    """Crypto-erasure first (the header goes), then the payload once that is committed."""
    updated = SealedObject.objects.filter(pk=sealed.pk, erased_at=None).update(
        header=b"", erased_at=timezone.now()
    )
    if updated:
        key = sealed.blob_key
        transaction.on_commit(lambda: blob_store().delete(key))
    sealed.refresh_from_db(fields=["header", "erased_at"])


@transaction.atomic
def erase_item(item) -> int:
    """Crypto-erasure of an evidence item: its original, its working copy and its note,
    and its perceptual hash (which could still match the image elsewhere).  The custody
    record stays.  Returns how many sealed objects were erased; safe to run twice."""
    erased = 0
    for sealed in (item.original, item.working_copy, item.note):
        if sealed is not None and sealed.erased_at is None:
            erase_object(sealed)
            erased += 1
    type(item).objects.filter(pk=item.pk).update(pdq_hash="", pdq_quality=None)
    return erased


# Blob files held by rows of other apps (built evidence bundles are whole age files in
# the same store, with no SealedObject): each source answers which of the keys it is
# given are still in use, so that the orphan sweep spares them.
LiveKeySource = Callable[[list[str]], Iterable[str]]
_live_key_sources: list[LiveKeySource] = []


def register_live_blob_keys(source: LiveKeySource) -> None:
    if source not in _live_key_sources:  # an app's ready() may run twice
        _live_key_sources.append(source)


def sweep_orphan_blobs(*, older_than_seconds: int = 3600) -> int:
    """Delete payloads that no row points at (a rolled-back transaction, a crash), and
    partial files a dead process left.  Young files are spared: their transaction may
    still be open.

    A payload's mtime is the start of the hour it was written in (evidence/blobstore.py),
    so it may have been written up to an hour later than it says: a payload stamped
    14:00 may be from 14:59, with her report committing at 15:00:30.  So a payload goes
    only once its stamp is an hour more than ``older_than_seconds`` behind: with the
    default, a payload stamped 14:00 is swept from 16:00."""
    store = blob_store()
    now = time.time()
    cutoff = now - older_than_seconds - HOUR
    removed = 0
    for path in list(store.partials()):
        # Still being written: a partial's mtime is its last write, to the second.
        if path.stat().st_mtime < now - older_than_seconds:
            path.unlink(missing_ok=True)
            removed += 1
    candidates = [key for key, mtime in store.listing() if mtime < cutoff]
    for start in range(0, len(candidates), 1000):
        batch = candidates[start : start + 1000]
        live = SealedObject.objects.filter(blob_key__in=batch, erased_at=None)
        known = set(live.values_list("blob_key", flat=True))
        for source in _live_key_sources:
            known.update(source(batch))
        for key in batch:
            if key not in known:
                store.delete(key)
                removed += 1
    if removed:
        logger.info("orphan sweep removed %d blob file(s)", removed)
    return removed


def _to_the_hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def record_upload(upload, *, recipients: Iterable[age.Recipient], actor: str, position: int = 1):
    """Record an accepted upload (evidence.uploads.SealedUpload) as an evidence item.

    Call inside the transaction that records what it belongs to; ``position`` is the
    item's place among its files (keys are random, so they keep no order).  For an image held in
    memory, the sanitised working copy and its PDQ hash are made and sealed here; the
    plaintext copy is dropped as soon as that is done.  A decompression bomb raises
    UploadRefused: the caller rolls back and tells her.
    """
    from evidence import images
    from evidence.models import CustodyEvent, EvidenceItem

    recipients = list(recipients)
    now = timezone.now()
    hour = _to_the_hour(now)
    note = {"name": upload.name, "received_at": now.isoformat()}
    item = EvidenceItem(
        original=upload.blob.record(),
        note=seal_bytes(json.dumps(note, ensure_ascii=False).encode(), recipients),
        kind=upload.sniffed.kind,
        mime=upload.sniffed.mime,
        extension=upload.sniffed.extension,
        size=upload.blob.size,
        sha256=upload.blob.sha256,
        received_at=hour,
        position=position,
    )
    custody: list[CustodyEvent] = []

    def record(action: str, actor: str, detail: dict) -> None:
        custody.append(CustodyEvent(action=action, actor=actor, at=hour, detail=detail))

    record(
        CustodyEvent.Action.RECEIVED,
        actor,
        {"sha256": item.sha256, "size": item.size, "mime": item.mime},
    )
    if upload.sniffed.kind == "image":
        if upload.image is None:
            record(
                CustodyEvent.Action.WORKING_COPY_REFUSED,
                "system",
                {"reason": "too_large_to_process"},
            )
        else:
            try:
                clean = images.sanitise(io.BytesIO(upload.image))
            except images.ImageRefused as refused:
                if refused.reason == "too_large":
                    # Billions of pixels in a few kilobytes: an attack, not a photo.
                    # Refused whole, so the transaction keeps nothing of it.
                    raise UploadRefused(upload.name, "image_too_large") from None
                record(
                    CustodyEvent.Action.WORKING_COPY_REFUSED, "system", {"reason": refused.reason}
                )
            else:
                item.working_copy = seal_bytes(clean.data, recipients)
                item.pdq_hash = clean.pdq_hash or ""
                item.pdq_quality = clean.pdq_quality
                record(
                    CustodyEvent.Action.WORKING_COPY_MADE,
                    "system",
                    {
                        "sha256": hashlib.sha256(clean.data).hexdigest(),
                        "mime": clean.mime,
                        "width": clean.width,
                        "height": clean.height,
                    },
                )
            upload.image = None  # the plaintext copy goes as soon as it is sealed
    item.save()
    for position, event in enumerate(custody, start=1):
        event.item = item
        event.position = position  # a new item: its chain starts here
    CustodyEvent.objects.bulk_create(custody)
    return item


def record_browser_item(
    *,
    original: SealedObject,
    note: SealedObject,
    working_copy: SealedObject | None,
    sniffed,
    claimed_sha256: str,
    actor: str,
    position: int = 1,
):
    """Record a file her browser sealed (issue 18) as an evidence item.

    The server never saw its bytes: the type and the SHA-256 are what her device found
    (frontend/src/sniff.js, seal-worker.js), and custody says so; the first caseworker
    who opens the original checks the hash on her device (issue 19).  The size is the
    plaintext's, which the ciphertext's length gives exactly.  No perceptual hash: that
    too is made where the image is opened.  Call inside the filing's transaction.
    """
    from evidence.models import CustodyEvent, EvidenceItem

    hour = _to_the_hour(timezone.now())
    item = EvidenceItem.objects.create(
        original=original,
        note=note,
        working_copy=working_copy,
        kind=sniffed.kind,
        mime=sniffed.mime,
        extension=sniffed.extension,
        size=plaintext_size(original),
        sha256=claimed_sha256,
        received_at=hour,
        position=position,
    )
    received = {
        "sha256": claimed_sha256,
        "size": item.size,
        "mime": item.mime,
        "sealed_by": "browser",
        # Until a caseworker's device has opened the original and compared.
        "sha256_claimed_by": "her device",
        "ciphertext_sha256": original.ciphertext_sha256,
    }
    events = [CustodyEvent(action=CustodyEvent.Action.RECEIVED, actor=actor, detail=received)]
    if working_copy is not None:
        made = {"made_on": "her device", "ciphertext_sha256": working_copy.ciphertext_sha256}
        events.append(
            CustodyEvent(action=CustodyEvent.Action.WORKING_COPY_MADE, actor=actor, detail=made)
        )
    elif sniffed.kind == "image":
        # A format her device cannot strip losslessly (HEIC, GIF...), or too large to
        # hold in a phone's memory: the caseworker's device makes none either for now.
        events.append(
            CustodyEvent(
                action=CustodyEvent.Action.WORKING_COPY_REFUSED,
                actor="system",
                detail={"reason": "not_made_on_her_device"},
            )
        )
    for number, event in enumerate(events, start=1):
        event.item, event.at, event.position = item, hour, number
    CustodyEvent.objects.bulk_create(events)
    return item


@transaction.atomic
def add_custody(items: Iterable, *, action: str, actor: str, at, detail: dict) -> list:
    """One more link in the chain of custody of each of ``items`` (an export into a
    bundle, say).  Each item is locked while its next position is counted, so that
    two acts at once cannot take the same place in a chain a court reads in order."""
    from evidence.models import CustodyEvent, EvidenceItem

    ids = sorted(item.pk for item in items)  # one lock order: no deadlock between two
    list(EvidenceItem.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    events = [
        CustodyEvent(
            item_id=item_id,
            position=next_position(CustodyEvent.objects.filter(item_id=item_id)),
            action=action,
            actor=actor,
            at=at,
            detail=detail,
        )
        for item_id in ids
    ]
    return CustodyEvent.objects.bulk_create(events)


def record_export(items: Iterable, *, actor: str, at, detail: dict) -> list:
    """The last link of each of ``items``' chain of custody: exported into an evidence
    bundle (``detail`` names the bundle and whom it is for), written in the transaction
    that records the bundle built.  ``actor``: who approved the export."""
    return add_custody(
        items, action=CustodyEvent.Action.EXPORTED, actor=actor, at=at, detail=detail
    )
