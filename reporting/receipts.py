"""Receipt codes: the only thing a reporter needs to come back.

16 characters of Crockford base32 (80 random bits), shown in four groups:
``7K3Q-M9XD-2HBN-R4TV``.  Reading one back forgives what people do when they copy a
code by hand or on a phone: lower case, spaces and dashes, O for 0, I or L for 1, and
Arabic-Indic digits from an Arabic keyboard.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_ARABIC_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str | None:
    """The canonical 16 characters, or None if this cannot be a receipt code."""
    # Drop separators, white space and the invisible direction marks that copying from
    # an Arabic page adds.
    separators = "-_.\u200e\u200f\u061c"
    text = text.translate(_ARABIC_DIGITS).upper()
    cleaned = "".join(c for c in text if not c.isspace() and c not in separators)
    cleaned = cleaned.translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4))


def lookup(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()
