"""Her text, laid out right: the Unicode bidirectional algorithm's edges, for the case
summary of a bundle (bundles/summary.py).

Right-to-left (Arabic) and mixed text are laid out with the Unicode bidirectional
algorithm, each paragraph of her text in its own direction, and her handles, addresses
and links kept left-to-right inside Arabic sentences; ``clean`` drops the controls she
may have typed that would reorder it.  Pure functions over strings: no Django, no PDF
library.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional embeddings, overrides and isolates in what she typed would reorder the
# text around them (a right-to-left override can make "gpj.exe" read "exe.jpg"); they are
# dropped, and so are the other control characters but the line break.  Marks (LRM, RLM,
# ALM) are kept: they only nudge the order, within the isolated paragraph.
_DROPPED = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}

# What stays left to right inside an Arabic sentence: links, e-mail addresses, @handles
# and #tags.  Without isolation the bidirectional algorithm moves their neutral ends
# ("@", a final "/") to the other side: "@karim_x99" would read "karim_x99@".
_LTR_TOKEN = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]}'»”]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[@#]\w+(?:[.\-]\w+)*",
    re.ASCII,
)
_LRI, _PDI = "\u2066", "\u2069"


def clean(text: str) -> str:
    """Her text with line breaks as ``\\n``, tabs as spaces, and no control character
    that would hide or reorder what she wrote."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(
        char
        for char in text
        if char == "\n"
        or (ord(char) not in _DROPPED and unicodedata.category(char) not in ("Cc", "Cs"))
    )


def is_rtl(text: str) -> bool:
    """The direction of a paragraph (Unicode rules P2-P3): that of its first strong
    character outside isolates; left to right when it has none.  (The HTML's
    ``dir="auto"`` decides the same way, skipping ``<bdi>``.)"""
    depth = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("LRI", "RLI", "FSI"):
            depth += 1
        elif kind == "PDI":
            depth = max(0, depth - 1)
        elif depth == 0 and kind in ("R", "AL"):
            return True
        elif depth == 0 and kind == "L":
            return False
    return False


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def segments(line: str) -> list[tuple[bool, str]]:
    """A line of her text cut into (stays left to right, text) parts."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _LTR_TOKEN.finditer(line):
        if match.start() > position:
            parts.append((False, line[position : match.start()]))
        parts.append((True, match.group()))
        position = match.end()
    if position < len(line):
        parts.append((False, line[position:]))
    return parts


def isolated(line: str) -> str:
    """For the PDF: a line whose left-to-right tokens are wrapped in LRI...PDI, when the
    line holds right-to-left text (elsewhere they need nothing)."""
    if not has_rtl(line):
        return line
    return "".join(f"{_LRI}{part}{_PDI}" if ltr else part for ltr, part in segments(line))


def lines(text: str) -> list[str]:
    text = clean(text).strip("\n")
    return text.split("\n") if text else []
