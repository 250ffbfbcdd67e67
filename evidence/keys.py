"""Identities sealed to other keys: the key hierarchy's building blocks.

An identity is kept as a small age file holding its ``AGE-SECRET-KEY-1...`` text,
sealed either to recipients (an organisation's key to its members) or under a
passphrase (a member's key under her password, a reporter's under her receipt code).
The apps that own organisations, members and reports store these files; only this
module opens them.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings

from evidence import age
from evidence.age.header import hkdf
from evidence.exceptions import CannotOpen, NotAcceptable

Identity = age.X25519Identity
Recipient = age.X25519Recipient


def new_identity() -> Identity:
    return age.X25519Identity.generate()


def parse_recipient(text: str) -> Recipient:
    return age.X25519Recipient.parse(text)


def recovery_recipients() -> list[Recipient]:
    """The operator's offline recovery key, if one is configured."""
    value = settings.EVIDENCE_RECOVERY_RECIPIENT
    return [age.X25519Recipient.parse(value)] if value else []


def seal_identity(identity: Identity, recipients: Iterable[Recipient]) -> bytes:
    return age.encrypt(str(identity).encode("ascii"), list(recipients))


def seal_identity_with_passphrase(
    identity: Identity, passphrase: str, *, work_factor: int
) -> bytes:
    recipient = age.ScryptRecipient(passphrase.encode("utf-8"), work_factor=work_factor)
    return age.encrypt(str(identity).encode("ascii"), [recipient])


def open_identity(sealed: bytes, identities: Iterable[age.Identity]) -> Identity:
    """The identity in ``sealed``; CannotOpen for a wrong key or a damaged file alike."""
    try:
        return age.X25519Identity.parse(age.decrypt(bytes(sealed), list(identities)).decode())
    except age.AgeError as exc:
        raise CannotOpen(type(exc).__name__) from None


def open_identity_with_passphrase(sealed: bytes, passphrase: str) -> Identity:
    return open_identity(sealed, [age.ScryptIdentity(passphrase.encode("utf-8"))])


# --- receipt codes -----------------------------------------------------------------------

_RECEIPT_SALT = b"safe-report/v1/receipt-code"


@dataclass(frozen=True)
class StretchedCode:
    """What one slow KDF run over a receipt code yields: a lookup value to find her
    report, and a 256-bit passphrase that seals her identity."""

    lookup: str
    passphrase: str


def stretch_code(code: str, *, work_factor: int) -> StretchedCode:
    """scrypt(N=2^work_factor, r=8, p=1) over the code, once per visit.

    Both outputs derive from the slow step, so whoever holds a copy of the database
    pays one scrypt per guess of a code; the identity itself is then sealed under a
    passphrase with full 256-bit strength, which needs no further stretching.
    """
    stretched = Scrypt(salt=_RECEIPT_SALT, length=32, n=1 << work_factor, r=8, p=1).derive(
        code.encode("ascii")
    )
    lookup = hashlib.sha256(stretched + b"/lookup").hexdigest()
    passphrase = hashlib.sha256(stretched + b"/identity").hexdigest()
    return StretchedCode(lookup, passphrase)


# Her identity sealed by her browser under the secret from her code
# (frontend/src/receipt-worker.js): an identity line is 74 bytes, its age file about 200.
SEALED_IDENTITY_MAX_BYTES = 1024
# What her browser uses (the secret is 256 bits strong already), with room for a slower
# setting; each return visit pays it, so a sealed key cannot make the server spend more.
SEALED_IDENTITY_MAX_WORK_FACTOR = 12
_LOOKUP = re.compile(r"[0-9a-f]{64}")


def check_browser_receipt(lookup: str, recipient: str, sealed_identity: bytes) -> None:
    """What her browser sends for a receipt is what the server stores for one, checked
    without the code (the server never receives it): NotAcceptable otherwise."""
    if not _LOOKUP.fullmatch(lookup):
        raise NotAcceptable("lookup")
    try:
        age.X25519Recipient.parse(recipient)
    except age.InvalidKey:
        raise NotAcceptable("recipient") from None
    if len(sealed_identity) > SEALED_IDENTITY_MAX_BYTES:
        raise NotAcceptable("size")
    try:
        stanzas = age.read_header(io.BytesIO(sealed_identity)).stanzas
    except (age.AgeError, ValueError):
        raise NotAcceptable("header") from None
    # One scrypt stanza and nothing else: sealed under the secret from her code only.
    if len(stanzas) != 1 or stanzas[0].type != "scrypt" or len(stanzas[0].args) != 2:
        raise NotAcceptable("stanzas")
    work_factor = stanzas[0].args[1]
    if not work_factor.isdigit() or int(work_factor) > SEALED_IDENTITY_MAX_WORK_FACTOR:
        raise NotAcceptable("work_factor")


def key_challenge(recipient: str) -> tuple[bytes, str]:
    """(a random value sealed to ``recipient``, its SHA-256): whoever sends the value
    back has opened it, so holds the identity behind ``recipient``.

    Her return visit with scripts on (reporting/views/visits.py): her browser opens her key
    and never sends it; this is how the server knows the browser holds it, without a
    secret the server could keep or a copy of the database could give (the lookup her
    report is found by is in that copy)."""
    value = secrets.token_hex(32)
    sealed = age.encrypt(value.encode("ascii"), [age.X25519Recipient.parse(recipient)])
    return sealed, hashlib.sha256(value.encode("ascii")).hexdigest()


def challenge_answered(answer: str, expected_sha256: str) -> bool:
    digest = hashlib.sha256(answer.encode("utf-8", "replace")).hexdigest()
    return hmac.compare_digest(digest, expected_sha256)


def seal_identity_under_strong_secret(identity: Identity, secret: str) -> bytes:
    """For a secret that is already 256 bits strong: scrypt at its cheapest."""
    return seal_identity_with_passphrase(identity, secret, work_factor=10)


# --- split key for sessions --------------------------------------------------------------
#
# After login the member's identity is sealed to a fresh, random identity whose secret
# goes to her browser as a cookie and nowhere else.  The server keeps only the sealed
# copy (in the session store), so the database, Redis and the disk together open nothing:
# each request that needs the key brings the cookie back and opens it in memory.


def new_browser_secret() -> str:
    """A secret for her browser to hold (a cookie, a form field), which opens what
    ``lock_text_with`` sealed for the server-side session."""
    return str(age.X25519Identity.generate())


def lock_text_with(text: str, browser_secret: str) -> bytes:
    """``text`` sealed for the server-side session, opened by ``browser_secret`` alone."""
    try:
        browser_half = age.X25519Identity.parse(browser_secret)
    except age.InvalidKey:
        raise CannotOpen("the browser's secret is malformed") from None
    return age.encrypt(text.encode("utf-8"), [browser_half.recipient])


def lock_text_for_session(text: str) -> tuple[str, bytes]:
    """(cookie secret, ``text`` sealed for the server-side session): a key, or her
    receipt code while it is on screen."""
    secret = new_browser_secret()
    return secret, lock_text_with(text, secret)


def lock_for_session(identity: Identity) -> tuple[str, bytes]:
    """(cookie secret, sealed identity for the server-side session)."""
    return lock_text_for_session(str(identity))


def unlock_text_from_session(sealed: bytes, cookie_secret: str) -> str:
    try:
        browser_half = age.X25519Identity.parse(cookie_secret)
        return age.decrypt(bytes(sealed), [browser_half]).decode("utf-8")
    except age.AgeError:
        raise CannotOpen("the session's text does not open with this cookie") from None


def unlock_from_session(sealed: bytes, cookie_secret: str) -> Identity:
    try:
        browser_half = age.X25519Identity.parse(cookie_secret)
    except age.InvalidKey:
        raise CannotOpen("the browser's unlock cookie is malformed") from None
    return open_identity(sealed, [browser_half])


# --- data sealed to a cookie ------------------------------------------------------------
#
# A session row is read on every request, so an X25519 stanza per save would be waste:
# the cookie's random value (165 bits) is itself the key material, stretched by HKDF
# (no scrypt: it is not a password).  Whoever holds a copy of the database or Redis
# without the cookie reads nothing; the cookie opens its own row only.

_COOKIE_NONCE = 12


def _cookie_key(cookie_secret: str, purpose: str) -> bytes:
    return hkdf(cookie_secret.encode("utf-8"), b"", purpose.encode("ascii"))


def seal_for_cookie(data: bytes, cookie_secret: str, *, purpose: str) -> bytes:
    """``data`` sealed under a key derived from ``cookie_secret`` (for ``purpose`` only)."""
    nonce = os.urandom(_COOKIE_NONCE)
    aead = ChaCha20Poly1305(_cookie_key(cookie_secret, purpose))
    return nonce + aead.encrypt(nonce, data, purpose.encode("ascii"))


def open_for_cookie(sealed: bytes, cookie_secret: str, *, purpose: str) -> bytes:
    aead = ChaCha20Poly1305(_cookie_key(cookie_secret, purpose))
    try:
        return aead.decrypt(sealed[:_COOKIE_NONCE], sealed[_COOKIE_NONCE:], purpose.encode())
    except (InvalidTag, ValueError):
        raise CannotOpen("this cookie does not open that data") from None


def cookie_row_name(cookie_secret: str, *, purpose: str, length: int = 40) -> str:
    """The name a row sealed to ``cookie_secret`` is stored under: one-way, so the
    stored name neither is nor gives the cookie that opens it."""
    return hkdf(cookie_secret.encode("utf-8"), b"", f"{purpose} row".encode()).hex()[:length]
