#!/usr/bin/env python3
"""Verify a Safe Report evidence bundle, as docs/BUNDLES.md describes it.

    python3 verify_bundle.py bundle.age --identity key.txt [--public-key signing-key.pem]
    python3 verify_bundle.py bundle.tar                      (an already opened bundle)
    python3 verify_bundle.py bundle-C-000123-20261122/       (an unpacked bag)

This one file needs only Python 3.11+ and the ``cryptography`` package (40 or later,
``pip install cryptography``): it imports nothing else, so that anyone can read it and
run it away from the platform.  It opens the age file itself (X25519 keys only), reads
the tar inside as a stream, and hashes every file as it passes: nothing is written to
disk, and memory stays small whatever the size of the files (about 1 KiB per file is
kept, to compare with the manifests).  Every check is printed on its own line; the last line is
``VALID`` or ``NOT VALID: <first reason>``.  Exit status: 0 valid, 1 not valid,
2 the verifier could not be run (missing key, unreadable file, bad arguments).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import stat
import sys
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

EXIT_VALID, EXIT_NOT_VALID, EXIT_USAGE = 0, 1, 2

# Small files kept in memory to be parsed; every other file is only hashed as it passes.
KEPT_FILES = frozenset(
    {
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
        "signature/tagmanifest-sha256.txt.sig",
        "signature/signing-key.pem",
        "data/custody.jsonl",
    }
)
SIGNATURE_FILES = ("signature/tagmanifest-sha256.txt.sig", "signature/signing-key.pem")
KEPT_LIMIT = 8 * 1024 * 1024  # a tag file or custody log larger than this is refused
BLOCK = 1024 * 1024
ALGORITHMS = ("sha256", "sha512")
_NAMES = {"sha256": "SHA-256", "sha512": "SHA-512"}
TAGGED_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt")
BAG_INFO_LABELS = (
    "Source-Organization",
    "External-Identifier",
    "Bundle-Identifier",
    "Bagging-Date",
    "Requested-By",
    "Approved-By",
    "Internal-Notes",
    "Messages",
    "Signing-Key-SHA256",
    "Payload-Oxum",
    "Bag-Software-Agent",
)
BAGIT_DECLARATION = ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"]
_LISTED_AT_MOST = 5  # problems named in one line before "and N more"


class UsageError(Exception):
    """The verifier cannot run as asked (exit status 2): not a verdict on the bundle."""


class AgeFailure(Exception):
    """The age layer is broken: the message says how, in words."""


# ======================================================================================
# age v1 decryption (c2sp.org/age), X25519 identities only
# ======================================================================================

AGE_VERSION_LINE = b"age-encryption.org/v1\n"
AGE_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_MAX_HEADER_LINE = 8192
_MAX_STANZAS = 256
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_X25519_INFO = b"age-encryption.org/v1/X25519"
FILE_KEY_SIZE = 16
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
NONCE_SIZE = 16
_LAST_COUNTER = (1 << 88) - 1


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _b64decode_unpadded(text: bytes) -> bytes:
    """Canonical unpadded standard base64, as the age header uses it; ValueError if not."""
    if b"=" in text or len(text) % 4 == 1:
        raise ValueError("base64 with padding or of an impossible length")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None
    if base64.b64encode(data).rstrip(b"=") != text:
        raise ValueError("non-canonical base64")
    return data


# --- Bech32 (BIP 173 without its length limit), for AGE-SECRET-KEY-1... ----------------

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_BECH32_GENERATORS):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _bech32_decode(text: str) -> tuple[str, bytes]:
    if text.lower() != text and text.upper() != text:
        raise ValueError("Bech32 mixes upper and lower case")
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1 or separator + 7 > len(lowered):
        raise ValueError("not a Bech32 string")
    if any(not 33 <= ord(c) <= 126 for c in lowered):
        raise ValueError("Bech32 with characters outside ASCII")
    hrp, rest = lowered[:separator], lowered[separator + 1 :]
    try:
        words = [_BECH32_CHARSET.index(c) for c in rest]
    except ValueError:
        raise ValueError("Bech32 with a character outside its alphabet") from None
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _bech32_polymod(expanded + words) != 1:
        raise ValueError("Bech32 checksum mismatch")
    acc = bits = 0
    out = bytearray()
    for word in words[:-6]:
        acc = (acc << 5) | word
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc << (8 - bits)) & 0xFF:
        raise ValueError("invalid Bech32 padding")
    return hrp, bytes(out)


def parse_identity_file(text: str) -> list[X25519PrivateKey]:
    """The keys of an age identity file: ``AGE-SECRET-KEY-1...`` lines; blank lines and
    ``#`` comments (as age-keygen writes them) are skipped.  ValueError if none or bad."""
    keys = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            hrp, secret = _bech32_decode(line)
        except ValueError as exc:
            raise ValueError(f"line {number} is not an age secret key ({exc})") from None
        if hrp != "age-secret-key-" or len(secret) != 32 or line != line.upper():
            raise ValueError(f"line {number} is not an AGE-SECRET-KEY-1... X25519 key")
        keys.append(X25519PrivateKey.from_private_bytes(secret))
    if not keys:
        raise ValueError("it holds no AGE-SECRET-KEY-1... line")
    return keys


# --- header -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes


def _header_line(source: BinaryIO) -> bytes:
    line = source.readline(_MAX_HEADER_LINE + 1)
    if not line.endswith(b"\n"):
        if len(line) > _MAX_HEADER_LINE:
            raise AgeFailure("the age header has a line too long to be valid")
        raise AgeFailure("the file ends inside the age header")
    return line


def read_age_header(source: BinaryIO) -> tuple[list[Stanza], bytes, bytes]:
    """(stanzas, MAC, the header bytes the MAC covers), ``source`` left at the payload."""
    covered = bytearray()
    line = _header_line(source)
    if line != AGE_VERSION_LINE:
        raise AgeFailure("it is not an age v1 file (its first line is wrong)")
    covered += line
    stanzas: list[Stanza] = []
    line = _header_line(source)
    while line.startswith(b"-> "):
        if len(stanzas) == _MAX_STANZAS:
            raise AgeFailure("the age header has too many recipient stanzas")
        covered += line
        words = line[3:-1].split(b" ")
        if any(not w or any(not 33 <= c <= 126 for c in w) for w in words):
            raise AgeFailure("an age header stanza has an empty or non-ASCII argument")
        body = bytearray()
        while True:
            body_line = _header_line(source)
            covered += body_line
            text = body_line[:-1]
            if len(text) > _COLUMNS or not _B64_CHARS.issuperset(text):
                raise AgeFailure("an age header stanza body is not base64 in 64 columns")
            body += text
            if len(text) < _COLUMNS:
                break
        try:
            decoded = _b64decode_unpadded(bytes(body))
        except ValueError as exc:
            raise AgeFailure(f"an age header stanza body is malformed ({exc})") from None
        stanzas.append(Stanza(words[0].decode(), tuple(w.decode() for w in words[1:]), decoded))
        line = _header_line(source)
    if not stanzas:
        raise AgeFailure("the age header names no recipient")
    if not line.startswith(b"--- ") or len(line) != 4 + 43 + 1:
        raise AgeFailure("the age header has no valid MAC line")
    try:
        mac = _b64decode_unpadded(line[4:-1])
    except ValueError:
        raise AgeFailure("the age header MAC is not valid base64") from None
    covered += b"---"
    return stanzas, mac, bytes(covered)


def _unwrap_file_key(stanzas: list[Stanza], identities: list[X25519PrivateKey]) -> bytes:
    if any(s.type == "scrypt" for s in stanzas):
        raise AgeFailure(
            "the file is sealed with a passphrase, not to a key: this verifier opens only "
            "files sealed to an X25519 key (AGE-SECRET-KEY-1...)"
        )
    for stanza in stanzas:
        if stanza.type != "X25519":
            continue  # other recipient types (and "grease") are skipped, as age does
        if len(stanza.args) != 1:
            raise AgeFailure("an X25519 stanza of the age header is malformed")
        try:
            share = _b64decode_unpadded(stanza.args[0].encode())
        except ValueError:
            share = b""
        if len(share) != 32 or len(stanza.body) != FILE_KEY_SIZE + TAG_SIZE:
            raise AgeFailure("an X25519 stanza of the age header is malformed")
        for identity in identities:
            try:
                shared = identity.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # OpenSSL refuses the all-zero secret of a low-order point
                raise AgeFailure("an X25519 stanza of the age header is malformed") from None
            own = identity.public_key().public_bytes_raw()
            wrap_key = _hkdf(shared, share + own, _X25519_INFO)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(bytes(12), stanza.body, None)
            except InvalidTag:
                continue
    raise AgeFailure(
        "cannot open the file: none of the given keys is one it was sealed to "
        "(a wrong key, or an altered header)"
    )


# --- payload (STREAM) ----------------------------------------------------------------


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        more = source.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class AgePayloadReader:
    """Decrypts the payload chunk by chunk: ``read()`` releases a chunk's plaintext only
    once its tag verified.  At most two 64 KiB chunks are held at a time."""

    def __init__(self, file_key: bytes, source: BinaryIO) -> None:
        self.source = source
        nonce = _read_exactly(source, NONCE_SIZE)
        if len(nonce) < NONCE_SIZE:
            raise AgeFailure("the file ends before its encrypted payload starts")
        self.cipher = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self.counter = 0  # chunks released so far
        self.size = 0  # plaintext bytes released so far
        self.finished = False
        self.pending = b""
        self.offset = 0
        self.next_sealed = _read_exactly(source, CHUNK_SIZE + TAG_SIZE)

    def _open(self, sealed: bytes, final: bool) -> bytes | None:
        if self.counter > _LAST_COUNTER:
            raise AgeFailure("the payload is too long for age's chunk counter")
        nonce = self.counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")
        try:
            return self.cipher.decrypt(nonce, sealed, None)
        except InvalidTag:
            return None

    def _failed(self) -> AgeFailure:
        return AgeFailure(
            f"chunk {self.counter + 1} of the encrypted payload failed authentication: "
            "the file was altered or damaged"
        )

    def _next_chunk(self) -> bytes | None:
        if self.finished:
            return None
        sealed = self.next_sealed
        if len(sealed) < TAG_SIZE:
            raise AgeFailure("the file was cut short: its payload ends without a final chunk")
        if len(sealed) < CHUNK_SIZE + TAG_SIZE:
            plain = self._open(sealed, final=True)
            if plain is None:
                raise self._failed()
            return self._finish(plain)
        self.next_sealed = _read_exactly(self.source, CHUNK_SIZE + TAG_SIZE)
        if not self.next_sealed:
            # A full chunk at the end: the final one, or the file was cut at a boundary.
            plain = self._open(sealed, final=True)
            if plain is not None:
                return self._finish(plain)
            if self._open(sealed, final=False) is not None:
                raise AgeFailure("the file was cut short: its payload ends without a final chunk")
            raise self._failed()
        plain = self._open(sealed, final=False)
        if plain is None:
            if self._open(sealed, final=True) is not None:
                raise AgeFailure("there is data after the final chunk of the payload")
            raise self._failed()
        self.counter += 1
        self.size += len(plain)
        return plain

    def _finish(self, plain: bytes) -> bytes:
        if not plain and self.counter > 0:
            raise AgeFailure("the payload ends with an empty chunk after others (malformed)")
        if self.source.read(1):
            raise AgeFailure("there is data after the final chunk of the payload")
        self.finished = True
        self.counter += 1
        self.size += len(plain)
        return plain

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self.pending[self.offset :]]
            while (chunk := self._next_chunk()) is not None:
                parts.append(chunk)
            self.pending, self.offset = b"", 0
            return b"".join(parts)
        while self.offset >= len(self.pending):
            chunk = self._next_chunk()
            if chunk is None:
                return b""
            self.pending, self.offset = chunk, 0
        out = self.pending[self.offset : self.offset + size]
        self.offset += len(out)
        return out


def open_age(source: BinaryIO, identities: list[X25519PrivateKey]) -> AgePayloadReader:
    """Check the header of a binary age file and return a reader of its plaintext.
    Raises AgeFailure, in words, for anything wrong."""
    stanzas, mac, covered = read_age_header(source)
    file_key = _unwrap_file_key(stanzas, identities)
    mac_key = _hkdf(file_key, b"", b"header")
    if not hmac.compare_digest(hmac.new(mac_key, covered, hashlib.sha256).digest(), mac):
        raise AgeFailure("the age header MAC does not match: the header was altered")
    return AgePayloadReader(file_key, source)


# ======================================================================================
# Reading the bag: from a tar stream or from a directory, hashing as it goes
# ======================================================================================


@dataclass
class BagFile:
    size: int
    sha256: str
    sha512: str


@dataclass
class Contents:
    """What was read: every file of the bag with its digests, and the small files."""

    root: str = ""
    files: dict[str, BagFile] = field(default_factory=dict)  # path in the bag -> digests
    kept: dict[str, bytes] = field(default_factory=dict)
    too_big: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unsafe archive or directory
    members: int = 0


def show(text: str) -> str:
    """A name as it can be printed safely: control characters (a newline in a file name
    could fake a line of the report) and undecodable bytes are escaped."""
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:_LISTED_AT_MOST])
    if len(items) > _LISTED_AT_MOST:
        shown += f"; and {len(items) - _LISTED_AT_MOST} more"
    return shown


def _take(contents: Contents, path: str, read) -> None:
    """Hash one file as it is read; keep it too if it is one of the small files."""
    digests = [hashlib.sha256(), hashlib.sha512()]
    keep = path in KEPT_FILES
    kept = bytearray()
    size = 0
    while block := read(BLOCK):
        size += len(block)
        for digest in digests:
            digest.update(block)
        if keep:
            if size > KEPT_LIMIT:
                keep = False
                kept = bytearray()
                contents.too_big.append(path)
            else:
                kept += block
    contents.files[path] = BagFile(size, digests[0].hexdigest(), digests[1].hexdigest())
    if keep:
        contents.kept[path] = bytes(kept)


class _Tap:
    """Passes a stream through, counting bytes and keeping the last few hundred KiB, so
    that what follows the end of the tar archive can be checked."""

    TAIL = 256 * 1024

    def __init__(self, source) -> None:
        self.source = source
        self.position = 0
        self.tail = bytearray()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.position += len(data)
        self.tail += data
        if len(self.tail) > self.TAIL:
            del self.tail[: len(self.tail) - self.TAIL]
        return data

    def rest_is_zero(self, end: int) -> bool:
        """Whether every byte from offset ``end`` to the end of the stream is zero."""
        start = self.position - len(self.tail)
        if end < start:
            return False
        if self.tail[end - start :].count(0) != self.position - end:
            return False
        while block := self.read(BLOCK):
            if block.count(0) != len(block):
                return False
        return True


_TAR_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a named pipe",
}


def _member_problem(name: str) -> str | None:
    if name.startswith("/"):
        return f"{show(name)} is an absolute path"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return f"{show(name)} is not a UTF-8 name"
    parts = name.split("/")
    if ".." in parts:
        return f"{show(name)} leads outside the bag ('..')"
    if any(part in ("", ".") for part in parts):
        return f"{show(name)} is not a plain path"
    if "\\" in name:
        return f"{show(name)} holds a backslash, which Windows reads as a folder separator"
    return None


def _tar_member_problem(member: tarfile.TarInfo, name: str, seen: set[str]) -> str | None:
    problem = _member_problem(name)
    if problem is None and name in seen:
        problem = f"{show(name)} appears twice"
    if problem is None and not (member.isdir() or member.type in tarfile.REGULAR_TYPES):
        problem = f"{show(name)} is {_TAR_KINDS.get(member.type, 'not a file or folder')}"
    if problem is None and not member.isdir() and member.type not in _PLAIN_FILE:
        problem = f"{show(name)} is a special kind of tar entry (sparse or continued)"
    return problem


_PLAIN_FILE = (tarfile.REGTYPE, tarfile.AREGTYPE)


def read_tar(stream, contents: Contents) -> None:
    """Read a tar archive as a stream; hash the files of its one bag directory."""
    tap = _Tap(stream)
    roots: set[str] = set()
    seen: set[str] = set()
    try:
        with tarfile.open(
            fileobj=tap, mode="r|", encoding="utf-8", errors="surrogateescape", bufsize=65536
        ) as archive:
            for member in archive:
                contents.members += 1
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                if name == "." and member.isdir():
                    continue  # `tar -cf x.tar .` names the folder it was run in
                problem = _tar_member_problem(member, name, seen)
                if problem is not None:
                    contents.problems.append(problem)
                    continue
                seen.add(name)
                root, _, inner = name.partition("/")
                roots.add(root)
                if member.isdir():
                    continue
                if not inner:
                    contents.problems.append(f"{show(name)} is a file outside the bag directory")
                    continue
                _take(contents, inner, archive.extractfile(member).read)
            end = archive.offset
    except (tarfile.TarError, ValueError, EOFError) as exc:
        if not contents.members:
            contents.problems.append("it is not a readable tar archive")
        else:
            contents.problems.append(f"the tar archive is damaged ({show(str(exc))})")
        return
    if len(roots) > 1:
        names = ", ".join(show(r) for r in sorted(roots))
        contents.problems.append(f"it holds more than one top directory ({names})")
    elif not roots:
        contents.problems.append("it holds no bag directory")
    else:
        contents.root = roots.pop()
    if not tap.rest_is_zero(end):
        contents.problems.append("the tar archive is damaged, or has data after its end")


def read_directory(root: Path, contents: Contents) -> None:
    contents.root = root.name
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = prefix + entry.name
                problem = _member_problem(name)
                if problem is not None:
                    contents.problems.append(problem)
                elif entry.is_symlink():
                    contents.problems.append(f"{show(name)} is a symbolic link")
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), name + "/"))
                elif entry.is_file(follow_symlinks=False):
                    contents.members += 1
                    with open(entry.path, "rb") as handle:
                        _take(contents, name, handle.read)
                else:
                    mode = entry.stat(follow_symlinks=False).st_mode
                    kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special"
                    contents.problems.append(f"{show(name)} is {kind}, not a regular file")


# ======================================================================================
# The report
# ======================================================================================


@dataclass
class Report:
    """Each check as ``(ok, text)``; ``lines`` adds notes in their place, for printing."""

    checks: list[tuple[bool, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def add(self, ok: bool, text: str) -> bool:
        self.checks.append((ok, text))
        self.lines.append(("[ok]   " if ok else "[FAIL] ") + text)
        return ok

    def note(self, text: str) -> None:
        self.lines.append("[note] " + text)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    @property
    def reason(self) -> str | None:
        return next((text for ok, text in self.checks if not ok), None)

    @property
    def verdict(self) -> str:
        return "VALID" if self.valid else f"NOT VALID: {self.reason or 'nothing was checked'}"

    def render(self) -> list[str]:
        return [*self.lines, self.verdict]


# ======================================================================================
# The checks
# ======================================================================================

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MANIFEST_LINE = re.compile(r"([0-9A-Fa-f]+)[ \t]+(.+)")
_PERCENT = re.compile(r"%(25|0[AaDd])")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ORIGINAL_NAME = re.compile(r"([0-9a-f]{64})_(.+)")
_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")


def _text_lines(data: bytes) -> list[str]:
    """The lines of a UTF-8 tag file (LF, CRLF or CR, RFC 8493); ValueError if not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _decode_path(path: str) -> str:
    return _PERCENT.sub(lambda m: {"25": "%", "0a": "\n", "0d": "\r"}[m.group(1).lower()], path)


def parse_manifest(data: bytes, algorithm: str) -> dict[str, str]:
    """``{path: hex digest}`` of a (tag) manifest; ValueError, in words, if malformed."""
    width = hashlib.new(algorithm).digest_size * 2
    entries: dict[str, str] = {}
    for number, line in enumerate(_text_lines(data), 1):
        match = _MANIFEST_LINE.fullmatch(line)
        if not match or len(match.group(1)) != width:
            raise ValueError(f"line {number} is not '<{algorithm} digest>  <path>'")
        path = _decode_path(match.group(2))
        if _member_problem(path) is not None:
            raise ValueError(f"line {number} names an unsafe path, {show(path)}")
        if path in entries:
            raise ValueError(f"{show(path)} is listed twice")
        entries[path] = match.group(1).lower()
    return entries


def parse_bag_info(data: bytes) -> list[tuple[str, str]]:
    """``[(label, value)]`` in order; continuation lines (leading space) are joined."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(_text_lines(data), 1):
        if line[:1] in (" ", "\t"):
            if not pairs:
                raise ValueError(f"line {number} continues nothing")
            label, value = pairs[-1]
            pairs[-1] = (label, f"{value} {line.strip()}")
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip() or label != label.strip():
            raise ValueError(f"line {number} is not 'Label: value'")
        pairs.append((label, value.strip()))
    return pairs


class _Checker:
    def __init__(self, contents: Contents, report: Report) -> None:
        self.contents = contents
        self.report = report
        self.files = contents.files
        self.payload = {p: f for p, f in contents.files.items() if p.startswith("data/")}
        self.info: dict[str, str] = {}

    def kept(self, path: str) -> bytes | None:
        """A small file's bytes; None (with a failed check) if missing or too big."""
        if path in self.contents.too_big:
            self.report.add(False, f"{path} is larger than {KEPT_LIMIT // 2**20} MiB: refused")
            return None
        data = self.contents.kept.get(path)
        if data is None:
            self.report.add(False, f"{path} is missing from the bag")
        return data

    def run(self, public_key: Ed25519PublicKey | None, public_key_name: str) -> None:
        self.bagit_txt()
        for algorithm in ALGORITHMS:
            self.payload_manifest(algorithm)
        self.bag_info()
        self.payload_oxum()
        for algorithm in ALGORITHMS:
            self.tag_manifest(algorithm)
        self.untagged_files()
        self.signature(public_key, public_key_name)
        events = self.custody()
        if events is not None:
            self.originals(events)

    # --- BagIt --------------------------------------------------------------------------

    def bagit_txt(self) -> None:
        data = self.kept("bagit.txt")
        if data is None:
            return
        try:
            ok = _text_lines(data) == BAGIT_DECLARATION
        except ValueError:
            ok = False
        if ok:
            self.report.add(True, "bagit.txt declares a BagIt 1.0 bag with UTF-8 tag files.")
        else:
            self.report.add(
                False,
                "bagit.txt is not exactly 'BagIt-Version: 1.0' and "
                "'Tag-File-Character-Encoding: UTF-8'",
            )

    def manifest(self, name: str, algorithm: str, what: str) -> dict[str, str] | None:
        """The entries of manifest ``name``, or None (said) when it is absent or malformed."""
        data = self.kept(name)
        if data is None:
            return None
        try:
            return parse_manifest(data, algorithm)
        except ValueError as exc:
            self.report.add(False, f"{what} {name} is malformed: {exc}")
            return None

    def payload_manifest(self, algorithm: str) -> None:
        name = f"manifest-{algorithm}.txt"
        entries = self.manifest(name, algorithm, "Payload manifest")
        if entries is None:
            return
        problems = []
        for path, digest in sorted(entries.items()):
            if not path.startswith("data/"):
                problems.append(f"it lists {show(path)}, which is not under data/")
            elif path not in self.payload:
                problems.append(f"{show(path)} is listed but missing from the bag")
            elif getattr(self.payload[path], algorithm) != digest:
                problems.append(f"{show(path)} does not match its {_NAMES[algorithm]} digest")
        for path in sorted(set(self.payload) - set(entries)):
            problems.append(f"{show(path)} is in the bag but not listed")
        if problems:
            self.report.add(False, f"Payload manifest {name}: {_listing(problems)}")
        else:
            self.report.add(
                True,
                f"Payload manifest {name}: all {len(self.payload)} files under data/ are "
                f"listed, none is missing, and every {_NAMES[algorithm]} digest matches.",
            )

    def bag_info(self) -> None:
        data = self.kept("bag-info.txt")
        if data is None:
            return
        try:
            pairs = parse_bag_info(data)
        except ValueError as exc:
            self.report.add(False, f"bag-info.txt is malformed: {exc}")
            return
        labels = [label for label, _ in pairs]
        missing = [label for label in BAG_INFO_LABELS if label not in labels]
        twice = sorted({label for label in BAG_INFO_LABELS if labels.count(label) > 1})
        self.info = {label: value for label, value in pairs if labels.count(label) == 1}
        problems = [f"it has no {label}" for label in missing]
        problems += [f"{label} appears more than once" for label in twice]
        for label in ("Internal-Notes", "Messages"):
            if label in self.info and self.info[label] not in ("included", "not included"):
                problems.append(f"{label} is neither 'included' nor 'not included'")
        messages = "data/messages/conversation.jsonl" in self.payload
        if self.info.get("Messages") == ("not included" if messages else "included"):
            problems.append(
                f"Messages says '{self.info['Messages']}' but the bag "
                + ("holds" if messages else "does not hold")
                + " data/messages/conversation.jsonl"
            )
        if problems:
            self.report.add(False, f"bag-info.txt: {_listing(problems)}")
        else:
            self.report.add(
                True,
                f"bag-info.txt has every label the format requires: case "
                f"{show(self.info['External-Identifier'])}, bundle "
                f"{show(self.info['Bundle-Identifier'])}, bagged "
                f"{show(self.info['Bagging-Date'])} by "
                f"{show(self.info['Source-Organization'])}.",
            )

    def payload_oxum(self) -> None:
        if "bag-info.txt" not in self.contents.kept:
            return
        value = self.info.get("Payload-Oxum")
        match = _OXUM.fullmatch(value or "")
        if not match:
            self.report.add(False, "Payload-Oxum in bag-info.txt is missing or malformed")
            return
        size = sum(f.size for f in self.payload.values())
        count = len(self.payload)
        if (int(match.group(1)), int(match.group(2))) == (size, count):
            self.report.add(True, f"Payload-Oxum {value}: {size} bytes in {count} files.")
        else:
            self.report.add(
                False,
                f"Payload-Oxum says {show(value)}, but data/ holds {size} bytes in {count} files",
            )

    def tag_manifest(self, algorithm: str) -> None:
        name = f"tagmanifest-{algorithm}.txt"
        entries = self.manifest(name, algorithm, "Tag manifest")
        if entries is None:
            return
        problems = []
        for path in TAGGED_FILES:
            if path not in entries:
                problems.append(f"it does not list {path}")
        for path, digest in sorted(entries.items()):
            if path not in self.files:
                problems.append(f"{show(path)} is listed but missing from the bag")
            elif getattr(self.files[path], algorithm) != digest:
                problems.append(f"{show(path)} does not match its {_NAMES[algorithm]} digest")
        if problems:
            self.report.add(False, f"Tag manifest {name}: {_listing(problems)}")
        else:
            listed = ", ".join(show(p) for p in sorted(entries))
            self.report.add(
                True, f"Tag manifest {name}: {listed} match their {_NAMES[algorithm]} digests."
            )

    def untagged_files(self) -> None:
        """Every file outside data/ is vouched for by the signed tag manifest, or is one
        of the files that cannot be (the tag manifests, the signature and its key)."""
        try:
            tagged = parse_manifest(self.contents.kept["tagmanifest-sha256.txt"], "sha256")
        except (KeyError, ValueError):
            return  # already reported
        exempt = {f"tagmanifest-{a}.txt" for a in ALGORITHMS} | set(SIGNATURE_FILES)
        stray = [
            show(path)
            for path in sorted(self.files)
            if not path.startswith("data/") and path not in exempt and path not in tagged
        ]
        if stray:
            self.report.add(
                False,
                f"Files outside data/ that no manifest covers (so no signature vouches for "
                f"them): {_listing(stray)}",
            )

    # --- signature ----------------------------------------------------------------------

    def signature(self, expected: Ed25519PublicKey | None, expected_name: str) -> None:
        signed = self.contents.kept.get("tagmanifest-sha256.txt")
        encoded = self.kept(SIGNATURE_FILES[0])
        pem = self.kept(SIGNATURE_FILES[1])
        if signed is None or encoded is None or pem is None:
            return  # what is missing was reported
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, Ed25519PublicKey):
            self.report.add(
                False, "Signature: signature/signing-key.pem is not an Ed25519 public key"
            )
            return
        raw = key.public_bytes_raw()
        fingerprint = hashlib.sha256(raw).hexdigest()
        try:
            signature = _strict_b64_line(encoded)
        except ValueError:
            self.report.add(
                False,
                "Signature: signature/tagmanifest-sha256.txt.sig is not one line of base64 "
                "holding a 64-byte Ed25519 signature",
            )
            signature = None
        if signature is not None:
            try:
                key.verify(signature, signed)
            except InvalidSignature:
                self.report.add(
                    False,
                    "Signature: the Ed25519 signature does not match tagmanifest-sha256.txt "
                    "and the key in signature/signing-key.pem (something was altered)",
                )
            else:
                self.report.add(
                    True,
                    "Signature: the Ed25519 signature of tagmanifest-sha256.txt is valid for "
                    "the key in signature/signing-key.pem: the manifests are as they were signed.",
                )
        declared = self.info.get("Signing-Key-SHA256")
        if declared is None:
            self.report.add(False, "Signing key: bag-info.txt has no Signing-Key-SHA256")
        elif declared.lower() == fingerprint:
            self.report.add(
                True, f"Signing key: its SHA-256 {fingerprint} matches Signing-Key-SHA256."
            )
        else:
            self.report.add(
                False,
                f"Signing key: signature/signing-key.pem has SHA-256 {fingerprint}, but "
                f"bag-info.txt says Signing-Key-SHA256 {show(declared)}",
            )
        if expected is None:
            self.report.note(
                "No --public-key was given, so the signing key was only checked against "
                "the copy inside the bag: that shows the bag has not changed since it was "
                "signed, not who signed it.  Check that the key's SHA-256 "
                f"{fingerprint} is the platform's (published at /bundles/signing-key.pem), "
                "or run again with --public-key."
            )
        elif expected.public_bytes_raw() == raw:
            self.report.add(
                True, f"Signing key: it is the key given with --public-key ({expected_name})."
            )
        else:
            theirs = hashlib.sha256(expected.public_bytes_raw()).hexdigest()
            self.report.add(
                False,
                f"Signing key: the bag was signed with the key of SHA-256 {fingerprint}, "
                f"not with the key given with --public-key ({expected_name}, SHA-256 {theirs})",
            )

    # --- custody ------------------------------------------------------------------------

    def custody(self) -> list[dict] | None:
        data = self.kept("data/custody.jsonl")
        if data is None:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.report.add(False, "Chain of custody: data/custody.jsonl is not UTF-8 text")
            return None
        events: list[dict] = []
        problems: list[str] = []
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line, object_pairs_hook=_unique_keys)
            except ValueError:
                problems.append(f"line {number} is not a JSON object")
                continue
            problem = _custody_problem(event, self.payload)
            if problem:
                problems.append(f"line {number}: {problem}")
                continue
            event["line"] = number
            events.append(event)
        if problems:
            self.report.add(False, f"Chain of custody: {_listing(problems)}")
            return events
        if not events:
            self.report.add(False, "Chain of custody: data/custody.jsonl holds no event")
            return events
        self.report.add(
            True,
            f"Chain of custody: each of the {len(events)} events in data/custody.jsonl "
            "names a file in the bag, with that file's SHA-256 and size.",
        )
        return events

    def originals(self, events: list[dict]) -> None:
        originals = sorted(p for p in self.payload if p.startswith("data/originals/"))
        copies = sorted(p for p in self.payload if p.startswith("data/working-copies/"))
        bundle = self.info.get("Bundle-Identifier")
        problems = []
        original_digests = set()
        for path in originals:
            digest = self.payload[path].sha256
            original_digests.add(digest)
            match = _ORIGINAL_NAME.fullmatch(path.removeprefix("data/originals/"))
            if not match or match.group(1) != digest:
                problems.append(f"{show(path)}: its name does not begin with its SHA-256")
            own = [e for e in events if e["path"] == path]
            if not own or own[0]["action"] != "received":
                problems.append(f"{show(path)}: its first custody event is not 'received'")
            if not own or own[-1]["action"] != "exported":
                problems.append(f"{show(path)}: its last custody event is not 'exported'")
            elif bundle is not None and _detail(own[-1]).get("bundle") != bundle:
                problems.append(
                    f"{show(path)}: its 'exported' event names another bundle than "
                    "Bundle-Identifier"
                )
        for path in copies:
            match = _ORIGINAL_NAME.fullmatch(path.removeprefix("data/working-copies/"))
            if not match or match.group(1) not in original_digests:
                problems.append(
                    f"{show(path)}: its name does not begin with the SHA-256 of an original "
                    "in the bag"
                )
            if not any(e["path"] == path and e["action"] == "working_copy_made" for e in events):
                problems.append(f"{show(path)}: no 'working_copy_made' custody event")
        if problems:
            self.report.add(False, f"Originals: {_listing(problems)}")
        else:
            self.report.add(
                True,
                f"Originals: {_count(originals, 'original')}, each named by its SHA-256, "
                "'received' first and 'exported' last in this bundle; "
                + (
                    f"{_count(copies, 'working copy', 'working copies')}, each made from "
                    "one of them."
                    if copies
                    else "no working copy."
                ),
            )


def _count(items: list, one: str, many: str | None = None) -> str:
    return f"{len(items)} {one if len(items) == 1 else many or one + 's'}"


def _strict_b64_line(data: bytes) -> bytes:
    if not re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}\n", data):
        raise ValueError("not one line of base64")
    try:
        decoded = base64.b64decode(data[:-1], validate=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None
    if base64.b64encode(decoded) != data[:-1] or len(decoded) != 64:
        raise ValueError("not a canonical 64-byte signature")
    return decoded


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def _detail(event: dict) -> dict:
    detail = event.get("detail")
    return detail if isinstance(detail, dict) else {}


def _custody_problem(event: object, payload: dict[str, BagFile]) -> str | None:
    if not isinstance(event, dict):
        return "not a JSON object"
    for key in ("action", "actor", "at", "path", "sha256"):
        if not isinstance(event.get(key), str):
            return f"no '{key}' text"
    size = event.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "no 'size' number"
    try:
        when = datetime.fromisoformat(event["at"])
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return f"'at' is not an ISO 8601 time with its offset ({show(event['at'])})"
    path = event["path"]
    if not path.startswith("data/") or path == "data/custody.jsonl":
        return f"it names {show(path)}, which is not a file of the payload"
    if path not in payload:
        return f"it names {show(path)}, which is not in the bag"
    if not _HEX64.fullmatch(event["sha256"]):
        return "its sha256 is not 64 lowercase hex digits"
    if event["sha256"] != payload[path].sha256:
        return f"the SHA-256 of {show(path)} does not match"
    if size != payload[path].size:
        return (
            f"the size of {show(path)} does not match "
            f"({size} recorded, {payload[path].size} in the bag)"
        )
    return None


# ======================================================================================
# Entry points
# ======================================================================================


def load_public_key(path: str | os.PathLike) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; UsageError if unreadable or not one."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the public key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key in PEM form")
    return key


def _load_identities(path: str | os.PathLike) -> list[X25519PrivateKey]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read the identity file {path}: {why}") from None
    try:
        return parse_identity_file(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not an age identity file: {exc}") from None


def _kind(path: Path, head: bytes) -> str:
    if path.is_dir():
        return "directory"
    if head.startswith(AGE_VERSION_LINE[:10]) or head.lstrip().startswith(AGE_ARMOR_BEGIN[:10]):
        return "age"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return "age" if path.suffix == ".age" else "unknown"


def verify(
    path: str | os.PathLike,
    *,
    identity_file: str | os.PathLike | None = None,
    public_key_file: str | os.PathLike | None = None,
) -> Report:
    """Check a bundle (.age file, opened .tar, or bag directory); UsageError if the
    verifier cannot run (missing identity, unreadable file or key)."""
    path = Path(path)
    public_key = load_public_key(public_key_file) if public_key_file is not None else None
    public_key_name = show(os.fspath(public_key_file)) if public_key_file is not None else ""
    report = Report()
    contents = Contents()
    if path.is_dir():
        inner = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
        holds_one_bag = len(inner) == 1 and (inner[0] / "bagit.txt").is_file()
        if holds_one_bag and not (path / "bagit.txt").exists():
            path = inner[0]  # the folder `tar -x` was run in, holding one bag
        report.note("Age encryption: not checked (the input is an already unpacked bag).")
        try:
            read_directory(path, contents)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        if not report.add(
            not contents.problems,
            f"Bag directory {show(path.name)}: "
            + (
                _listing(contents.problems)
                if contents.problems
                else "only plain files and folders, no links or special files."
            ),
        ):
            return _stop(report)
    else:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        with handle:
            try:
                head = handle.peek(512)[:512]
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror}") from None
            kind = _kind(path, head)
            if kind == "unknown" and identity_file is not None:
                kind = "age"
            if kind == "age" and identity_file is None:
                raise UsageError(f"{path} is an age file: give the key with --identity KEYFILE")
            if kind == "unknown":
                report.add(False, f"{show(path.name)} is not an age file, a tar file or a bag")
                return report
            if kind == "age":
                identities = _load_identities(identity_file)
                if not _read_age(handle, identities, contents, report):
                    return _stop(report)
            else:
                report.note("Age encryption: not checked (the input is an already opened tar).")
                try:
                    read_tar(handle, contents)
                except OSError as exc:
                    raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        if not _tar_check(contents, report):
            return _stop(report)
    _Checker(contents, report).run(public_key, public_key_name)
    return report


def _read_age(handle, identities, contents: Contents, report: Report) -> bool:
    if handle.peek(64)[:64].lstrip().startswith(AGE_ARMOR_BEGIN[:10]):
        report.add(
            False,
            "Age encryption: the file is ASCII-armored; bundles are binary age files "
            "(open it with `age -d` and check the .tar instead)",
        )
        return False
    try:
        payload = open_age(handle, identities)
        read_tar(payload, contents)
        while payload.read(BLOCK):  # whatever the tar reader left: every chunk is checked
            pass
    except AgeFailure as exc:
        report.add(False, f"Age encryption: {exc}")
        return False
    except OSError as exc:
        raise UsageError(f"cannot read the file: {exc.strerror}") from None
    report.add(
        True,
        f"Age encryption: the header MAC is valid and all {payload.counter} chunks of the "
        f"payload ({payload.size} bytes) passed authentication.",
    )
    return True


def _tar_check(contents: Contents, report: Report) -> bool:
    if contents.problems:
        return report.add(False, f"Tar archive: {_listing(contents.problems)}")
    return report.add(
        True,
        f"Tar archive: one bag directory, {show(contents.root)}, of {contents.members} "
        "entries; no absolute path, no '..', no links or special files.",
    )


def _stop(report: Report) -> Report:
    report.note("The other checks were not run: the bag could not be read safely.")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py",
        description="Check a Safe Report evidence bundle (docs/BUNDLES.md) and say, in "
        "words, whether it is intact and signed.",
    )
    parser.add_argument("bundle", help="the .age file, an opened .tar, or an unpacked bag")
    parser.add_argument(
        "-i", "--identity", metavar="KEYFILE", help="age identity file (AGE-SECRET-KEY-1...)"
    )
    parser.add_argument("--public-key", metavar="PEM", help="the platform's published signing key")
    args = parser.parse_args(argv)
    try:
        report = verify(args.bundle, identity_file=args.identity, public_key_file=args.public_key)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in report.render():
        print(line)
    return EXIT_VALID if report.valid else EXIT_NOT_VALID


if __name__ == "__main__":
    sys.exit(main())
