"""What an uploaded evidence file is, told from its first bytes against an allow-list.

The name a file was uploaded under and the Content-Type the browser sent are both chosen
by whoever uploads, so neither is looked at: ``sniff`` is only ever given bytes.  The
extension it returns names the file in exports; it never comes from the user.

The allow-list is what victims send from phones: screenshots and photos, voice notes and
videos from WhatsApp, Telegram and Messenger, screen recordings, PDFs and chat exports.
Everything else is refused: executables, scripts, HTML, SVG and XML (they can carry
scripts), RAR, 7z, gzip/tar, the binary Office formats, an empty file.

Decisions:

* Archives.  A ZIP is accepted as "archive" because WhatsApp's "Export chat with media"
  produces one.  The server never unpacks an archive (no zip bombs, nothing inside is
  parsed or executed): it is sealed as received, for a person to open on her own
  machine.  .docx, .xlsx, .pptx, .odt and .apk files are ZIP files too, so they are
  accepted the same way, as "archive", and never opened by the server either.
* PDF leading bytes.  ``%PDF-`` must start the file, after at most a UTF-8 byte-order
  mark and whitespace (what a careless PHP generator adds).  PDF readers tolerate up to
  1024 bytes of anything before the header, but those bytes are exactly where a polyglot
  puts its other format (an HTML page, an executable's header); a file that is two
  things at once is refused rather than sealed under one label.
* Text encodings.  UTF-8, with or without a byte-order mark, and UTF-16 (little- or
  big-endian) with a byte-order mark.  That covers WhatsApp's .txt chat export, in
  Arabic, French or English, on every phone.  Legacy 8-bit encodings (Latin-1,
  Windows-1252, Windows-1256) are refused: every byte is a valid character in them, so
  accepting them would accept any binary file as text.  UTF-16 without a byte-order mark
  and UTF-32 are refused for the same reason.  Text must not contain NUL and only a
  trace of other control characters; it is refused when it opens with ``<`` (HTML, SVG,
  XML, whatever a browser would render as markup) or ``#!`` (a script).  Any other
  script or program text is indistinguishable from a note and is accepted as
  text/plain, exported as .txt and never executed.
* MP3 is MPEG audio Layer III only.  Phones do not make Layer I/II files, and the frame
  sync of a Layer I header (FF FE) is also the UTF-16 little-endian byte-order mark.
* A WebM or Matroska file is "video" even when it only holds sound: telling would mean
  reading its track list, which may lie past the first bytes.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

HEAD_SIZE = 4096  # how many first bytes the caller passes (fewer when the file is shorter)


@dataclass(frozen=True)
class Sniffed:
    kind: str  # one of "image", "video", "audio", "pdf", "text", "archive"
    mime: str  # e.g. "image/jpeg"
    extension: str  # e.g. "jpg": used to name files in exports; never taken from the user


_JPEG = Sniffed("image", "image/jpeg", "jpg")
_PNG = Sniffed("image", "image/png", "png")
_GIF = Sniffed("image", "image/gif", "gif")
_WEBP = Sniffed("image", "image/webp", "webp")
_BMP = Sniffed("image", "image/bmp", "bmp")
_HEIC = Sniffed("image", "image/heic", "heic")
_HEIC_SEQUENCE = Sniffed("image", "image/heic-sequence", "heics")
_HEIF = Sniffed("image", "image/heif", "heif")
_HEIF_SEQUENCE = Sniffed("image", "image/heif-sequence", "heifs")

_MP4 = Sniffed("video", "video/mp4", "mp4")
_M4V = Sniffed("video", "video/x-m4v", "m4v")
_MOV = Sniffed("video", "video/quicktime", "mov")
_3GP = Sniffed("video", "video/3gpp", "3gp")
_3G2 = Sniffed("video", "video/3gpp2", "3g2")
_WEBM = Sniffed("video", "video/webm", "webm")
_MKV = Sniffed("video", "video/x-matroska", "mkv")
_AVI = Sniffed("video", "video/x-msvideo", "avi")

_MP3 = Sniffed("audio", "audio/mpeg", "mp3")
_M4A = Sniffed("audio", "audio/mp4", "m4a")
_M4B = Sniffed("audio", "audio/mp4", "m4b")
_AAC = Sniffed("audio", "audio/aac", "aac")
_OPUS = Sniffed("audio", "audio/ogg", "opus")
_VORBIS = Sniffed("audio", "audio/ogg", "ogg")
_WAV = Sniffed("audio", "audio/wav", "wav")
_AMR = Sniffed("audio", "audio/amr", "amr")
_AMR_WB = Sniffed("audio", "audio/amr-wb", "awb")
_FLAC = Sniffed("audio", "audio/flac", "flac")

_PDF = Sniffed("pdf", "application/pdf", "pdf")
_TEXT = Sniffed("text", "text/plain", "txt")
_ZIP = Sniffed("archive", "application/zip", "zip")

# Every type taken, whoever sniffed it: a file sealed on her device arrives with the type
# her browser found (frontend/src/sniff.js, this module's twin), which must be one of these.
ACCEPTED = frozenset(value for value in list(globals().values()) if isinstance(value, Sniffed))

# Fixed signatures: the type, and the bytes that must appear at each offset.
_SIGNATURES: tuple[tuple[Sniffed, dict[int, bytes]], ...] = (
    (_JPEG, {0: b"\xff\xd8\xff"}),  # JPEG: start-of-image marker, then the next marker
    (_PNG, {0: b"\x89PNG\r\n\x1a\n"}),  # PNG signature
    (_GIF, {0: b"GIF87a"}),  # GIF, 1987 version
    (_GIF, {0: b"GIF89a"}),  # GIF, 1989 version (animations)
    (_WEBP, {0: b"RIFF", 8: b"WEBP"}),  # WebP: a RIFF container of form WEBP
    (_WAV, {0: b"RIFF", 8: b"WAVE"}),  # WAV: a RIFF container of form WAVE
    (_AVI, {0: b"RIFF", 8: b"AVI "}),  # AVI: a RIFF container of form "AVI "
    (_AMR, {0: b"#!AMR\n"}),  # AMR narrow-band storage format (RFC 4867)
    (_AMR_WB, {0: b"#!AMR-WB\n"}),  # AMR wide-band storage format (RFC 4867)
    (_FLAC, {0: b"fLaC"}),  # FLAC stream marker
    (_ZIP, {0: b"PK\x03\x04"}),  # ZIP: first local file header
    (_ZIP, {0: b"PK\x05\x06"}),  # ZIP: end of central directory, i.e. an empty archive
)

# ISO base media file format (MP4, MOV, 3GP, HEIF): brands named in the 'ftyp' box.
_BMFF_BRANDS: dict[bytes, Sniffed] = {
    # HEIF (ISO/IEC 23008-12): iPhone and recent Android photos
    b"heic": _HEIC,
    b"heix": _HEIC,
    b"heim": _HEIC,
    b"heis": _HEIC,
    b"hevc": _HEIC_SEQUENCE,
    b"mif1": _HEIF,
    b"msf1": _HEIF_SEQUENCE,
    # MPEG-4 audio: voice notes and recordings from iPhones, Messenger, Signal
    b"M4A ": _M4A,
    b"M4B ": _M4B,
    # MPEG-4 video: camera, WhatsApp and Telegram videos, screen recordings
    b"isom": _MP4,
    b"iso2": _MP4,
    b"iso3": _MP4,
    b"iso4": _MP4,
    b"iso5": _MP4,
    b"iso6": _MP4,
    b"mp41": _MP4,
    b"mp42": _MP4,
    b"avc1": _MP4,
    b"dash": _MP4,
    b"M4V ": _M4V,
    # QuickTime: iPhone videos and screen recordings
    b"qt  ": _MOV,
    # 3GPP and 3GPP2: older Android and feature-phone videos
    b"3gp4": _3GP,
    b"3gp5": _3GP,
    b"3gp6": _3GP,
    b"3g2a": _3G2,
}
_FTYP_MIN_SIZE = 16  # box size, 'ftyp', major brand, minor version

# Matroska and WebM start with an EBML header whose DocType says which of the two it is.
_EBML_HEADER_ID = 0x1A45DFA3  # EBML magic: the ID of the header element, 1A 45 DF A3
_EBML_DOCTYPE_ID = 0x4282
_EBML_DOCTYPES = {b"webm": _WEBM, b"matroska": _MKV}

# The first packet of an Ogg stream names its codec: only those of voice notes are allowed.
_OGG_MAGIC = b"OggS\x00"  # Ogg page capture pattern, stream structure version 0
_OGG_CODECS = (
    (b"OpusHead", _OPUS),  # Ogg Opus identification header (RFC 7845)
    (b"\x01vorbis", _VORBIS),  # Vorbis identification header
)

_ID3_MAGIC = b"ID3"  # ID3v2 tag in front of MP3 frames
_ID3_VERSIONS = (2, 3, 4)

# Tables of ISO/IEC 11172-3 and 13818-3 for the bits of an MPEG audio frame header.
_MPEG_RESERVED_VERSION = 0b01
_MPEG_LAYER_3 = 0b01
_MPEG_BAD_BITRATES = (0b0000, 0b1111)  # "free format" (phones never write it), forbidden
_MPEG_RESERVED_SAMPLE_RATE = 0b11
_MPEG_RESERVED_EMPHASIS = 0b10

_ADTS_HEADER_SIZE = 7
_ADTS_MAX_SAMPLE_RATE_INDEX = 12  # 13 and 14 are reserved, 15 is forbidden in ADTS

_PDF_MAGIC = b"%PDF-"
_PDF_MAX_LEADING = 1024  # readers look no further for the header
_PDF_LEADING_WHITESPACE = b" \t\r\n\f"

_TEXT_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    # UTF-32 LE's mark starts with UTF-16 LE's; such a file then decodes to NULs.
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")
_MAX_CONTROLS_PER_CHARACTER = 1 / 100  # a stray escape or Ctrl-Z from an old editor
# A browser renders what opens with "<" as markup whatever it is labelled; the kernel runs
# what opens with "#!".  A byte-order mark or blank lines in front hide neither.
_REFUSED_TEXT_START = re.compile(r"[\s\ufeff]*(?:<|#!)")


def sniff(head: bytes, *, complete: bool) -> Sniffed | None:
    """The allowed type these first bytes belong to, or None when not allowed.
    ``complete`` is True when ``head`` is the whole file (a file shorter than HEAD_SIZE)."""
    if not head:
        return None
    for sniffed, parts in _SIGNATURES:
        if all(head.startswith(magic, offset) for offset, magic in parts.items()):
            return sniffed
    for structured in (_bmp, _iso_bmff, _ebml, _ogg, _id3, _mpeg_audio, _adts, _pdf):
        found = structured(head)
        if found is not None:
            return found
    return _text(head, complete=complete)


def _bmp(head: bytes) -> Sniffed | None:
    # "BM" alone is two letters a note can start with; the DIB header that follows has
    # one of a few known sizes.
    if not head.startswith(b"BM") or len(head) < 18:  # BM magic
        return None
    dib_header_size = int.from_bytes(head[14:18], "little")
    return _BMP if dib_header_size in (12, 16, 40, 52, 56, 64, 108, 124) else None


def _iso_bmff(head: bytes) -> Sniffed | None:
    if head[4:8] != b"ftyp":  # 'ftyp' box first, its size in the 4 bytes before
        return None
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < _FTYP_MIN_SIZE:
        return None
    major = head[8:12]
    # Past the minor version: the compatible brands, as far as the box and the head go.
    end = min(box_size, len(head))
    compatible = [head[i : i + 4] for i in range(16, end - 3, 4)]
    # The major brand says what the file is; a writer with a brand of its own still
    # lists a standard brand that players go by.
    for brand in (major, *compatible):
        if brand in _BMFF_BRANDS:
            return _BMFF_BRANDS[brand]
    return None


def _ebml_vint(data: bytes, pos: int) -> tuple[int, int] | None:
    """The EBML variable-size integer at ``pos``: its length in bytes and its value with
    the length marker still set (how element IDs are written)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 9 - data[pos].bit_length()  # 1xxxxxxx: 1 byte ... 00000001: 8 bytes
    if pos + length > len(data):
        return None
    return length, int.from_bytes(data[pos : pos + length], "big")


def _ebml_element(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """The element at ``pos``: its ID, and where its data starts and ends."""
    element_id = _ebml_vint(data, pos)
    if element_id is None:
        return None
    size = _ebml_vint(data, pos + element_id[0])
    if size is None:
        return None
    start = pos + element_id[0] + size[0]
    marker = 1 << (7 * size[0])  # a size is read without its length marker
    return element_id[1], start, start + (size[1] & ~marker)


def _ebml(head: bytes) -> Sniffed | None:
    header = _ebml_element(head, 0)
    if header is None or header[0] != _EBML_HEADER_ID:
        return None
    _, pos, end = header
    while pos < min(end, len(head)):
        child = _ebml_element(head, pos)
        if child is None:
            return None
        child_id, start, pos = child
        if child_id == _EBML_DOCTYPE_ID:
            # Strings in EBML may be padded with NULs to their element's size.
            return _EBML_DOCTYPES.get(head[start:pos].rstrip(b"\x00"))
    return None


def _ogg(head: bytes) -> Sniffed | None:
    if not head.startswith(_OGG_MAGIC) or len(head) < 27:
        return None
    # A 27-byte page header, then the segment table; the first page holds exactly the
    # codec's identification packet.
    packet = 27 + head[26]
    for magic, sniffed in _OGG_CODECS:
        if head.startswith(magic, packet):
            return sniffed
    return None


def _id3(head: bytes) -> Sniffed | None:
    if not head.startswith(_ID3_MAGIC) or len(head) < 10:
        return None
    version, revision, size = head[3], head[4], head[6:10]
    # The tag size is "synchsafe": seven bits a byte, the top bit always clear.
    valid = version in _ID3_VERSIONS and revision != 0xFF and all(b < 0x80 for b in size)
    return _MP3 if valid else None


def _mpeg_audio(head: bytes) -> Sniffed | None:
    # A frame header without an ID3 tag in front: 11 sync bits, then version, layer,
    # protection; bitrate, sample rate, padding, private; channels, ..., emphasis.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    valid = (
        (head[1] >> 3) & 0b11 != _MPEG_RESERVED_VERSION
        and (head[1] >> 1) & 0b11 == _MPEG_LAYER_3
        and head[2] >> 4 not in _MPEG_BAD_BITRATES
        and (head[2] >> 2) & 0b11 != _MPEG_RESERVED_SAMPLE_RATE
        and head[3] & 0b11 != _MPEG_RESERVED_EMPHASIS
    )
    return _MP3 if valid else None


def _adts(head: bytes) -> Sniffed | None:
    # Raw AAC: 12 sync bits, MPEG version, layer always 00, protection absent.
    if len(head) < _ADTS_HEADER_SIZE or head[0] != 0xFF or head[1] & 0xF6 != 0xF0:
        return None
    sample_rate_index = (head[2] >> 2) & 0b1111
    frame_length = (head[3] & 0b11) << 11 | head[4] << 3 | head[5] >> 5
    valid = sample_rate_index <= _ADTS_MAX_SAMPLE_RATE_INDEX and frame_length >= _ADTS_HEADER_SIZE
    return _AAC if valid else None


def _pdf(head: bytes) -> Sniffed | None:
    body = head.removeprefix(codecs.BOM_UTF8).lstrip(_PDF_LEADING_WHITESPACE)
    leading = len(head) - len(body)
    return _PDF if body.startswith(_PDF_MAGIC) and leading <= _PDF_MAX_LEADING else None


def _text(head: bytes, *, complete: bool) -> Sniffed | None:
    encoding, body = "utf-8", head
    for bom, name in _TEXT_BOMS:
        if head.startswith(bom):
            encoding, body = name, head.removeprefix(bom)
            break
    try:
        # Unless the head is the whole file, it may end inside a character: the
        # incremental decoder keeps those bytes back instead of calling them invalid.
        text = codecs.getincrementaldecoder(encoding)().decode(body, final=complete)
    except UnicodeDecodeError:
        return None
    if not text or "\x00" in text or _REFUSED_TEXT_START.match(text):
        return None
    controls = sum(
        1
        for char in text
        if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS_ALLOWED
    )
    return _TEXT if controls <= len(text) * _MAX_CONTROLS_PER_CHARACTER else None
