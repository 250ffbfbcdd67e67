"""Where sealed payloads live.  Only ciphertext ever reaches a blob store.

The filesystem store keeps each payload under ``EVIDENCE_BLOB_ROOT`` at a path made from
a random key (never from anything a user typed), writes through a temporary file that
is renamed into place only when complete, and checks that every path it resolves stays
inside its root.

Nothing on disk orders or dates the payloads finer than the hour (issue 16, item 3):
names are random, and once a payload is in place its modification and access times,
and those of the directories above it, are set back to the start of the hour.  The
one time the filesystem keeps that cannot be set is the inode's change time (``ctime``):
a copy of the disk still dates each payload's last rename to the second
(docs/SECURITY.md, "Known gaps").

Resumable uploads (evidence/resumable.py): the payload of an age file her browser
sealed arrives in parts, possibly over hours and several connections.  Each part is
appended, as it arrives, to a file of its own beside where the blob will go
(``.{key}.upload``: a name made from the key, never from hers), fsynced and dated to the
hour like a blob; a lock on that file lets one request at a time write to it.  Once
complete and checked it is renamed into place under its key.

Another backend (S3-compatible storage, say) implements the same methods (a multipart
upload for the resumable ones) and is named by ``EVIDENCE_BLOB_STORE``.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from evidence.exceptions import UploadConflict

_KEY = re.compile(r"[0-9a-f]{32}")
HOUR = 3600


def this_hour() -> int:
    """The start of the current hour, as a Unix time: what payloads are stamped with."""
    return int(time.time()) // HOUR * HOUR


class UploadAppender(Protocol):
    """An upload in progress, held by one request: ``size`` bytes so far."""

    @property
    def size(self) -> int: ...
    def append(self, offset: int, data: bytes) -> int: ...


class BlobStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...
    def listing(self) -> Iterator[tuple[str, float]]: ...
    def partials(self) -> Iterator[Path]: ...
    # Resumable uploads (evidence/resumable.py).
    def start_upload(self, key: str) -> None: ...
    def appending(self, key: str) -> AbstractContextManager[UploadAppender]: ...
    def upload_size(self, key: str, *, wait: float = 0.0) -> int: ...
    def upload_hour(self, key: str) -> float: ...
    def open_upload(self, key: str) -> BinaryIO: ...
    def complete_upload(self, key: str) -> None: ...
    def discard_upload(self, key: str) -> None: ...
    def uploads(self) -> Iterator[tuple[str, float]]: ...


def new_key() -> str:
    return secrets.token_hex(16)


class UnsafeBlobKey(ValueError):
    """A blob key that is not ours, or a path that would leave the store."""


class FileSystemBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise UnsafeBlobKey(f"not a blob key: {key!r}")
        path = (self.root / key[:2] / key[2:4] / key).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafeBlobKey("blob path leaves the store")
        return path

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A file to write the payload into; it appears under ``key`` only if the
        block completes.  On any error the partial file is removed."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{key}.{secrets.token_hex(4)}.partial")
        try:
            # Owner-only, even though it is ciphertext: nothing here is for other users.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            self._put_in_place(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)

    def _put_in_place(self, written: Path, final: Path) -> None:
        """Rename a complete payload to its key, dated to the hour; never over another."""
        if final.exists():
            raise FileExistsError(f"blob {final.name} already exists")
        os.replace(written, final)
        self._to_the_hour(final)
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)

    def _to_the_hour(self, final: Path) -> None:
        # The payload's times, and its directories' up to the root (a rename, an unlink
        # or a mkdir sets a directory's mtime to the second), go back to the hour.
        hour = this_hour()
        for path in (final, final.parent, final.parent.parent, self.root):
            with suppress(FileNotFoundError):  # pruned meanwhile: nothing left to date
                os.utime(path, (hour, hour))

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        self._to_the_hour(path)

    def listing(self) -> Iterator[tuple[str, float]]:
        """Every complete blob, with its modification time (for the orphan sweep): the
        start of the hour it was written in."""
        for path in self.root.glob("??/??/*"):
            if _KEY.fullmatch(path.name):
                yield path.name, path.stat().st_mtime

    def partials(self) -> Iterator[Path]:
        """Temporary files left by a process that died mid-write."""
        yield from self.root.glob("??/??/.*.partial")

    # --- resumable uploads ---------------------------------------------------------

    def upload_path(self, key: str) -> Path:
        """Where an upload in progress is appended to: beside its blob, hidden."""
        final = self.path(key)
        path = final.with_name(f".{key}.upload")
        if not path.is_relative_to(self.root):
            raise UnsafeBlobKey("upload path leaves the store")
        return path

    def start_upload(self, key: str) -> None:
        """An empty upload file under ``key`` (FileExistsError if there is one)."""
        if self.path(key).exists():
            raise FileExistsError(f"blob {key} already exists")
        path = self.upload_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._to_the_hour(path)

    @contextmanager
    def appending(self, key: str) -> Iterator[UploadAppender]:
        """The upload under ``key``, for this request alone: another request holding it
        raises UploadConflict("busy") at once rather than wait (the client asks again
        where the upload stands).  What was appended is fsynced and dated to the hour
        when the block ends, however it ends: bytes that arrived before a connection
        dropped are kept, and the client resumes after them.  FileNotFoundError if the
        upload is not (or no longer) there."""
        path = self.upload_path(key)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            try:
                # Released by the close below, whatever happens (also by a dying process).
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadConflict(None, "busy") from None
            appender = _FileAppender(descriptor)
            try:
                yield appender
            finally:
                if appender.wrote:
                    os.fsync(descriptor)
                    self._to_the_hour(path)
        finally:
            os.close(descriptor)

    def upload_size(self, key: str, *, wait: float = 0.0) -> int:
        """Bytes received so far: the upload file's, or once it is in place, the blob's
        (FileNotFoundError if neither is there).

        ``wait``: for up to that many seconds, let a request still writing to the upload
        finish first.  Her connection dropped mid-part, she asks at once where the upload
        stands, and the server is still appending what arrived before the drop: without
        the wait she would be told too little and send it again."""
        try:
            descriptor = os.open(self.upload_path(key), os.O_RDONLY)
        except FileNotFoundError:
            return self.path(key).stat().st_size
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # Still held (a connection that went silent holds it until the
                    # server gives up on it): say what is there now.
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.05)
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def upload_hour(self, key: str) -> float:
        """The hour of the upload's last part (its file's or, once in place, its
        blob's modification time); FileNotFoundError if neither is there."""
        try:
            return self.upload_path(key).stat().st_mtime
        except FileNotFoundError:
            return self.path(key).stat().st_mtime

    def open_upload(self, key: str) -> BinaryIO:
        return open(self.upload_path(key), "rb")

    def complete_upload(self, key: str) -> None:
        """Put the upload in place as the blob ``key``.  Done already: nothing to do."""
        path, final = self.upload_path(key), self.path(key)
        if not path.exists() and final.exists():
            return
        self._put_in_place(path, final)

    def discard_upload(self, key: str) -> None:
        """Remove the upload in progress under ``key`` (its blob, if complete, is
        removed by ``delete``)."""
        path = self.upload_path(key)
        path.unlink(missing_ok=True)
        self._to_the_hour(path)

    def uploads(self) -> Iterator[tuple[str, float]]:
        """Every upload in progress, with its modification time: the start of the hour
        its last part arrived in."""
        for path in self.root.glob("??/??/.*.upload"):
            key = path.name[1 : -len(".upload")]
            if _KEY.fullmatch(key):
                with suppress(FileNotFoundError):  # completed or discarded meanwhile
                    yield key, path.stat().st_mtime


class _FileAppender:
    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._size = os.fstat(descriptor).st_size
        self.wrote = False

    @property
    def size(self) -> int:
        return self._size

    def append(self, offset: int, data: bytes) -> int:
        """Write ``data`` at the end, which must be ``offset``; returns the new size."""
        if offset != self._size:
            raise UploadConflict(self._size)
        view = memoryview(data)
        while view:
            written = os.write(self._descriptor, view)
            self.wrote = True
            self._size += written
            view = view[written:]
        # A write dates the file to the second; back to the hour at once, not only when
        # the request ends (a slow part may take hours).
        hour = this_hour()
        os.utime(self._descriptor, (hour, hour))
        return self._size


@cache
def _store(dotted: str, root: str) -> BlobStore:
    return import_string(dotted)(root)


def blob_store() -> BlobStore:
    return _store(settings.EVIDENCE_BLOB_STORE, str(settings.EVIDENCE_BLOB_ROOT))
