"""Evidence bundles: a BagIt bag in a tar, signed, sealed as one age file (docs/BUNDLES.md).

Everything streams: each payload file is read from its sealed object chunk by chunk,
hashed (SHA-256 and SHA-512) on the way into the tar, and the tar goes straight into an
age Encryptor writing to the sink.  Nothing is written in plaintext, and memory stays
bounded whatever the size of the case: only the manifests (a line per file) are held.

The platform's Ed25519 signing key signs ``tagmanifest-sha256.txt``, which holds the
digests of ``bag-info.txt`` and of the payload manifests, and so of every file.  It is a
key for integrity, not secrecy: it opens nothing.  It also signs each bundle builder's
row, so that a row written into the database by anyone else is lent nothing
(``sign_statement``; bundles/builder.py).  It lives in a file
(``EVIDENCE_SIGNING_KEY_FILE``), made on first use; back it up, because bundles signed
with a lost key still verify but new ones will carry a new key.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from evidence import age

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
SOFTWARE = "Safe Report"
NAME_LIMIT = 80
COPY_CHUNK = 1024 * 1024


class BundleBroken(Exception):
    """A file read for the bundle is not what was recorded at receipt (its SHA-256 or its
    size differ): the bundle is not made, and the reason says which file."""


# --- the signing key --------------------------------------------------------------------


def _key_path() -> Path:
    return Path(settings.EVIDENCE_SIGNING_KEY_FILE)


def signing_key() -> Ed25519PrivateKey:
    """The platform's signing key, made (mode 0600) the first time it is needed."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: two processes making it at once keep the first one's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_key_pem(key: Ed25519PrivateKey | None = None) -> bytes:
    return (
        (key or signing_key())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_fingerprint(key: Ed25519PrivateKey | None = None) -> str:
    """SHA-256 (hex) of the raw 32 bytes of the public key, as bag-info.txt carries it."""
    raw = (
        (key or signing_key())
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return hashlib.sha256(raw).hexdigest()


def sign_statement(statement: bytes) -> bytes:
    """The signing key's signature over something else than a bundle (a bundle builder's
    registration, bundles/builder.py).  The caller starts ``statement`` with a prefix of
    its own, so that it can never be read as a bundle's tag manifest."""
    return signing_key().sign(statement)


def statement_verifies(signature: bytes, statement: bytes) -> bool:
    try:
        signing_key().public_key().verify(signature, statement)
    except InvalidSignature:
        return False
    return True


# --- names --------------------------------------------------------------------------------


def sanitise_name(name: str) -> str:
    """A name she gave a file, safe in any file system and in a manifest line."""
    name = unicodedata.normalize("NFC", name)
    kept = "".join(c if c.isalnum() or c in ".-_" else "_" for c in name).lstrip(".")
    if len(kept) > NAME_LIMIT:
        stem, dot, extension = kept.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            kept = stem[: NAME_LIMIT - len(extension) - 1] + "." + extension
        else:
            kept = kept[:NAME_LIMIT]
    return kept or "file"


def manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in a file path are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


# --- the writer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayloadFile:
    """One file under data/: its size (needed before its bytes, for the tar header), a
    function that opens its plaintext, and, for an original, the SHA-256 recorded at
    receipt, checked on the way."""

    path: str
    size: int
    open: Callable[[], BinaryIO]
    expected_sha256: str = ""


@dataclass
class Digest:
    sha256: str
    sha512: str
    size: int


class _Hashing:
    """A reader that hashes what passes through it and reports progress.  tarfile wants
    exactly the bytes it asks for until the end, so short reads are filled here."""

    def __init__(self, source: BinaryIO, progress: Callable[[int], None]) -> None:
        self.source = source
        self.progress = progress
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self.count = 0

    def read(self, size: int = COPY_CHUNK) -> bytes:
        parts, wanted = [], size if size and size > 0 else COPY_CHUNK
        while wanted > 0 and (data := self.source.read(wanted)):
            parts.append(data)
            wanted -= len(data)
        data = b"".join(parts)
        self.sha256.update(data)
        self.sha512.update(data)
        self.count += len(data)
        self.progress(len(data))
        return data


class BundleWriter:
    """Write one bag as a tar, sealed to ``recipients``, into ``sink``.

    ``add()`` payload files in the order they should appear, then ``finish(info)``
    writes bag-info.txt, the manifests, the tag manifests and the signature.  If
    anything raises, call ``abort()``: the age file is left incomplete (and so opens
    nothing); the caller removes it.
    """

    def __init__(
        self,
        sink: BinaryIO,
        *,
        recipients: Iterable[age.Recipient],
        bag_name: str,
        key: Ed25519PrivateKey | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.bag_name = bag_name
        self.key = key or signing_key()
        self.progress = progress or (lambda _n: None)
        self.digests: dict[str, Digest] = {}
        self._sealed = age.Encryptor(list(recipients), sink)
        # Stream mode ("w|"): the tar goes out as it is made, nothing seeks back.  Closed
        # by finish(), or left unfinished by abort(): the age file then opens nothing.
        # Blocks of 1 MiB both ways: tarfile's defaults (16 KiB reads, 10 KiB records)
        # cost ten times the time in copying.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=self._sealed, mode="w|", format=tarfile.PAX_FORMAT, bufsize=COPY_CHUNK
        )
        self._tar.copybufsize = COPY_CHUNK
        self._mtime = int(time.time())
        self._put("bagit.txt", BAGIT_TXT)

    def _info(self, path: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f"{self.bag_name}/{path}")
        info.size = size
        info.mtime = self._mtime
        info.mode = 0o644
        return info

    def _put(self, path: str, data: bytes) -> None:
        self._tar.addfile(self._info(path, len(data)), io.BytesIO(data))

    def add(self, payload: PayloadFile) -> Digest:
        if not payload.path.startswith("data/") or payload.path in self.digests:
            raise ValueError(payload.path)
        with payload.open() as source:
            hashing = _Hashing(source, self.progress)
            self._tar.addfile(self._info(payload.path, payload.size), hashing)
            if hashing.read(1):  # longer than its recorded size
                raise BundleBroken(payload.path)
        digest = Digest(hashing.sha256.hexdigest(), hashing.sha512.hexdigest(), hashing.count)
        if digest.size != payload.size or (
            payload.expected_sha256 and payload.expected_sha256 != digest.sha256
        ):
            raise BundleBroken(payload.path)
        self.digests[payload.path] = digest
        return digest

    def add_bytes(self, path: str, data: bytes) -> Digest:
        return self.add(PayloadFile(path, len(data), lambda: io.BytesIO(data)))

    def _manifest(self, digests: dict[str, Digest], algorithm: str) -> bytes:
        lines = [
            f"{getattr(d, algorithm)}  {manifest_path(path)}\n"
            for path, d in sorted(digests.items())
        ]
        return "".join(lines).encode()

    def finish(self, info: list[tuple[str, str]]) -> None:
        """Write the tag files and the signature, close the tar and the age file."""
        octets = sum(d.size for d in self.digests.values())
        labels = [
            *info,
            ("Signing-Key-SHA256", public_key_fingerprint(self.key)),
            ("Payload-Oxum", f"{octets}.{len(self.digests)}"),
            ("Bag-Software-Agent", SOFTWARE),
        ]
        bag_info = "".join(f"{label}: {value}\n" for label, value in labels).encode()
        tags = {
            "bagit.txt": BAGIT_TXT,
            "bag-info.txt": bag_info,
            "manifest-sha256.txt": self._manifest(self.digests, "sha256"),
            "manifest-sha512.txt": self._manifest(self.digests, "sha512"),
        }
        for path in ("bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"):
            self._put(path, tags[path])
        tag_digests = {
            path: Digest(hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), 0)
            for path, data in tags.items()
        }
        tagmanifest = self._manifest(tag_digests, "sha256")
        self._put("tagmanifest-sha256.txt", tagmanifest)
        self._put("tagmanifest-sha512.txt", self._manifest(tag_digests, "sha512"))
        signature = base64.b64encode(self.key.sign(tagmanifest)) + b"\n"
        self._put("signature/tagmanifest-sha256.txt.sig", signature)
        self._put("signature/signing-key.pem", public_key_pem(self.key))
        self._tar.close()
        self._sealed.close()

    def abort(self) -> None:
        # Nothing more goes out: the tar's buffered stream must not flush its last block
        # into the age writer (now, or when it is collected).
        self._tar.closed = True
        self._tar.fileobj.closed = True
        self._sealed.abort()
