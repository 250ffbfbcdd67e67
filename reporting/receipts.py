"""Receipt codes: the only thing a reporter needs to come back.

16 random digits (about 53 bits), shown in four groups: ``4821 0937 5526 1048``.
Digits because they are typed on any phone keypad and read aloud the same in Darija and
French.  Reading one back forgives how people copy a code by hand: spaces, dashes or
dots between groups, Arabic-Indic digits from an Arabic keyboard, the invisible direction
marks that copying from an Arabic page adds.

The code is never stored.  One scrypt run (N=2^17, r=8, p=1 by default: OWASP's
minimum) turns it into the value that finds her report and the secret that opens her
key (evidence.keys.stretch_code), so each guess against a copy of the database costs
that much.
"""

from __future__ import annotations

import secrets

LENGTH = 16
_SEPARATORS = "-_.\u200e\u200f\u061c"
_ARABIC_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)


def new_code() -> str:
    return f"{secrets.randbelow(10**LENGTH):0{LENGTH}d}"


def normalise(text: str) -> str | None:
    """The 16 digits, or None if this cannot be a receipt code."""
    cleaned = "".join(
        c for c in text.translate(_ARABIC_DIGITS) if not c.isspace() and c not in _SEPARATORS
    )
    if len(cleaned) != LENGTH or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def display(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, LENGTH, 4))
