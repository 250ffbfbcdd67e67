"""age v1 (c2sp.org/age) on the ``cryptography`` package.

The only place in the project that does encryption.  Files it writes open with the
standard ``age`` tool, and it opens what ``age`` writes (X25519 and passphrase
recipients, binary and armored).
"""

from evidence.age.errors import (
    AgeError,
    HeaderMacMismatch,
    InvalidArmor,
    InvalidBase64,
    InvalidKey,
    LowOrderShare,
    MalformedHeader,
    MalformedPayload,
    MalformedStanza,
    NoIdentityMatch,
    PayloadAuthenticationFailed,
    PayloadError,
    ScryptNotAlone,
    ScryptWorkFactorOutOfBounds,
    TrailingData,
    TruncatedPayload,
)
from evidence.age.header import Header, Stanza, read_header
from evidence.age.keys import (
    Identity,
    Recipient,
    ScryptIdentity,
    ScryptRecipient,
    X25519Identity,
    X25519Recipient,
    parse_identities,
)
from evidence.age.stream import (
    CHUNK_SIZE,
    Encryptor,
    PayloadReader,
    add_stanzas,
    decrypt,
    drop_stanzas,
    encrypt,
    open_sealed,
    reissue_header,
)

__all__ = [
    "CHUNK_SIZE",
    "AgeError",
    "Encryptor",
    "Header",
    "HeaderMacMismatch",
    "Identity",
    "InvalidArmor",
    "InvalidBase64",
    "InvalidKey",
    "LowOrderShare",
    "MalformedHeader",
    "MalformedPayload",
    "MalformedStanza",
    "NoIdentityMatch",
    "PayloadAuthenticationFailed",
    "PayloadError",
    "PayloadReader",
    "Recipient",
    "ScryptIdentity",
    "ScryptNotAlone",
    "ScryptRecipient",
    "ScryptWorkFactorOutOfBounds",
    "Stanza",
    "TrailingData",
    "TruncatedPayload",
    "X25519Identity",
    "X25519Recipient",
    "add_stanzas",
    "decrypt",
    "drop_stanzas",
    "encrypt",
    "open_sealed",
    "parse_identities",
    "read_header",
    "reissue_header",
]
