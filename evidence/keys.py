"""Identities sealed to other keys: the key hierarchy's building blocks.

An identity is kept as a small age file holding its ``AGE-SECRET-KEY-1...`` text,
sealed either to recipients (an organisation's key to its members) or under a
passphrase (a member's key under her password, a reporter's under her receipt code).
The apps that own organisations, members and reports store these files; only this
module opens them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from evidence import age
from evidence.exceptions import CannotOpen

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


# --- split key for sessions --------------------------------------------------------------
#
# After login the member's identity is sealed to a fresh, random identity whose secret
# goes to her browser as a cookie and nowhere else.  The server keeps only the sealed
# copy (in the session store), so the database, Redis and the disk together open nothing:
# each request that needs the key brings the cookie back and opens it in memory.


def lock_for_session(identity: Identity) -> tuple[str, bytes]:
    """(cookie secret, sealed identity for the server-side session)."""
    browser_half = age.X25519Identity.generate()
    return str(browser_half), seal_identity(identity, [browser_half.recipient])


def unlock_from_session(sealed: bytes, cookie_secret: str) -> Identity:
    try:
        browser_half = age.X25519Identity.parse(cookie_secret)
    except age.InvalidKey:
        raise CannotOpen("the browser's unlock cookie is malformed") from None
    return open_identity(sealed, [browser_half])
