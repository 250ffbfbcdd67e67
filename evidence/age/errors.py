"""One exception per way an age file can be wrong.  Nothing is half-decrypted: each is
raised before any plaintext of the failing part is released."""


class AgeError(Exception):
    """Base class: the input is not a valid age file for these keys."""


class MalformedHeader(AgeError):
    """The header breaks the age v1 grammar (version line, stanza, MAC line)."""


class InvalidBase64(MalformedHeader):
    """Base64 in the header is not canonical, unpadded, standard base64."""


class MalformedStanza(MalformedHeader):
    """A recognised stanza has the wrong arguments or body length."""


class HeaderMacMismatch(AgeError):
    """The header MAC does not match: the header was altered."""


class NoIdentityMatch(AgeError):
    """None of the given identities can open any stanza of this file."""


class LowOrderShare(AgeError):
    """An X25519 stanza carries a low-order point (all-zero shared secret)."""


class ScryptWorkFactorOutOfBounds(AgeError):
    """An scrypt stanza asks for more work than this identity allows."""


class ScryptNotAlone(AgeError):
    """An scrypt stanza is mixed with other stanzas."""


class PayloadError(AgeError):
    """The encrypted payload cannot be trusted."""


class PayloadAuthenticationFailed(PayloadError):
    """A payload chunk failed its authentication tag: altered or wrong key."""


class TruncatedPayload(PayloadError):
    """The payload ends before a final chunk."""


class TrailingData(PayloadError):
    """Bytes follow the final chunk."""


class MalformedPayload(PayloadError):
    """The payload breaks the STREAM rules (e.g. an empty final chunk after others)."""


class InvalidArmor(AgeError):
    """The ASCII armor is not strict PEM with canonical base64."""


class InvalidKey(AgeError):
    """A recipient or identity string is not a valid age key encoding."""
