"""Resumable uploads of what her browser sealed (issue 18, items 4 and 5).

Her browser seals a file with age and sends the age file in parts (the tus protocol:
reporting/uploads.py); a lost connection costs only the part it cut, and she goes on
from where the server says it stands.  The server holds no key and never sees her
plaintext.  What it writes, as the parts arrive:

* the age header (the first bytes, at most ``MAX_HEADER_BYTES``) into the upload's row,
  as every sealed object's header is kept in the database; it is checked as soon as it
  is whole (``browser_sealed.check_browser_sealed``: one X25519 stanza per reader and no
  other kind, a payload length STREAM can produce, within the size limit), so a file
  that will never be accepted is refused at its first part, not after a gigabyte;
* the payload, straight into the blob store, appended to the upload's own file there
  (evidence/blobstore.py), fsynced, dated to the hour.

When the last byte has arrived the whole is checked again, the SHA-256 of the age file
as received is computed (by reading it back: a hash's state cannot be kept between
requests), and the payload is renamed into place under its blob key.  The filing then
``claim``s it, inside its own transaction, as a SealedObject sealed by her browser.
Anything refused is deleted at once, row and bytes: nothing of it is kept.

An upload is addressed by a random token that only her browser holds; the row keeps
its SHA-256, so a copy of the database lets nobody write into her upload, and each
call also names the upload's owner (an opaque value from the caller: a keyed hash of
her session's key), so a token that leaked out of her session opens nothing.

Times: the row is dated to the hour it started; the upload's file to the hour of its
last part.  An upload untouched for ``EVIDENCE_UPLOAD_ABANDONED_HOURS`` is swept
(``sweep_abandoned_uploads``, from the hourly sweep).  Until then it shows, to whoever
holds a copy of the server, its size and those hours (docs/SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import BinaryIO, Protocol

from django.db import connection, transaction

from evidence.age.stream import CHUNK_SIZE, NONCE_SIZE, TAG_SIZE
from evidence.blobstore import UploadAppender, blob_store, new_key
from evidence.browser_sealed import MAX_HEADER_BYTES, check_browser_sealed
from evidence.exceptions import NotAcceptable, TooManyUploads, UploadConflict, UploadNotFound
from evidence.models import ResumableUpload, SealedObject, this_hour

# One person filing has a report and its files on the way at once, and perhaps a few
# abandoned tries: 32 is many more than that, and bounds what a flood of starts costs
# (a row and an empty file each, until the sweep).
MAX_UPLOADS_PER_OWNER = 32
# What is read from the request, and appended, at a time.
PIECE = 64 * 1024
# How long asking where an upload stands waits for a part still being written (her
# connection dropped mid-part a moment ago): see FileSystemBlobStore.upload_size.
SETTLE_SECONDS = 5.0

# The smallest age file there is for N readers: the version line, one X25519 stanza per
# reader ("-> X25519 " + 43 characters, then a 43-character body line: 98 bytes), the
# MAC line ("--- " + 43 + newline), then an empty payload: the nonce and one tag.
_VERSION_LINE = b"age-encryption.org/v1\n"
_X25519_STANZA_BYTES = 98
_MAC_LINE_BYTES = 48


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def largest_ciphertext(max_size: int) -> int:
    """The most bytes an age file of at most ``max_size`` plaintext bytes can have: the
    largest header accepted, the nonce, and a 16-byte tag per 64 KiB chunk."""
    chunks = max(1, -(-max_size // CHUNK_SIZE))
    return MAX_HEADER_BYTES + NONCE_SIZE + max_size + chunks * TAG_SIZE


def smallest_ciphertext(readers: int) -> int:
    """The fewest bytes an age file to ``readers`` X25519 readers can have (empty)."""
    header = len(_VERSION_LINE) + readers * _X25519_STANZA_BYTES + _MAC_LINE_BYTES
    return header + NONCE_SIZE + TAG_SIZE


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def start_upload(*, length: int, owner: str, readers: int, max_size: int) -> str:
    """Make room for an age file of ``length`` bytes; returns the token that addresses it.

    Refused before any byte is sent: a length no age file of at most ``max_size`` bytes
    to ``readers`` readers can have (NotAcceptable "size" if too large, "header" if too
    small), or an owner with MAX_UPLOADS_PER_OWNER uploads already (TooManyUploads)."""
    if readers < 1:
        raise ValueError("an age file has at least one reader")
    if length > largest_ciphertext(max_size):
        raise NotAcceptable("size")
    if length < smallest_ciphertext(readers):
        raise NotAcceptable("header")
    with connection.cursor() as cursor:
        # Two starts of one owner at once would both count 31 and both go on: the lock
        # (held to the end of this transaction) makes the second count after the first.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["resumable:" + owner])
    if ResumableUpload.objects.filter(owner=owner).count() >= MAX_UPLOADS_PER_OWNER:
        raise TooManyUploads()
    token = secrets.token_urlsafe(32)
    upload = ResumableUpload.objects.create(
        token_hash=_token_hash(token),
        owner=owner,
        blob_key=new_key(),
        length=length,
        readers=readers,
        max_size=max_size,
    )
    # An empty file for the parts.  Should this transaction not commit, the file has no
    # row and the sweep removes it once it is as old as an abandoned upload.
    blob_store().start_upload(upload.blob_key)
    return token


def _find(token: str, owner: str, *, lock: bool = False) -> ResumableUpload:
    rows = ResumableUpload.objects.select_for_update() if lock else ResumableUpload.objects
    # Found by the hash of a 256-bit token: how long the index takes to answer tells
    # nothing about the token.  The owner is then compared in constant time.
    upload = rows.filter(token_hash=_token_hash(token)).first()
    if upload is None or not hmac.compare_digest(upload.owner.encode(), owner.encode()):
        raise UploadNotFound()
    return upload


def upload_length(token: str, owner: str) -> int:
    """The length announced when the upload started (ciphertext bytes)."""
    return _find(token, owner).length


def upload_offset(token: str, owner: str) -> int:
    """How many bytes of the upload the server holds: where the next part starts.  A
    part still being written is waited for (up to SETTLE_SECONDS)."""
    upload = _find(token, owner)
    if upload.completed:
        return upload.length
    try:
        payload = blob_store().upload_size(upload.blob_key, wait=SETTLE_SECONDS)
    except FileNotFoundError:
        raise UploadNotFound() from None  # discarded or swept meanwhile
    # Read again after the wait: the part waited for may have moved the header on.  The
    # header is whole before the first payload byte is written, so this order never
    # says more than the server holds.
    upload = _find(token, owner)
    if upload.completed:
        return upload.length
    received = len(upload.header) + payload
    if received == upload.length:
        _finish_stranded(token, owner)
    return received


def _finish_stranded(token: str, owner: str) -> None:
    """Every byte is here and the upload is not marked complete: unless a request is
    finishing it now, the one that received the last byte stopped before it could (a
    worker killed, a power cut).  Finish it."""
    try:
        with blob_store().appending(_find(token, owner).blob_key):
            upload = _find(token, owner)
            if not upload.completed:
                _finish_or_discard(upload)
    except UploadConflict:
        pass  # a request holds it: it is finishing it
    except FileNotFoundError:
        # Renamed into place already: stopped between the rename and the commit.
        upload = _find(token, owner)
        if not upload.completed:
            _finish_or_discard(upload)


def append(token: str, owner: str, offset: int, stream: Readable) -> int:
    """Append what ``stream`` holds, from ``offset`` (which must be where the upload
    stands, else UploadConflict), never beyond the length announced; returns where the
    upload stands after it.

    A stream that ends early (her connection dropped) is not an error: what arrived is
    kept, and she resumes from there.  Once the last byte is in, the upload is checked
    and completed.  NotAcceptable (the header, its stanzas, the sizes) deletes the
    upload, row and bytes, before it is raised."""
    upload = _find(token, owner)
    if upload.completed:
        return _nothing_more(upload, offset)
    try:
        with blob_store().appending(upload.blob_key) as part:
            # Read again under the lock: a part that another request just finished
            # writing may have moved the header on, or completed the upload.
            upload = _find(token, owner)
            if upload.completed:
                return _nothing_more(upload, offset)
            current = len(upload.header) + part.size
            if offset != current:
                raise UploadConflict(current)
            reached = _receive(upload, part, stream)
            if reached == upload.length:
                _finish(upload)
            return reached
    except FileNotFoundError:
        # The upload's file went: discarded or swept (the row with it), or renamed into
        # place by a process that stopped before it marked the upload complete.
        upload = _find(token, owner)
        if upload.completed:
            return _nothing_more(upload, offset)
        received = upload_offset(token, owner)  # completes it if every byte is here
        if offset != received:
            raise UploadConflict(received) from None
        return received
    except NotAcceptable:
        _delete(upload)
        raise


def _nothing_more(upload: ResumableUpload, offset: int) -> int:
    if offset != upload.length:
        raise UploadConflict(upload.length)
    return upload.length


def _receive(upload: ResumableUpload, part: UploadAppender, stream: Readable) -> int:
    """Read ``stream`` into the upload until it ends or the upload is whole; returns
    where the upload stands.  The header goes to the row, the rest to the blob store."""
    # While the header is incomplete, what has arrived of it (the row's, then this
    # request's); None once it is whole.
    head = None if upload.header_complete else bytes(upload.header)
    header_length = len(upload.header)
    reached = header_length + part.size
    while reached < upload.length:
        try:
            piece = stream.read(min(PIECE, upload.length - reached))
        except OSError:  # the connection dropped (Django's UnreadablePostError is one)
            piece = b""
        if not piece:
            break
        reached += len(piece)
        if head is not None:
            head += piece
            end = _header_end(head)
            if end is None:
                continue
            header, piece = head[:end], head[end:]
            check_browser_sealed(
                header, upload.length, readers=upload.readers, max_size=upload.max_size
            )
            # Committed before any payload byte is written: the offset is the header's
            # length plus the payload file's, whatever stops this request after it.
            _save_header(upload, header, complete=True)
            head, header_length = None, end
        if piece:
            part.append(reached - len(piece) - header_length, piece)
    if head is not None:
        if reached == upload.length:
            raise NotAcceptable("header")  # the whole file, and no header ended in it
        if len(head) > len(upload.header):
            # Part of a header, then the connection dropped: kept, to resume after it.
            _save_header(upload, head, complete=False)
    return reached


def _header_end(head: bytes) -> int | None:
    """Where the age header ends in ``head`` (the byte after its MAC line), None if it
    has not ended yet; NotAcceptable("header") if it cannot be an age header."""
    start = head[: len(_VERSION_LINE)]
    if start != _VERSION_LINE[: len(start)]:
        raise NotAcceptable("header")
    # A stanza line starts with "-> " and a body line is base64: the first line that
    # starts with "--- " is the MAC line, the header's last.
    mac = head.find(b"\n--- ")
    if mac != -1:
        newline = head.find(b"\n", mac + 1)
        if newline != -1 and newline < MAX_HEADER_BYTES:
            return newline + 1
    if len(head) >= MAX_HEADER_BYTES:
        raise NotAcceptable("header")
    return None


def _save_header(upload: ResumableUpload, header: bytes, *, complete: bool) -> None:
    saved = ResumableUpload.objects.filter(pk=upload.pk, completed=False).update(
        header=header, header_complete=complete
    )
    if not saved:
        raise UploadNotFound()  # discarded or swept meanwhile
    upload.header, upload.header_complete = header, complete


def _open_received(key: str) -> BinaryIO:
    store = blob_store()
    try:
        return store.open_upload(key)
    except FileNotFoundError:
        return store.open(key)  # renamed into place already


def _finish(upload: ResumableUpload) -> None:
    """Check the whole, hash it, put the payload in place, mark the upload complete."""
    header = bytes(upload.header)
    if not upload.header_complete:
        raise NotAcceptable("header")
    check_browser_sealed(header, upload.length, readers=upload.readers, max_size=upload.max_size)
    digest = hashlib.sha256(header)
    payload_size = 0
    with _open_received(upload.blob_key) as payload:
        while block := payload.read(1024 * 1024):
            digest.update(block)
            payload_size += len(block)
    if len(header) + payload_size != upload.length:
        raise UploadConflict(len(header) + payload_size)
    store = blob_store()
    store.complete_upload(upload.blob_key)
    done = ResumableUpload.objects.filter(pk=upload.pk, completed=False).update(
        completed=True, payload_size=payload_size, ciphertext_sha256=digest.hexdigest()
    )
    # Not updated: discarded or swept while the last part was written (then so is its
    # blob), or finished meanwhile by another request (a stranded upload asked about
    # twice at once: the same bytes, the same result).
    if not done and not ResumableUpload.objects.filter(pk=upload.pk).exists():
        store.delete(upload.blob_key)
        raise UploadNotFound()
    upload.completed, upload.payload_size = True, payload_size
    upload.ciphertext_sha256 = digest.hexdigest()


def _finish_or_discard(upload: ResumableUpload) -> None:
    try:
        _finish(upload)
    except NotAcceptable:
        _delete(upload)
        raise


def _delete(upload: ResumableUpload) -> None:
    """The row and every byte of the upload, wherever they are."""
    ResumableUpload.objects.filter(pk=upload.pk).delete()
    store = blob_store()
    store.discard_upload(upload.blob_key)
    store.delete(upload.blob_key)


@transaction.atomic
def claim(token: str, owner: str) -> SealedObject:
    """The complete upload as a SealedObject sealed by her browser; the upload row goes.

    Call it inside the transaction that files what the object belongs to: if that rolls
    back, the row is back and the blob still in place (the orphan sweep spares it, see
    ``live_blob_keys``), so she can file again without sending the file again.
    UploadNotFound if it is not complete, or not this owner's."""
    upload = _find(token, owner, lock=True)
    if not upload.completed:
        raise UploadNotFound()
    sealed = SealedObject.objects.create(
        blob_key=upload.blob_key,
        header=bytes(upload.header),
        payload_size=upload.payload_size,
        sealed_by=SealedObject.SealedBy.BROWSER,
        ciphertext_sha256=upload.ciphertext_sha256,
    )
    upload.delete()
    return sealed


@transaction.atomic
def discard(token: str, owner: str) -> None:
    """Her browser gave up on this upload (or she removed the file): every byte goes."""
    upload = _find(token, owner, lock=True)
    upload.delete()
    key = upload.blob_key

    def remove() -> None:
        store = blob_store()
        store.discard_upload(key)
        store.delete(key)

    transaction.on_commit(remove)


def live_blob_keys(keys: list[str]) -> list[str]:
    """Which of ``keys`` are complete uploads still waiting to be claimed: the orphan
    sweep (evidence.services.sweep_orphan_blobs) must not take them."""
    rows = ResumableUpload.objects.filter(blob_key__in=keys)
    return list(rows.values_list("blob_key", flat=True))


def sweep_abandoned_uploads(*, older_than_hours: int) -> int:
    """Remove uploads untouched for ``older_than_hours`` (row and bytes, complete or
    not), and upload files no row names (a start that did not commit) as old.  Safe to
    run twice; returns how many went.

    Untouched: no part since the hour its file is dated to (the hour of its last part)
    and started before the limit.  Both are hours, so an upload goes between
    ``older_than_hours`` and one hour more after its last part."""
    store = blob_store()
    cutoff = this_hour() - timedelta(hours=older_than_hours)
    removed = 0
    for upload in ResumableUpload.objects.filter(created_at__lt=cutoff).iterator():
        try:
            last_part = store.upload_hour(upload.blob_key)
        except FileNotFoundError:
            last_part = 0.0
        if last_part >= cutoff.timestamp():
            continue  # a part arrived since: still in use
        # Conditional: a filing may claim it at this very moment, and then it is hers.
        if ResumableUpload.objects.filter(pk=upload.pk).delete()[0]:
            store.discard_upload(upload.blob_key)
            store.delete(upload.blob_key)
            removed += 1
    stale = [key for key, mtime in store.uploads() if mtime < cutoff.timestamp()]
    known = set(
        ResumableUpload.objects.filter(blob_key__in=stale).values_list("blob_key", flat=True)
    )
    for key in stale:
        if key not in known:
            store.discard_upload(key)
            removed += 1
    return removed
