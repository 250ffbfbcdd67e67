"""Recipients wrap the file key into a stanza; identities unwrap it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from evidence.age.encoding import b64decode, b64encode, bech32_decode, bech32_encode
from evidence.age.errors import (
    InvalidBase64,
    InvalidKey,
    LowOrderShare,
    MalformedStanza,
    ScryptNotAlone,
    ScryptWorkFactorOutOfBounds,
)
from evidence.age.header import Stanza, hkdf

FILE_KEY_SIZE = 16
_ZERO_NONCE = bytes(12)
_X25519_INFO = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_WORK_FACTOR = re.compile(r"[1-9][0-9]*")


def _wrap(key: bytes, file_key: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


def _unwrap(key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


def _arg_bytes(value: str, size: int) -> bytes:
    try:
        data = b64decode(value.encode("ascii"))
    except InvalidBase64:
        raise MalformedStanza("stanza argument is not canonical base64") from None
    if len(data) != size:
        raise MalformedStanza(f"stanza argument is not {size} bytes")
    return data


# --- X25519 -----------------------------------------------------------------------------


@dataclass(frozen=True)
class X25519Recipient:
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        hrp, data = bech32_decode(text.strip())
        if hrp != "age" or len(data) != 32 or text.strip() != text.strip().lower():
            raise InvalidKey("not an age1… X25519 recipient")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode("age", self.public_key)

    def wrap(self, file_key: bytes, *, ephemeral: bytes | None = None) -> list[Stanza]:
        """One X25519 stanza for this recipient.

        ``ephemeral`` is for tests only: it fixes the ephemeral secret so that the
        browser's twin (frontend/src/header.js) can be checked to write the same bytes.
        Never pass it anywhere else: a repeated ephemeral secret links stanzas and, with
        the same file key, repeats them.
        """
        secret = (
            X25519PrivateKey.generate()
            if ephemeral is None
            else X25519PrivateKey.from_private_bytes(ephemeral)
        )
        share = secret.public_key().public_bytes_raw()
        shared = secret.exchange(X25519PublicKey.from_public_bytes(self.public_key))
        wrap_key = hkdf(shared, share + self.public_key, _X25519_INFO)
        return [Stanza("X25519", (b64encode(share).decode("ascii"),), _wrap(wrap_key, file_key))]


@dataclass(frozen=True)
class X25519Identity:
    secret_key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        hrp, data = bech32_decode(text.strip())
        if hrp != "age-secret-key-" or len(data) != 32 or text.strip() != text.strip().upper():
            raise InvalidKey("not an AGE-SECRET-KEY-1… identity")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode("age-secret-key-", self.secret_key).upper()

    @property
    def recipient(self) -> X25519Recipient:
        private = X25519PrivateKey.from_private_bytes(self.secret_key)
        return X25519Recipient(private.public_key().public_bytes_raw())

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        _reject_mixed_scrypt(stanzas)
        private = X25519PrivateKey.from_private_bytes(self.secret_key)
        own_public = self.recipient.public_key
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 1:
                raise MalformedStanza("X25519 stanza needs exactly one argument")
            share = _arg_bytes(stanza.args[0], 32)
            if len(stanza.body) != FILE_KEY_SIZE + 16:
                raise MalformedStanza("X25519 stanza body is not 32 bytes")
            try:
                shared = private.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                # OpenSSL refuses an all-zero shared secret, as the spec requires.
                raise LowOrderShare("X25519 share is a low-order point") from None
            file_key = _unwrap(hkdf(shared, share + own_public, _X25519_INFO), stanza.body)
            if file_key is not None:
                return file_key
        return None


# --- scrypt (passphrases) ---------------------------------------------------------------


@dataclass(frozen=True)
class ScryptRecipient:
    passphrase: bytes = field(repr=False)
    work_factor: int = 18  # log2 N; age's own default

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        key = _scrypt(self.passphrase, salt, self.work_factor)
        args = (b64encode(salt).decode("ascii"), str(self.work_factor))
        return [Stanza("scrypt", args, _wrap(key, file_key))]


@dataclass(frozen=True)
class ScryptIdentity:
    passphrase: bytes = field(repr=False)
    # 2^20 x 1 KiB = 1 GiB of memory: the most a server should spend on one unwrap.
    max_work_factor: int = 20

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        scrypt_stanzas = [s for s in stanzas if s.type == "scrypt"]
        if not scrypt_stanzas:
            return None
        _reject_mixed_scrypt(stanzas)
        stanza = scrypt_stanzas[0]
        if len(stanza.args) != 2 or not _WORK_FACTOR.fullmatch(stanza.args[1]):
            raise MalformedStanza("scrypt stanza needs a salt and a decimal work factor")
        salt = _arg_bytes(stanza.args[0], 16)
        work_factor = int(stanza.args[1])
        if work_factor > self.max_work_factor:
            raise ScryptWorkFactorOutOfBounds(
                f"scrypt work factor {work_factor} is above the limit {self.max_work_factor}"
            )
        if len(stanza.body) != FILE_KEY_SIZE + 16:
            raise MalformedStanza("scrypt stanza body is not 32 bytes")
        return _unwrap(_scrypt(self.passphrase, salt, work_factor), stanza.body)


def _scrypt(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    return kdf.derive(passphrase)


def _reject_mixed_scrypt(stanzas: tuple[Stanza, ...]) -> None:
    if len(stanzas) > 1 and any(s.type == "scrypt" for s in stanzas):
        raise ScryptNotAlone("an scrypt stanza must be the only stanza")


Recipient = X25519Recipient | ScryptRecipient
Identity = X25519Identity | ScryptIdentity


def parse_identities(text: str) -> list[X25519Identity]:
    """An identity file as age-keygen writes it: comments, blank lines, one key a line."""
    identities = [
        X25519Identity.parse(line)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not identities:
        raise InvalidKey("no identity in the identity file")
    return identities
