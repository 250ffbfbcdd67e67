"""What her browser does to a file before sealing it, checked from the Python side.

frontend/src/strip.js makes an image's working copy by leaving out its metadata
segments: Pillow must decode that copy to exactly the original's pixels, and find none
of the metadata in it (nor does a walk over its segments here).  frontend/src/sniff.js
tells a file's type: it must say what evidence.sniff says, on the same bytes, for every
type the server accepts and every one it refuses.

The browser's code runs in node (tests/support/node.py) on the vectors that
tests/support/strip_vectors.py made and frontend/test/*.test.js also use."""

from __future__ import annotations

import base64
import codecs
import io
import json
import random
import struct

import pytest
from PIL import Image, ImageSequence, IptcImagePlugin

from evidence.sniff import HEAD_SIZE, sniff
from tests.evidence import test_sniff as fixtures
from tests.support.node import in_node
from tests.support.strip_vectors import CANARY, IMAGES, VECTORS

MANIFEST = json.loads((VECTORS / "strip.json").read_text("utf-8"))
STRIPPABLE = [vector for vector in MANIFEST if vector["format"] is not None]
REFUSED = [vector["file"] for vector in MANIFEST if vector["format"] is None]
SNIFF_CASES = json.loads((VECTORS / "sniff.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def copies() -> dict[str, dict | None]:
    """Every vector through the browser's stripMetadata, in one node run (``in_node``
    imports readFileSync)."""
    made = in_node(
        "import { stripMetadata } from './src/strip.js';"
        "const out = {};"
        "for (const file of given.files) {"
        "  const copy = stripMetadata(new Uint8Array(readFileSync(given.dir + '/' + file)));"
        "  out[file] = copy && { ...copy, bytes: Buffer.from(copy.bytes).toString('base64') };"
        "}"
        "console.log(JSON.stringify(out));",
        dir=str(IMAGES),
        files=[vector["file"] for vector in MANIFEST],
    )
    for copy in made.values():
        if copy is not None:
            copy["bytes"] = base64.b64decode(copy["bytes"])
    return made


def frames(data: bytes) -> list[tuple[str, tuple[int, int], bytes]]:
    """Every frame Pillow decodes: its mode, size and pixels."""
    with Image.open(io.BytesIO(data)) as image:
        return [
            (frame.mode, frame.size, frame.tobytes()) for frame in ImageSequence.Iterator(image)
        ]


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """A JPEG's marker segments (marker, payload), the coded data of scans skipped."""
    segments, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"no marker at {pos}"
        while data[pos] == 0xFF:
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            segments.append((marker, b""))
            assert pos == len(data), "bytes after the end of the image"
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        segments.append((marker, data[pos + 2 : pos + length]))
        pos += length
        if marker == 0xDA:  # coded data up to a marker that is not RSTn or a stuffed 00
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, 0xFF, *range(0xD0, 0xD8))):
                pos += 1
    return segments


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    assert chunks[-1][0] == b"IEND", "bytes after IEND"
    return chunks


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8, "RIFF size"
    chunks, pos = [], 12
    while pos < len(data):
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks.append((data[pos : pos + 4], data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return chunks


JPEG_KEPT_APP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
PILLOW_METADATA = {"exif", "xmp", "comment", "photoshop", "mp", "XML:com.adobe.xmp"}


@pytest.mark.parametrize("vector", STRIPPABLE, ids=lambda v: v["file"])
def test_the_working_copy_decodes_to_exactly_the_originals_pixels(vector, copies):
    original = (IMAGES / vector["file"]).read_bytes()
    copy = copies[vector["file"]]
    assert copy["format"] == vector["format"]
    assert sorted(copy["removed"]) == vector["removed"]
    # An MPO's first picture is the photo; what came after it is not in the copy.
    expected = frames(original)[:1] if "mpf" in vector["removed"] else frames(original)
    assert frames(copy["bytes"]) == expected


@pytest.mark.parametrize("vector", STRIPPABLE, ids=lambda v: v["file"])
def test_no_exif_xmp_iptc_comment_or_text_is_left_in_the_working_copy(vector, copies):
    original = (IMAGES / vector["file"]).read_bytes()
    data = copies[vector["file"]]["bytes"]
    assert (CANARY in original) == bool(vector["removed"])  # the vector holds metadata
    assert CANARY not in data
    if vector["format"] == "jpeg":
        for marker, payload in jpeg_segments(data):
            assert marker != 0xFE, "a comment"
            if 0xE0 <= marker <= 0xEF:
                assert payload.startswith(JPEG_KEPT_APP.get(marker, b"-")), hex(marker)
            if marker == 0xE0:
                assert len(payload) == 14, "a JFIF thumbnail"
    elif vector["format"] == "png":
        assert not PNG_METADATA & {kind for kind, _ in png_chunks(data)}
    else:
        chunks = riff_chunks(data)
        assert not {b"EXIF", b"XMP "} & {kind for kind, _ in chunks}
        if chunks[0][0] == b"VP8X":
            assert chunks[0][1][0] & 0x0C == 0, "the VP8X header still announces EXIF or XMP"
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert len(image.getexif()) == 0
        assert not PILLOW_METADATA & set(image.info)
        assert getattr(image, "text", {}) == {}
        if vector["format"] == "jpeg":
            assert IptcImagePlugin.getiptcinfo(image) is None


@pytest.mark.parametrize("vector", STRIPPABLE, ids=lambda v: v["file"])
def test_the_colour_profile_is_kept_and_the_orientation_is_the_originals(vector, copies):
    copy = copies[vector["file"]]
    with (
        Image.open(IMAGES / vector["file"]) as original,
        Image.open(io.BytesIO(copy["bytes"])) as made,
    ):
        assert made.info.get("icc_profile") == original.info.get("icc_profile")
        turned = original.getexif().get(0x0112, 1)
    assert copy.get("orientation") == (None if turned == 1 else turned)
    assert ("orientation" in copy["removed"]) == (turned != 1)


def test_the_vectors_hold_profiles_and_turned_pictures():
    """So the test above compares something."""
    with Image.open(IMAGES / "jpeg-phone.jpg") as phone, Image.open(IMAGES / "png-text.png") as png:
        assert phone.info["icc_profile"]
        assert png.info["icc_profile"]
        assert phone.getexif()[0x0112] == 6


@pytest.mark.parametrize("file", REFUSED)
def test_a_broken_or_hostile_file_or_another_format_gets_no_working_copy(file, copies):
    assert copies[file] is None


# --- sniffing -------------------------------------------------------------------------


@pytest.mark.parametrize("vector", SNIFF_CASES, ids=lambda v: v["name"])
def test_the_sniffing_vectors_say_what_the_server_says(vector):
    head = (
        (IMAGES / vector["file"]).read_bytes()[:HEAD_SIZE]
        if vector.get("file")
        else base64.b64decode(vector["head"])
    )
    found = sniff(head, complete=vector["complete"])
    assert (None if found is None else vars(found)) == vector["expected"]


def _browser_sniff(samples: list[tuple[bytes, bool]]) -> list[dict | None]:
    return in_node(
        "import { sniff } from './src/sniff.js';"
        "const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));"
        "console.log(JSON.stringify(given.samples.map("
        "  ([head, complete]) => sniff(bytes(head), { complete }))));",
        samples=[(base64.b64encode(head).decode(), complete) for head, complete in samples],
    )


def _tricky_texts() -> list[bytes]:
    """Text at the edges of what the server calls text."""
    # Python's \s takes U+001C-U+001F and U+0085 (controls: a long text makes one count
    # for little), JavaScript's does not.
    texts = [
        start + "x" * 200
        for start in ("\u0085<html>", "\u3000#!/bin/sh", "\u200b<b>", "\ufeff\ufeff<svg/>", "\x1c<")
    ]
    texts += ["ok\x85", "\u0085<html>"]
    samples = [t.encode() for t in texts]
    samples += [codecs.BOM_UTF16_LE + t.encode("utf-16-le") for t in texts]
    samples += [codecs.BOM_UTF16_BE + t.encode("utf-16-be") for t in texts]
    samples += [
        codecs.BOM_UTF16_LE + b"A\x00\x00\xd8",  # ends on a high surrogate
        codecs.BOM_UTF16_LE + b"A\x00\x00\xdcB\x00",  # a lone low surrogate
        codecs.BOM_UTF16_BE + b"\xd8\x3d\xde\x00",  # a pair: U+1F600
        codecs.BOM_UTF16_BE + b"\x00A\x00",  # an odd byte at the end
        b"caf\xc3",  # cut inside a character
        b"\xed\xa0\x80 surrogate in UTF-8",
        b"\xc0\xaf overlong",
        b"\xf4\x90\x80\x80 past U+10FFFF",
        b"\xf0\x9f\x98",  # three of four bytes
        ("x" * 99 + "\x1b").encode(),  # one control in a hundred characters
        ("x" * 98 + "\x1b\x1b").encode(),
        ("\u0644" * 99 + "\x7f").encode(),  # counted in characters, not bytes
        ("\U0001f600" * 50 + "\x9f").encode(),  # C1 control, astral characters
        codecs.BOM_UTF8,
        codecs.BOM_UTF8 + codecs.BOM_UTF8 + b"hello",
        b"\x00",
    ]
    return samples


def _mutants(data: bytes, rng: random.Random) -> list[bytes]:
    """The first bytes of ``data`` cut at a few lengths, and with a few bytes changed."""
    head = data[:HEAD_SIZE]
    cuts = sorted({0, 1, 2, 3, 4, 8, 12, 16, 20, 27, 28, 40, 64, len(head) - 1, len(head)})
    out = [head[:n] for n in cuts if 0 <= n <= len(head)]
    for _ in range(12):
        changed = bytearray(head[:64] or b"\x00")
        for _ in range(rng.randint(1, 3)):
            changed[rng.randrange(len(changed))] = rng.randrange(256)
        out.append(bytes(changed))
    return out


def test_her_browser_tells_every_file_as_the_server_does():
    rng = random.Random(18)
    data = [param.values[0] for param in fixtures.ALLOWED + fixtures.REFUSED]
    data += [path.read_bytes() for path in sorted(IMAGES.iterdir())]
    heads = _tricky_texts() + [mutant for item in data for mutant in _mutants(item, rng)]
    samples = [(head, complete) for head in heads for complete in (True, False)]
    expected = [sniff(head, complete=complete) for head, complete in samples]
    answered = _browser_sniff(samples)
    differing = [
        (head[:24], complete, found, want)
        for (head, complete), found, want in zip(samples, answered, expected, strict=True)
        if found != (None if want is None else vars(want))
    ]
    assert differing == []
    # Something of every kind, and refusals, were among them.
    assert {want.kind for want in expected if want} == {
        "image",
        "video",
        "audio",
        "pdf",
        "text",
        "archive",
    }
    assert sum(want is None for want in expected) > 100


def test_an_executable_is_refused_by_her_browser_as_by_the_server():
    elf, exe = fixtures.elf_executable(), fixtures.windows_executable()
    assert sniff(elf, complete=True) is None
    assert sniff(exe, complete=True) is None
    assert _browser_sniff([(elf, True), (exe, True), (b"%PDF-1.7\n", True)]) == [
        None,
        None,
        {"kind": "pdf", "mime": "application/pdf", "extension": "pdf"},
    ]
