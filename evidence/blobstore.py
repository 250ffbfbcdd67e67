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

Another backend (S3-compatible storage, say) implements the same four methods and is
named by ``EVIDENCE_BLOB_STORE``.
"""

from __future__ import annotations

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

_KEY = re.compile(r"[0-9a-f]{32}")
HOUR = 3600


def this_hour() -> int:
    """The start of the current hour, as a Unix time: what payloads are stamped with."""
    return int(time.time()) // HOUR * HOUR


class BlobStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...
    def listing(self) -> Iterator[tuple[str, float]]: ...
    def partials(self) -> Iterator[Path]: ...


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
            if final.exists():
                raise FileExistsError(f"blob {key} already exists")
            os.replace(temporary, final)
            self._to_the_hour(final)
            directory = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # the rename itself survives a power cut
            finally:
                os.close(directory)
        finally:
            temporary.unlink(missing_ok=True)

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


@cache
def _store(dotted: str, root: str) -> BlobStore:
    return import_string(dotted)(root)


def blob_store() -> BlobStore:
    return _store(settings.EVIDENCE_BLOB_STORE, str(settings.EVIDENCE_BLOB_ROOT))
