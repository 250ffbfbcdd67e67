"""Make the vectors that frontend/test/strip.test.js, sniff.test.js and
tests/evidence/test_strip_twin.py share: small images full of metadata (written by
Pillow, the rest spliced in byte by byte), broken and hostile files, and the sniffing
cases with what evidence.sniff says of each.

    .venv/bin/python -m tests.support.strip_vectors

writes frontend/test/vectors/strip/*, strip.json and sniff.json; commit what changes.
(The images come out the same on every run; sniff.json's ZIP and gzip samples, taken
from tests/evidence/test_sniff.py, carry the time they were made.)
Every piece of metadata holds the word CANARY, so a test can tell that none of it is
left in a working copy by looking for that word."""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import zlib

from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from evidence.sniff import HEAD_SIZE, sniff
from tests.evidence import test_sniff as fixtures
from tests.support.node import FRONTEND

VECTORS = FRONTEND / "test" / "vectors"
IMAGES = VECTORS / "strip"
CANARY = b"CANARY"

# The profile's header dates it (bytes 24-35, when it was made: here, now); a fixed date
# keeps the vectors the same from run to run.  Its ID (bytes 84-99) is left unset.
_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ICC = _PROFILE[:24] + struct.pack(">6H", 2024, 3, 12, 22, 0, 0) + _PROFILE[36:]
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="33,35.2N" exif:GPSLongitude="7,36.0W" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="CANARY-xmp"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def picture(mode: str, size: tuple[int, int] = (40, 30), seed: int = 1) -> Image.Image:
    """Noise over a gradient: every pixel differs, so a changed pixel shows."""
    rng = random.Random(seed)
    bands = len(mode) if mode != "P" else 1
    data = bytes(
        (x * 6 + y * 3 + rng.randrange(64)) % 256
        for y in range(size[1])
        for x in range(size[0])
        for _ in range(bands)
    )
    return Image.frombytes(mode, size, data)


def exif(orientation: int, *, gps: bool) -> Image.Exif:
    tags = Image.Exif()
    tags[ExifTags.Base.Orientation] = orientation
    tags[ExifTags.Base.Make] = "CANARY-make"
    tags[ExifTags.Base.Model] = "CANARY-model"
    tags[ExifTags.Base.DateTime] = "2024:03:12 22:15:03"
    if gps:
        location = tags.get_ifd(ExifTags.IFD.GPSInfo)
        location[ExifTags.GPS.GPSLatitudeRef] = "N"
        location[ExifTags.GPS.GPSLatitude] = (33.0, 35.0, 12.0)
        location[ExifTags.GPS.GPSLongitudeRef] = "W"
        location[ExifTags.GPS.GPSLongitude] = (7.0, 36.0, 0.0)
        location[ExifTags.GPS.GPSProcessingMethod] = b"ASCII\x00\x00\x00CANARY"
    return tags


def saved(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


# --- JPEG -------------------------------------------------------------------------------


def jpeg_segment(marker: int, data: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    """Put ``segments`` after the first segment that follows SOI (JFIF's APP0, or
    whatever Pillow wrote first)."""
    assert jpeg[:2] == b"\xff\xd8"
    first_end = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:first_end] + b"".join(segments) + jpeg[first_end:]


def iptc() -> bytes:
    """Photoshop's APP13: an image resource block 0x0404 holding IPTC caption 2:120."""
    caption = b"CANARY caption, Casablanca"
    record = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    record += b"\x00" * (len(record) & 1)
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(record))
    return jpeg_segment(0xED, b"Photoshop 3.0\x00" + resource + record)


def xmp_segments() -> list[bytes]:
    standard = jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    extension = b"CANARY extended XMP " * 4
    extended = jpeg_segment(
        0xE1,
        b"http://ns.adobe.com/xmp/extension/\x00"
        + b"0123456789ABCDEF0123456789ABCDEF"  # GUID of the extension
        + struct.pack(">II", len(extension), 0)
        + extension,
    )
    return [standard, extended]


def jpeg_phone() -> bytes:
    """A phone photo: EXIF with GPS, turned (orientation 6), XMP, an ICC profile."""
    base = saved(picture("RGB"), "JPEG", quality=90, exif=exif(6, gps=True), icc_profile=ICC)
    return after_soi(base, *xmp_segments())


def jpeg_edited() -> bytes:
    """Through an editor: a JFIF thumbnail, IPTC, a comment, Ducky (APP12), an APP3."""
    base = saved(picture("RGB", seed=2), "JPEG", quality=85, comment=b"CANARY comment")
    jfif = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01" + b"CANARY"  # a 2x1 thumbnail
    assert base[2:4] == b"\xff\xe0"
    body = base[4 + struct.unpack(">H", base[4:6])[0] :]
    return (
        b"\xff\xd8"
        + jpeg_segment(0xE0, jfif)
        + jpeg_segment(0xE0, b"JFXX\x00\x13" + CANARY)  # a JFXX thumbnail
        + iptc()
        + jpeg_segment(0xEC, b"Ducky\x00\x01\x00\x04\x00\x00\x00\x50CANARY")
        + jpeg_segment(0xE3, b"META\x00CANARY")
        + body
    )


def jpeg_progressive() -> bytes:
    """Progressive, restart markers in the scans, fill bytes before markers, EXIF
    orientation 8 with no GPS."""
    base = saved(
        picture("RGB", (48, 40), seed=3),
        "JPEG",
        quality=80,
        progressive=True,
        restart_marker_blocks=2,
        exif=exif(8, gps=False),
    )
    assert base.count(b"\xff\xda") > 1  # several scans
    assert b"\xff\xd0" in base  # RST0 inside one
    sof = base.index(b"\xff\xc2")
    padded = base[:sof] + b"\xff\xff\xff" + base[sof:]  # fill bytes before a marker
    return padded[:-2] + b"\xff\xff\xff\xff\xd9"  # and at the end of the last scan


def jpeg_cmyk() -> bytes:
    """A CMYK JPEG: Adobe's APP14 tells how to read it (kept), and an XMP packet."""
    base = saved(picture("CMYK", seed=4), "JPEG", quality=90)
    assert b"Adobe" in base[:300]  # Pillow writes APP14 for CMYK
    return after_soi(base, xmp_segments()[0])


def jpeg_motion() -> bytes:
    """A two-picture MPO (MPF index in APP2) with a trailer like a motion photo's video."""
    first = picture("RGB", seed=5)
    base = saved(first, "MPO", save_all=True, append_images=[picture("RGB", seed=6)])
    return base + b"\x00\x00\x00\x18ftypmp42CANARY-video"


def jpeg_plain() -> bytes:
    return saved(picture("L", seed=7), "JPEG", quality=75)


# --- PNG --------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_insert(png: bytes, chunk: bytes) -> bytes:
    """``chunk`` right after IHDR."""
    return png[:33] + chunk + png[33:]


def png_text() -> bytes:
    info = PngInfo()
    info.add_text("Comment", "CANARY comment")
    info.add_text("Author", "CANARY author", zip=True)  # zTXt
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)  # iTXt
    info.add_itxt("Description", "CANARY \u0641\u064a \u0627\u0644\u062f\u0627\u0631", zip=True)
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 3, 12, 22, 15, 3))
    info.add(b"prVt", b"CANARY private ancillary chunk")
    png = saved(
        picture("RGBA", seed=8),
        "PNG",
        pnginfo=info,
        exif=exif(3, gps=True),
        icc_profile=ICC,
        dpi=(144, 144),
    )
    return png + b"CANARY after IEND"


def png_animated() -> bytes:
    info = PngInfo()
    info.add_text("Software", "CANARY animator")
    frames = [picture("RGB", (24, 16), seed=s) for s in (9, 10, 11)]
    return saved(frames[0], "PNG", save_all=True, append_images=frames[1:], pnginfo=info)


def png_palette() -> bytes:
    image = picture("L", seed=12).convert("P")
    info = PngInfo()
    info.add_text("Title", "CANARY title")
    return saved(image, "PNG", pnginfo=info, transparency=0)


# --- WebP -------------------------------------------------------------------------------


def webp_extended() -> bytes:
    return saved(
        picture("RGB", seed=13),
        "WEBP",
        quality=80,
        exif=exif(6, gps=True),
        xmp=XMP,
        icc_profile=ICC,
    )


def webp_alpha() -> bytes:
    """Lossy with alpha (VP8X, ALPH, VP8), EXIF without GPS, orientation 1."""
    return saved(picture("RGBA", seed=14), "WEBP", quality=70, exif=exif(1, gps=False))


def webp_animated() -> bytes:
    frames = [picture("RGBA", (24, 16), seed=s) for s in (15, 16, 17)]
    return saved(
        frames[0],
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        lossless=True,
        duration=100,
        exif=exif(1, gps=True),
        xmp=XMP,
    )


def webp_simple() -> bytes:
    return saved(picture("RGB", seed=18), "WEBP", lossless=True)


def riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) & 1)


def webp_riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_simple_with_appended_exif() -> bytes:
    """A simple file a careless tool appended EXIF and XMP to, without a VP8X."""
    simple = webp_simple()
    image = simple[12:]
    raw = exif(1, gps=True).tobytes()[6:]  # the TIFF structure, without "Exif\0\0"
    return webp_riff(image, riff_chunk(b"EXIF", raw), riff_chunk(b"XMP ", XMP))


# --- broken and hostile -----------------------------------------------------------------


def hostile() -> dict[str, bytes]:
    phone, png, webp = jpeg_phone(), png_text(), webp_extended()
    scan = phone.index(b"\xff\xda")
    idat = png.index(b"IDAT")
    ihdr = png[8:33]
    iend = png_chunk(b"IEND", b"")
    return {
        "jpeg-truncated-in-scan.jpg": phone[: scan + 200],
        "jpeg-truncated-in-header.jpg": phone[:25],
        "jpeg-length-past-end.jpg": b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00" + CANARY,
        "jpeg-zero-length.jpg": b"\xff\xd8\xff\xe1\x00\x00" + phone[2:],
        "jpeg-endless-fill.jpg": b"\xff\xd8" + b"\xff" * 8192,
        "jpeg-endless-fill-in-scan.jpg": phone[: scan + 100] + b"\xff" * 8192,
        "jpeg-scan-before-frame.jpg": b"\xff\xd8" + phone[scan:],
        "jpeg-no-scan.jpg": b"\xff\xd8" + jpeg_segment(0xFE, CANARY) + b"\xff\xd9",
        "jpeg-reserved-marker.jpg": phone[:2] + jpeg_segment(0x02, CANARY) + phone[2:],
        "jpeg-junk-between-segments.jpg": phone[:2] + b"CANARY" + phone[2:],
        "png-truncated-in-idat.png": png[: idat + 40],
        "png-no-iend.png": png[: png.index(b"IEND") - 4],
        "png-length-past-end.png": png[:8] + ihdr + struct.pack(">I", 0x7FFFFFF0) + b"IDAT",
        "png-length-over-limit.png": png[:8] + ihdr + struct.pack(">I", 0xFFFFFFF0) + b"tEXt",
        "png-unknown-critical.png": png_insert(png, png_chunk(b"CgBI", b"\x50\x00\x20\x06")),
        "png-idat-before-ihdr.png": png[:8] + png[idat - 4 :],
        "png-bad-chunk-type.png": png_insert(png, png_chunk(b"t\x00Xt", CANARY)),
        "png-bad-signature.png": b"\x89PNG\r\n\x1a\x00" + png[8:],
        "png-only-signature.png": png[:8] + ihdr + iend[:6],
        "webp-riff-size-past-end.webp": webp[:4] + struct.pack("<I", len(webp)) + webp[8:],
        "webp-chunk-past-end.webp": webp_riff(
            riff_chunk(b"VP8L", b"\x2f")[:4] + b"\xff\xff\x00\x00"
        ),
        "webp-no-image.webp": webp_riff(
            riff_chunk(b"VP8X", b"\x08" + bytes(9)), riff_chunk(b"EXIF", CANARY)
        ),
        "webp-unknown-first-chunk.webp": webp_riff(riff_chunk(b"EXIF", CANARY)),
        "webp-frame-with-metadata.webp": webp_riff(
            riff_chunk(b"VP8X", b"\x02" + bytes(9)),
            riff_chunk(b"ANIM", bytes(6)),
            riff_chunk(b"ANMF", bytes(16) + riff_chunk(b"EXIF", CANARY)),
        ),
        "webp-two-headers.webp": webp_riff(webp[12:30], webp[12:]),
        "gif.gif": saved(picture("RGB", seed=19), "GIF"),
        "bmp.bmp": saved(picture("RGB", seed=20), "BMP"),
        "text.txt": b"Si tu ne paies pas, je les envoie.\n",
        "empty.bin": b"",
    }


# --- sniffing ---------------------------------------------------------------------------


def sniff_cases() -> list[dict]:
    """The sniffing fixtures of tests/evidence/test_sniff.py and the images above, each
    with what evidence.sniff says of its first bytes."""
    samples = [(param.id, param.values[0]) for param in fixtures.ALLOWED + fixtures.REFUSED]
    cut = fixtures.cut_inside_a_character(fixtures.ARABIC_CHAT)
    cases = [case(name, data[:HEAD_SIZE], complete=len(data) < HEAD_SIZE) for name, data in samples]
    cases.append(case("chat cut inside a character, more to come", cut, complete=False))
    cases.append(case("chat cut inside a character, the whole file", cut, complete=True))
    for path in sorted(IMAGES.iterdir()):  # by name: the head is the file's first bytes
        data = path.read_bytes()
        cases.append(case(path.name, data[:HEAD_SIZE], complete=len(data) < HEAD_SIZE))
        cases[-1]["head"], cases[-1]["file"] = None, path.name
    return cases


def case(name: str, head: bytes, *, complete: bool) -> dict:
    """``complete`` as the upload view passes it: True only for a file shorter than
    HEAD_SIZE (a file of exactly HEAD_SIZE bytes is sniffed before its end is seen)."""
    found = sniff(head, complete=complete)
    return {
        "name": name,
        "head": base64.b64encode(head).decode(),
        "complete": complete,
        "expected": None if found is None else vars(found),
    }


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for old in IMAGES.iterdir():
        old.unlink()
    # file: (format, what the stripper must report removed, orientation)
    strippable = {
        "jpeg-phone.jpg": (jpeg_phone(), "jpeg", ["exif", "gps", "xmp", "orientation"], 6),
        "jpeg-edited.jpg": (
            jpeg_edited(),
            "jpeg",
            ["thumbnail", "iptc", "app12", "app3", "comment"],
            None,
        ),
        "jpeg-progressive.jpg": (jpeg_progressive(), "jpeg", ["exif", "orientation"], 8),
        "jpeg-cmyk.jpg": (jpeg_cmyk(), "jpeg", ["xmp"], None),
        "jpeg-motion.jpg": (jpeg_motion(), "jpeg", ["mpf", "trailing-data"], None),
        "jpeg-plain.jpg": (jpeg_plain(), "jpeg", [], None),
        "png-text.png": (
            png_text(),
            "png",
            [
                "comment",
                "text",
                "xmp",
                "time",
                "chunk:prVt",
                "exif",
                "gps",
                "orientation",
                "trailing-data",
            ],
            3,
        ),
        "png-animated.png": (png_animated(), "png", ["text"], None),
        "png-palette.png": (png_palette(), "png", ["text"], None),
        "webp-extended.webp": (
            webp_extended(),
            "webp",
            ["exif", "gps", "xmp", "orientation"],
            6,
        ),
        "webp-alpha.webp": (webp_alpha(), "webp", ["exif"], None),
        "webp-animated.webp": (webp_animated(), "webp", ["exif", "gps", "xmp"], None),
        "webp-simple.webp": (webp_simple(), "webp", [], None),
        "webp-simple-with-appended-exif.webp": (
            webp_simple_with_appended_exif(),
            "webp",
            ["exif", "gps", "xmp"],
            None,
        ),
    }
    manifest = []
    for name, (data, image_format, removed, orientation) in strippable.items():
        (IMAGES / name).write_bytes(data)
        manifest.append(
            {
                "file": name,
                "format": image_format,
                "removed": sorted(removed),
                "orientation": orientation,
            }
        )
    for name, data in hostile().items():
        (IMAGES / name).write_bytes(data)
        manifest.append({"file": name, "format": None})
    (VECTORS / "strip.json").write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    (VECTORS / "sniff.json").write_text(json.dumps(sniff_cases(), indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
