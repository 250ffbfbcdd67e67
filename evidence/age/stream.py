"""The STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks, and the whole-file API."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from evidence.age.encoding import ARMOR_BEGIN, ArmorReader, ArmorWriter
from evidence.age.errors import (
    MalformedPayload,
    NoIdentityMatch,
    PayloadAuthenticationFailed,
    TrailingData,
    TruncatedPayload,
)
from evidence.age.header import Header, Stanza, hkdf, read_header
from evidence.age.keys import FILE_KEY_SIZE, Identity, Recipient

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
NONCE_SIZE = 16
_LAST_COUNTER = (1 << 88) - 1


def _chunk_nonce(counter: int, final: bool) -> bytes:
    if counter > _LAST_COUNTER:
        raise MalformedPayload("payload too long for the STREAM counter")
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _payload_cipher(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))


def _wrap_all(
    recipients: Iterable[Recipient], file_key: bytes, ephemerals: Iterable[bytes] | None
) -> list[Stanza]:
    if ephemerals is None:
        return [stanza for recipient in recipients for stanza in recipient.wrap(file_key)]
    # Test-only (see X25519Recipient.wrap): one ephemeral secret per recipient, in order;
    # a missing or extra one is an error, not a silent fallback to random ones.
    return [
        stanza
        for recipient, ephemeral in zip(recipients, ephemerals, strict=True)
        for stanza in recipient.wrap(file_key, ephemeral=ephemeral)
    ]


def new_header(
    recipients: Iterable[Recipient],
    file_key: bytes,
    *,
    ephemerals: Iterable[bytes] | None = None,
) -> Header:
    """A header for ``recipients``.  ``ephemerals`` (one X25519 secret per recipient) is
    for the tests that check the browser's twin byte for byte; nothing else passes it."""
    return Header.build(_wrap_all(recipients, file_key, ephemerals), file_key)


def unwrap_file_key(header: Header, identities: Iterable[Identity]) -> bytes:
    """The file key, once the header MAC is verified with it."""
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            header.verify(file_key)
            return file_key
    raise NoIdentityMatch("no identity matches any recipient stanza")


def reissue_header(
    header: bytes | Header,
    identities: Iterable[Identity],
    recipients: Iterable[Recipient],
    *,
    ephemerals: Iterable[bytes] | None = None,
) -> bytes:
    """A header for ``recipients`` over the same payload: the payload is not touched.

    The new header replaces the old: recipients missing from the list lose access as
    soon as the old header is deleted.  ``ephemerals`` is test-only (see new_header).
    """
    if isinstance(header, bytes):
        header = read_header(io.BytesIO(header))
    file_key = unwrap_file_key(header, identities)
    return new_header(recipients, file_key, ephemerals=ephemerals).raw


def add_stanzas(
    header: bytes | Header,
    identities: Iterable[Identity],
    recipients: Iterable[Recipient],
    *,
    ephemerals: Iterable[bytes] | None = None,
) -> bytes:
    """The same header with stanzas for ``recipients`` added and every other stanza kept
    as it is (a recipient's public key cannot be read back from its stanza, so this is
    how to add one without knowing the others).  ``ephemerals`` is test-only (see
    new_header)."""
    if isinstance(header, bytes):
        header = read_header(io.BytesIO(header))
    file_key = unwrap_file_key(header, identities)
    added = _wrap_all(recipients, file_key, ephemerals)
    return Header.build([*header.stanzas, *added], file_key).raw


def drop_stanzas(header: bytes | Header, identity: Identity) -> bytes:
    """The same header without the stanzas ``identity`` opens: it gives up its access."""
    if isinstance(header, bytes):
        header = read_header(io.BytesIO(header))
    file_key = unwrap_file_key(header, [identity])
    kept = [stanza for stanza in header.stanzas if identity.unwrap([stanza]) is None]
    return Header.build(kept, file_key).raw


class PayloadWriter:
    """Push-style encryptor: ``write()`` any sizes, then ``close()``.

    Buffers at most one chunk of plaintext: a full chunk is only sealed once more data
    shows it is not the last.  ``sha256`` and ``size`` describe the plaintext.  Past the
    first MiB, chunks are encrypted and written by a sealer thread while the caller's
    thread hashes the next ones (both release the GIL); at most a few MiB wait between
    the two threads, so memory stays bounded whatever the input size.
    """

    _THREAD_AFTER = 16  # chunks sealed inline (1 MiB) before the sealer thread starts
    _BATCH_CHUNKS = 16  # chunks handed to the sealer at a time
    _QUEUE_BATCHES = 4  # so at most 4 MiB waits between the two threads

    def __init__(self, file_key: bytes, sink: BinaryIO) -> None:
        self.sink = sink
        nonce = os.urandom(NONCE_SIZE)
        self.cipher = _payload_cipher(file_key, nonce)
        self.sink.write(nonce)
        self.buffer = bytearray()
        self.counter = 0
        self.size = 0
        self._hash = hashlib.sha256()
        self.closed = False
        self._queue: queue.Queue | None = None
        self._sealer: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to a closed age writer")
        view = memoryview(data).cast("B")
        if not isinstance(data, bytes):
            # The sealer may read a chunk after write() returns: it needs bytes the
            # caller cannot change, so a mutable buffer is copied once.
            view = memoryview(bytes(view))
        self._hash.update(view)
        self.size += len(view)
        chunks: list[bytes | memoryview] = []
        if len(self.buffer) == CHUNK_SIZE and view:
            chunks.append(bytes(self.buffer))  # more data follows: not the final chunk
            self.buffer.clear()
        if self.buffer:
            take = CHUNK_SIZE - len(self.buffer)
            self.buffer += view[:take]
            view = view[take:]
            if view:
                chunks.append(bytes(self.buffer))
                self.buffer.clear()
        # Whole chunks are sealed straight from the caller's bytes; the last full chunk
        # stays buffered until more data (or close) says whether it is final.
        while len(view) > CHUNK_SIZE:
            chunks.append(view[:CHUNK_SIZE])
            view = view[CHUNK_SIZE:]
        self.buffer += view
        for i in range(0, len(chunks), self._BATCH_CHUNKS):
            self._seal(chunks[i : i + self._BATCH_CHUNKS], final=False)
        return len(data)

    def _seal(self, chunks: list[bytes | memoryview], *, final: bool) -> None:
        if not chunks:
            return
        batch = []
        for chunk in chunks:
            batch.append((_chunk_nonce(self.counter, final), chunk))
            self.counter += 1
        if self._sealer is None and self.counter > self._THREAD_AFTER and not final:
            self._queue = queue.Queue(maxsize=self._QUEUE_BATCHES)
            self._sealer = threading.Thread(target=self._seal_loop, name="age-sealer", daemon=True)
            self._sealer.start()
        if self._queue is None:
            self.sink.write(b"".join(self.cipher.encrypt(n, c, None) for n, c in batch))
            return
        self._raise_sealer_error()
        self._queue.put(batch)

    def _seal_loop(self) -> None:
        batches = self._queue
        while (batch := batches.get()) is not None:
            if self._error is None:
                try:
                    for nonce, chunk in batch:
                        self.sink.write(self.cipher.encrypt(nonce, chunk, None))
                except BaseException as exc:  # e.g. disk full: re-raised in the caller
                    self._error = exc

    def _stop_sealer(self) -> None:
        if self._sealer is not None:
            self._queue.put(None)
            self._sealer.join()
            self._sealer = None

    def _raise_sealer_error(self) -> None:
        if self._error is not None:
            self._stop_sealer()
            self.closed = True
            raise self._error

    def close(self) -> None:
        if self.closed:
            return
        self._seal([bytes(self.buffer)], final=True)
        self.buffer.clear()
        self._stop_sealer()
        self.closed = True
        self._raise_sealer_error()

    def abort(self) -> None:
        """Stop without sealing a final chunk: what was written stays incomplete."""
        self._stop_sealer()
        self.closed = True

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __enter__(self) -> PayloadWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Encryptor(PayloadWriter):
    """Seal to recipients.  The header goes to ``header_sink`` if one is given (stored
    apart, e.g. in the database), otherwise in front of the payload as in an age file."""

    def __init__(
        self,
        recipients: Iterable[Recipient],
        sink: BinaryIO,
        *,
        header_sink: BinaryIO | None = None,
        armor: bool = False,
    ) -> None:
        file_key = os.urandom(FILE_KEY_SIZE)
        self.header = new_header(recipients, file_key)
        self._armor = ArmorWriter(sink) if armor else None
        out = self._armor or sink
        (header_sink or out).write(self.header.raw)
        super().__init__(file_key, out)

    def close(self) -> None:
        already = self.closed
        super().close()
        if self._armor is not None and not already:
            self._armor.close()


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) in (0, size):
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = source.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class PayloadReader(io.RawIOBase):
    """Pull-style decryptor over a payload (nonce + chunks), as a readable stream.

    A chunk's plaintext is released only after its tag verified; the end of input
    without a final chunk raises TruncatedPayload, bytes after it TrailingData.
    """

    def __init__(self, file_key: bytes, source: BinaryIO) -> None:
        super().__init__()
        self.source = source
        nonce = _read_exactly(source, NONCE_SIZE)
        if len(nonce) < NONCE_SIZE:
            raise TruncatedPayload("payload shorter than its nonce")
        self.cipher = _payload_cipher(file_key, nonce)
        self.counter = 0
        self.finished = False
        self.pending = b""
        self.offset = 0
        self.next_sealed = _read_exactly(source, CHUNK_SIZE + TAG_SIZE)

    def readable(self) -> bool:
        return True

    def chunks(self) -> Iterator[bytes]:
        while True:
            chunk = self._next_chunk()
            if chunk is None:
                return
            yield chunk

    def _decrypt(self, sealed: bytes, final: bool) -> bytes | None:
        try:
            return self.cipher.decrypt(_chunk_nonce(self.counter, final), sealed, None)
        except InvalidTag:
            return None

    def _next_chunk(self) -> bytes | None:
        if self.finished:
            return None
        sealed = self.next_sealed
        if len(sealed) < TAG_SIZE:
            raise TruncatedPayload("payload ends without a final chunk")
        if len(sealed) < CHUNK_SIZE + TAG_SIZE:
            plain = self._decrypt(sealed, final=True)
            if plain is None:
                raise PayloadAuthenticationFailed(f"chunk {self.counter} failed authentication")
            return self._finish(plain)
        self.next_sealed = _read_exactly(self.source, CHUNK_SIZE + TAG_SIZE)
        if not self.next_sealed:
            # A full chunk at the end: final, or the file was cut at a chunk boundary.
            plain = self._decrypt(sealed, final=True)
            if plain is not None:
                return self._finish(plain)
            if self._decrypt(sealed, final=False) is not None:
                raise TruncatedPayload("payload ends without a final chunk")
            raise PayloadAuthenticationFailed(f"chunk {self.counter} failed authentication")
        plain = self._decrypt(sealed, final=False)
        if plain is None:
            if self._decrypt(sealed, final=True) is not None:
                raise TrailingData("data after the final chunk")
            raise PayloadAuthenticationFailed(f"chunk {self.counter} failed authentication")
        self.counter += 1
        return plain

    def _finish(self, plain: bytes) -> bytes:
        if not plain and self.counter > 0:
            raise MalformedPayload("empty final chunk after other chunks")
        if self.source.read(1):
            raise TrailingData("data after the final chunk")
        self.finished = True
        return plain

    def readinto(self, buffer) -> int:
        while self.offset >= len(self.pending):
            chunk = self._next_chunk()
            if chunk is None:
                return 0
            self.pending, self.offset = chunk, 0
        n = min(len(buffer), len(self.pending) - self.offset)
        buffer[:n] = self.pending[self.offset : self.offset + n]
        self.offset += n
        return n


def _maybe_dearmor(source: BinaryIO) -> BinaryIO:
    """Binary age files start with the version line; anything else must be armor."""
    if hasattr(source, "peek"):
        head = source.peek(64)[:64]
    elif source.seekable():
        start = source.tell()
        head = source.read(64)
        source.seek(start)
    else:
        source = io.BufferedReader(source)
        head = source.peek(64)[:64]
    if head.lstrip().startswith(ARMOR_BEGIN[:10]):
        return ArmorReader(source)  # type: ignore[return-value]
    return source


def open_sealed(
    source: BinaryIO, identities: Iterable[Identity], *, header: bytes | None = None
) -> PayloadReader:
    """Decrypt a whole age file (binary or armored), or a payload whose header is given."""
    if header is None:
        source = _maybe_dearmor(source)
        parsed = read_header(source)
    else:
        parsed = read_header(io.BytesIO(header))
    return PayloadReader(unwrap_file_key(parsed, identities), source)


def encrypt(data: bytes, recipients: Iterable[Recipient], *, armor: bool = False) -> bytes:
    out = io.BytesIO()
    with Encryptor(recipients, out, armor=armor) as writer:
        writer.write(data)
    return out.getvalue()


def decrypt(data: bytes, identities: Iterable[Identity]) -> bytes:
    return open_sealed(io.BytesIO(data), identities).read()
