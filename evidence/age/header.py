"""The age v1 header: version line, recipient stanzas, MAC."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from hashlib import sha256
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evidence.age.encoding import b64decode, b64encode
from evidence.age.errors import HeaderMacMismatch, MalformedHeader

VERSION_LINE = b"age-encryption.org/v1\n"
_COLUMNS = 64
# A header line longer than this is refused before it is buffered: the largest native
# stanza argument (ML-KEM) is about 1,500 characters.
_MAX_LINE = 8192
_MAX_STANZAS = 256
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        for word in (self.type, *self.args):
            if not word or any(not 33 <= ord(c) <= 126 for c in word):
                raise ValueError(f"stanza argument {word!r} is not printable ASCII")
        out = b"-> " + " ".join((self.type, *self.args)).encode("ascii") + b"\n"
        encoded = b64encode(self.body)
        for i in range(0, len(encoded) + 1, _COLUMNS):
            # A body whose encoding fills whole lines ends with an empty line.
            out += encoded[i : i + _COLUMNS] + b"\n"
        return out


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    raw: bytes  # the exact bytes read or written, MAC line included

    @staticmethod
    def build(stanzas: list[Stanza], file_key: bytes) -> Header:
        if not stanzas:
            raise ValueError("a header needs at least one recipient stanza")
        covered = VERSION_LINE + b"".join(s.encode() for s in stanzas) + b"---"
        mac = header_mac(file_key, covered)
        return Header(tuple(stanzas), mac, covered + b" " + b64encode(mac) + b"\n")

    def verify(self, file_key: bytes) -> None:
        covered = self.raw[: self.raw.rindex(b"---") + 3]
        if not hmac.compare_digest(header_mac(file_key, covered), self.mac):
            raise HeaderMacMismatch("header MAC mismatch")

    @property
    def fingerprint(self) -> str:
        return sha256(self.raw).hexdigest()


def header_mac(file_key: bytes, covered: bytes) -> bytes:
    return hmac.new(hkdf(file_key, b"", b"header"), covered, sha256).digest()


def _read_line(source: BinaryIO) -> bytes:
    line = source.readline(_MAX_LINE + 1)
    if not line.endswith(b"\n"):
        if len(line) > _MAX_LINE:
            raise MalformedHeader("header line too long")
        raise MalformedHeader("header ends early")
    return line


def read_header(source: BinaryIO) -> Header:
    """Parse a header, leaving ``source`` at the first byte of the payload."""
    raw = bytearray()
    line = _read_line(source)
    if line != VERSION_LINE:
        raise MalformedHeader("not an age v1 file")
    raw += line
    stanzas: list[Stanza] = []
    line = _read_line(source)
    while line.startswith(b"-> "):
        if len(stanzas) == _MAX_STANZAS:
            raise MalformedHeader("too many stanzas")
        raw += line
        words = line[3:-1].split(b" ")
        if any(not w or any(not 33 <= c <= 126 for c in w) for w in words):
            raise MalformedHeader("stanza argument empty or not printable ASCII")
        body = bytearray()
        while True:
            body_line = _read_line(source)
            raw += body_line
            text = body_line[:-1]
            if len(text) > _COLUMNS or not _B64_CHARS.issuperset(text):
                raise MalformedHeader("stanza body line is not base64 of at most 64 columns")
            body += text
            if len(text) < _COLUMNS:
                break
        decoded = words[0].decode("ascii"), tuple(w.decode("ascii") for w in words[1:])
        stanzas.append(Stanza(decoded[0], decoded[1], b64decode(bytes(body))))
        line = _read_line(source)
    if not stanzas:
        raise MalformedHeader("header without recipient stanzas")
    if not line.startswith(b"--- ") or len(line) != 4 + 43 + 1:
        raise MalformedHeader("missing or malformed MAC line")
    mac = b64decode(line[4:-1])
    raw += line
    return Header(tuple(stanzas), mac, bytes(raw))
