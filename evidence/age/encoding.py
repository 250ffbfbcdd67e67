"""Canonical unpadded base64 (header), Bech32 (keys) and ASCII armor (PEM, padded)."""

from __future__ import annotations

import base64
import binascii
from typing import BinaryIO

from evidence.age.errors import InvalidArmor, InvalidBase64, InvalidKey

# --- base64, as the header uses it -----------------------------------------------------


def b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def b64decode(text: bytes) -> bytes:
    """Strict: standard alphabet, no padding, canonical trailing bits."""
    if b"=" in text or len(text) % 4 == 1:
        raise InvalidBase64("base64 with padding or impossible length")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise InvalidBase64("invalid base64") from None
    if b64encode(data) != text:
        raise InvalidBase64("non-canonical base64")
    return data


# --- Bech32 (BIP 173, no length limit) --------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATORS):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise InvalidKey("invalid Bech32 padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    hrp = hrp.lower()
    words = _convert_bits(data, 8, 5, pad=True)
    checksum = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    words += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words)


def bech32_decode(text: str) -> tuple[str, bytes]:
    if text.lower() != text and text.upper() != text:
        raise InvalidKey("Bech32 mixes upper and lower case")
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1 or separator + 7 > len(lowered):
        raise InvalidKey("not a Bech32 string")
    if any(not 33 <= ord(c) <= 126 for c in lowered):
        raise InvalidKey("Bech32 with characters outside ASCII")
    hrp, rest = lowered[:separator], lowered[separator + 1 :]
    try:
        words = [_CHARSET.index(c) for c in rest]
    except ValueError:
        raise InvalidKey("Bech32 with a character outside its alphabet") from None
    if _polymod(_hrp_expand(hrp) + words) != 1:
        raise InvalidKey("Bech32 checksum mismatch")
    return hrp, bytes(_convert_bits(words[:-6], 5, 8, pad=False))


# --- ASCII armor (RFC 7468 strict, label AGE ENCRYPTED FILE) ----------------------------

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_ARMOR_LINE = 64  # base64 characters per full line
_ARMOR_GROUP = _ARMOR_LINE // 4 * 3  # bytes per full line


class ArmorWriter:
    """Wraps a binary sink; bytes written come out as armored text."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.pending = bytearray()
        sink.write(ARMOR_BEGIN + b"\n")

    def write(self, data: bytes) -> int:
        self.pending += data
        full = len(self.pending) // _ARMOR_GROUP * _ARMOR_GROUP
        if full:
            encoded = base64.b64encode(bytes(self.pending[:full]))
            lines = [encoded[i : i + _ARMOR_LINE] for i in range(0, len(encoded), _ARMOR_LINE)]
            self.sink.write(b"\n".join(lines) + b"\n")
            del self.pending[:full]
        return len(data)

    def close(self) -> None:
        if self.pending:
            self.sink.write(base64.b64encode(bytes(self.pending)) + b"\n")
            self.pending.clear()
        self.sink.write(ARMOR_END + b"\n")


class ArmorReader:
    """Reads strict armor from a binary source and yields the binary age file.

    Whitespace before BEGIN and after END is allowed; LF or CRLF line endings; every
    line but the last exactly 64 characters; canonical padded base64; nothing else.
    """

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.buffer = bytearray()
        self.done = False
        line = self._line()
        while line is not None and line.strip() == b"":
            line = self._line()
        if line is None or line.lstrip() != ARMOR_BEGIN:
            raise InvalidArmor("missing armor header line")
        self.last_short = False

    def _line(self) -> bytes | None:
        line = self.source.readline(_ARMOR_LINE + 64)
        if not line:
            return None
        if not line.endswith(b"\n"):
            if len(line) > _ARMOR_LINE + 2:
                raise InvalidArmor("armor line too long")
            return line  # the last line may lack a newline
        line = line[:-1]
        return line[:-1] if line.endswith(b"\r") else line

    def _next_block(self) -> bytes:
        line = self._line()
        if line is None:
            raise InvalidArmor("armor ends without its END line")
        if line == ARMOR_END:
            rest = self.source.read(64 * 1024)
            while rest:
                if rest.strip():
                    raise InvalidArmor("data after the armor END line")
                rest = self.source.read(64 * 1024)
            self.done = True
            return b""
        if self.last_short:
            raise InvalidArmor("armor line after the last data line")
        if len(line) > _ARMOR_LINE or len(line) % 4 or not line:
            raise InvalidArmor("armor line of the wrong length")
        if b"=" in line:
            unpadded = line.rstrip(b"=")
            if len(line) - len(unpadded) > 2 or b"=" in unpadded:
                raise InvalidArmor("padding inside armor")
            self.last_short = True  # padding ends the data
        if len(line) < _ARMOR_LINE:
            self.last_short = True
        try:
            data = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise InvalidArmor("invalid base64 in armor") from None
        if base64.b64encode(data) != line:
            raise InvalidArmor("non-canonical base64 in armor")
        return data

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            self.buffer += self._next_block()
        if size < 0:
            size = len(self.buffer)
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def readline(self, limit: int = -1) -> bytes:
        while (
            not self.done and b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit)
        ):
            self.buffer += self._next_block()
        end = self.buffer.find(b"\n")
        end = len(self.buffer) if end < 0 else end + 1
        if limit >= 0:
            end = min(end, limit)
        out = bytes(self.buffer[:end])
        del self.buffer[:end]
        return out
