"""What the server checks of an object her browser sealed, holding no key (issue 18).

Her browser seals her words and files to the case's readers; the server cannot open
them and must not need to.  What it can still check, before it keeps an object, is its
form: an age v1 header that parses, no larger than a header for her readers needs, with
exactly one X25519 stanza per reader it expects and no other kind (an scrypt stanza
would make it openable by a passphrase instead of by the readers' keys); and a payload
whose length age's STREAM can produce, within the size limit.  Which reader each stanza
is for cannot be told without the keys: a stanza names an ephemeral share, not its
recipient, so a browser that sealed to the wrong keys is found only by the reader who
cannot open it (docs/CRYPTO.md, "What the server can check").
"""

from __future__ import annotations

import io

from evidence import age
from evidence.age.stream import CHUNK_SIZE, NONCE_SIZE, TAG_SIZE
from evidence.exceptions import NotAcceptable

# An X25519 stanza is 98 bytes; the version and MAC lines 70.  Eight readers fit in
# under 1 KiB: 4 KiB leaves room, and nothing larger is ever read as a header.
MAX_HEADER_BYTES = 4096
_SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE
_X25519_SHARE = 43  # unpadded base64 of 32 bytes
_X25519_BODY = 32  # the wrapped file key and its tag


def plaintext_size(payload: int) -> int | None:
    """How many bytes of hers a payload of ``payload`` bytes (nonce included) holds, or
    None if STREAM cannot produce that length: every chunk but the last is full, and the
    last is empty only when the whole file is."""
    sealed = payload - NONCE_SIZE
    if sealed < TAG_SIZE:
        return None
    full, rest = divmod(sealed, _SEALED_CHUNK)
    if rest == 0:
        return full * CHUNK_SIZE
    if rest < TAG_SIZE or (rest == TAG_SIZE and full > 0):
        return None
    return full * CHUNK_SIZE + rest - TAG_SIZE


def check_browser_sealed(head: bytes, total: int, *, readers: int, max_size: int) -> age.Header:
    """Check an object of ``total`` bytes whose first bytes are ``head`` (at least the
    header, or the whole object when it is shorter than MAX_HEADER_BYTES): its header, or
    NotAcceptable with the ``reason`` to tell her (``header``, ``stanzas``, ``size``)."""
    source = io.BytesIO(head[:MAX_HEADER_BYTES])
    try:
        header = age.read_header(source)
    except age.AgeError:
        # Malformed, or longer than MAX_HEADER_BYTES (the header then "ends early").
        raise NotAcceptable("header") from None
    _check_stanzas(header, readers)
    size = plaintext_size(total - len(header.raw))
    if size is None:
        raise NotAcceptable("header" if total < len(header.raw) else "payload")
    if size > max_size:
        raise NotAcceptable("size")
    return header


def _check_stanzas(header: age.Header, readers: int) -> None:
    well_formed = all(
        stanza.type == "X25519"
        and len(stanza.args) == 1
        and len(stanza.args[0]) == _X25519_SHARE
        and len(stanza.body) == _X25519_BODY
        for stanza in header.stanzas
    )
    if not well_formed or len(header.stanzas) != readers:
        raise NotAcceptable("stanzas")


def check_reissued_header(header: bytes, *, readers: int) -> age.Header:
    """Check a header her browser re-issued for an object already kept (her "yes" to a
    referral, frontend/src/header.js): the header alone, nothing after it, at most
    MAX_HEADER_BYTES, exactly one X25519 stanza per reader and no other kind.  Whether
    it still opens the payload (its MAC, the file key it wraps) only a reader can tell.
    NotAcceptable (``header``, ``stanzas``) otherwise."""
    if len(header) > MAX_HEADER_BYTES:
        raise NotAcceptable("header")
    source = io.BytesIO(header)
    try:
        parsed = age.read_header(source)
    except age.AgeError:
        raise NotAcceptable("header") from None
    if source.read(1):
        raise NotAcceptable("header")  # a payload, or anything, after the header
    _check_stanzas(parsed, readers)
    return parsed
