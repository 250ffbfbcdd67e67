"""The working copy of an evidence image shows the picture and nothing else about it, and
its PDQ hash links the same picture across reports.  Every image is made here, with
Pillow; no binary fixture is committed."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pdqhash
import pytest
from PIL import (
    ExifTags,
    Image,
    ImageCms,
    ImageDraw,
    IptcImagePlugin,
    PngImagePlugin,
)

from evidence import images
from evidence.images import ImageRefused, Sanitised, pdq_distance, sanitise

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)

# Meta's suggested threshold for "the same picture" (of 256 bits).
MATCH = 31


def encode(image: Image.Image, image_format: str, **params: object) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, format=image_format, **params)
    out.seek(0)
    return out


def reopen(result: Sanitised) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def near(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    """JPEG is lossy: colours come back close, not equal."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def photo(variant: int) -> Image.Image:
    """Something with the structure of a photo: smooth gradients and a few objects."""
    height, width = 480, 640
    y, x = np.mgrid[0:height, 0:width]
    if variant == 0:
        channels = [x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)]
    else:
        channels = [255 - y * 255 // height, 255 - x * 255 // width, np.full_like(x, 128)]
    image = Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    if variant == 0:
        draw.ellipse((80, 60, 300, 280), fill=(250, 240, 30))
        draw.rectangle((380, 200, 600, 440), fill=(20, 20, 120))
        draw.polygon([(320, 40), (460, 180), (200, 180)], fill=(200, 30, 30))
    else:
        draw.rectangle((40, 40, 260, 200), fill=(240, 240, 240))
        draw.ellipse((360, 220, 620, 460), fill=(10, 80, 10))
        draw.line((0, 479, 639, 0), fill=(0, 0, 0), width=30)
    return image


def halves(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]):
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


# --- metadata ---------------------------------------------------------------------------

GPS_MARKER = "GPS-MARKER-TINGHIR"
MAKE_MARKER = "MAKE-MARKER-PHONECO"
MODEL_MARKER = "MODEL-MARKER-X12"
TAKEN_AT = "2024:03:01 21:40:07"
COMMENT_MARKER = b"COMMENT-MARKER-from-his-phone"
XMP_MARKER = b"XMP-MARKER-Creator"
IPTC_MARKER = b"IPTC-MARKER-Byline"


def iptc_segment(byline: bytes) -> bytes:
    """An APP13 segment as Photoshop writes it, holding one IPTC by-line (2:80)."""
    dataset = b"\x1c\x02\x50" + struct.pack(">H", len(byline)) + byline
    dataset += b"\x00" * (len(dataset) % 2)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(dataset)) + dataset
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


@pytest.fixture(scope="module")
def tagged_jpeg() -> bytes:
    """A phone photo carrying everything that could identify or locate the victim."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE_MARKER
    exif[ExifTags.Base.Model] = MODEL_MARKER
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = TAKEN_AT
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 30.0, 56.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (5.0, 31.0, 55.0)
    gps[ExifTags.GPS.GPSMapDatum] = GPS_MARKER
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="' + XMP_MARKER + b'"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        photo(0),
        "JPEG",
        exif=exif,
        comment=COMMENT_MARKER,
        xmp=xmp,
        icc_profile=icc,
        # Pillow writes no IPTC itself; "extra" places raw segments after the header.
        extra=iptc_segment(IPTC_MARKER),
    ).getvalue()

    # The test is only worth something if the original really carries all of it.
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSMapDatum]
    assert original.getexif()[ExifTags.Base.Make] == MAKE_MARKER
    assert {"comment", "xmp", "icc_profile"} <= original.info.keys()
    assert IptcImagePlugin.getiptcinfo(original)[(2, 80)] == IPTC_MARKER
    return data


@pytest.fixture(scope="module")
def tagged_copy(tagged_jpeg: bytes) -> Sanitised:
    return sanitise(io.BytesIO(tagged_jpeg))


def test_gps_coordinates_never_reach_the_working_copy(tagged_copy):
    working = reopen(tagged_copy)
    assert not working.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in working.info
    assert b"Exif" not in tagged_copy.data
    assert GPS_MARKER.encode() not in tagged_copy.data


def test_the_phone_model_and_time_taken_never_reach_the_working_copy(tagged_copy):
    working = reopen(tagged_copy)
    assert dict(working.getexif()) == {}
    for marker in (MAKE_MARKER, MODEL_MARKER, TAKEN_AT):
        assert marker.encode() not in tagged_copy.data


def test_comments_xmp_iptc_and_colour_profile_never_reach_the_working_copy(tagged_copy):
    working = reopen(tagged_copy)
    assert not {"comment", "xmp", "icc_profile", "photoshop"} & working.info.keys()
    assert IptcImagePlugin.getiptcinfo(working) is None
    for marker in (
        b"http://ns.adobe.com/xap",
        b"ICC_PROFILE",
        b"Photoshop 3.0",
        COMMENT_MARKER,
        XMP_MARKER,
        IPTC_MARKER,
    ):
        assert marker not in tagged_copy.data


def test_the_working_copy_still_shows_the_photo(tagged_copy):
    working = reopen(tagged_copy)
    assert tagged_copy.mime == "image/jpeg"
    assert working.format == "JPEG"
    assert (tagged_copy.width, tagged_copy.height) == working.size == (640, 480)
    assert near(working.getpixel((190, 170)), (250, 240, 30))  # the yellow disc
    assert near(working.getpixel((490, 320)), (20, 20, 120))  # the dark blue box


def test_a_sideways_phone_photo_is_shown_upright():
    # Phones store the sensor's pixels as they come and record "rotate 90 degrees
    # clockwise to view" (Orientation 6); the working copy has no EXIF left to say so.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    stored = halves((200, 100), RED, BLUE)

    result = sanitise(encode(stored, "JPEG", exif=exif, quality=95))

    working = reopen(result)
    assert (result.width, result.height) == working.size == (100, 200)
    assert near(working.getpixel((50, 40)), RED)
    assert near(working.getpixel((50, 160)), BLUE)


def test_a_transparent_png_keeps_its_alpha_and_loses_its_text_chunks():
    sticker = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    ImageDraw.Draw(sticker).ellipse((20, 10, 100, 70), fill=(*GREEN, 255))
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "PNG-TEXT-MARKER his real name")
    text.add_itxt("Description", "PNG-ITXT-MARKER taken at his flat", lang="ar")
    source = encode(sticker, "PNG", pnginfo=text)
    assert b"tEXt" in source.getvalue()
    assert b"iTXt" in source.getvalue()

    result = sanitise(source)

    working = reopen(result)
    assert result.mime == "image/png"
    assert working.format == "PNG"
    assert working.mode == "RGBA"
    assert working.getpixel((2, 2))[3] == 0  # the corner stays see-through
    assert working.getpixel((60, 40)) == (*GREEN, 255)
    assert working.text == {}
    for marker in (b"tEXt", b"iTXt", b"zTXt", b"PNG-TEXT-MARKER", b"PNG-ITXT-MARKER"):
        assert marker not in result.data


def test_an_animated_gif_gives_its_first_frame():
    frames = [halves((90, 60), colour, (250, 250, 250)) for colour in (RED, GREEN, BLUE)]
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200)
    assert Image.open(source).n_frames == 3
    source.seek(0)

    result = sanitise(source)

    working = reopen(result)
    assert getattr(working, "n_frames", 1) == 1
    assert near(working.getpixel((20, 30)), RED)
    assert near(working.getpixel((70, 30)), (250, 250, 250))


# --- colour modes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [
        ("L", "PNG"),  # a greyscale scan
        ("P", "PNG"),  # a palette screenshot
        ("P", "BMP"),
        ("CMYK", "JPEG"),  # what print-oriented software writes
        ("RGBA", "PNG"),  # a screenshot with an alpha channel but nothing see-through
        ("RGB", "WEBP"),
    ],
)
def test_an_opaque_image_of_any_mode_becomes_a_jpeg_of_the_same_colours(mode, image_format):
    source = halves((120, 80), (200, 90, 40), (40, 90, 200)).convert(mode)
    expected_left = source.convert("RGB").getpixel((10, 40))
    expected_right = source.convert("RGB").getpixel((110, 40))

    result = sanitise(encode(source, image_format))

    working = reopen(result)
    assert result.mime == "image/jpeg"
    assert working.mode == "RGB"
    assert near(working.getpixel((10, 40)), expected_left)
    assert near(working.getpixel((110, 40)), expected_right)


def test_a_sixteen_bit_greyscale_image_is_not_washed_out_to_white():
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (64, 1))
    source = encode(Image.fromarray(ramp), "PNG")
    assert Image.open(source).mode.startswith("I;16")
    source.seek(0)

    working = reopen(sanitise(source))

    left, middle, right = (working.getpixel((x, 32)) for x in (5, 128, 250))
    assert near(left, (0, 0, 0), tolerance=12)
    assert near(middle, (128, 128, 128), tolerance=12)
    assert near(right, (255, 255, 255), tolerance=12)


# --- refusals ---------------------------------------------------------------------------


def sixty_megapixels() -> io.BytesIO:
    """A camera's 60 MP JPEG (9000 x 6700): mostly flat, so small on disk, with a white
    block a quarter of the way in.  Greyscale keeps this test's own memory at 60 MB."""
    image = Image.new("L", (9_000, 6_700), 40)
    ImageDraw.Draw(image).rectangle((2_250, 1_675, 4_500, 3_350), fill=250)
    out = encode(image, "JPEG", quality=90)
    del image
    return out


def test_a_sixty_megapixel_photo_gets_a_downscaled_working_copy():
    # It used to be refused whole, as if it were a decompression bomb.
    result = sanitise(sixty_megapixels())

    assert result.mime == "image/jpeg"
    assert (result.width, result.height) == (4_500, 3_350)  # half, by the JPEG decoder
    assert result.width * result.height <= images.MAX_PIXELS
    working = reopen(result)
    assert near(working.getpixel((1_700, 1_200)), (250, 250, 250), tolerance=12)
    assert near(working.getpixel((500, 500)), (40, 40, 40), tolerance=12)


def test_a_large_image_that_cannot_be_decoded_smaller_keeps_only_its_original():
    # 56 MP in a PNG: over our limit, under Pillow's.  PNG cannot be decoded at a
    # smaller size, and decoding it whole would cost 170 MB: no working copy, and the
    # caller keeps the original.
    large = encode(Image.new("1", (8_000, 7_000)), "PNG")

    with pytest.raises(ImageRefused) as refused:
        sanitise(large)

    assert refused.value.reason == "too_large_to_process"


def test_a_decompression_bomb_is_refused_as_too_large():
    # All black, one bit per pixel: a few kilobytes on disk for 196 million pixels,
    # several gigabytes once decoded to RGB and hashed.  Pillow itself refuses to open it.
    bomb = encode(Image.new("1", (14_000, 14_000)), "PNG")
    assert len(bomb.getvalue()) < 100_000

    with pytest.raises(ImageRefused) as refused:
        sanitise(bomb)

    assert refused.value.reason == "too_large"


def test_pillows_bomb_warning_refuses_even_if_our_limit_were_raised(monkeypatch):
    # Pillow only warns between its limit and twice it, then decodes anyway.  With our
    # own limit out of the way and Pillow's brought down to a test-sized image, the
    # warning alone must refuse it.
    monkeypatch.setattr(images, "MAX_PIXELS", 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    source = encode(photo(0).resize((1_300, 1_000)), "PNG")

    with pytest.raises(ImageRefused) as refused:
        sanitise(source)

    assert refused.value.reason == "too_large"


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_an_image_cut_off_halfway_is_refused_as_corrupt(image_format):
    # An upload interrupted on a bad connection.  Decoding it anyway would show half a
    # picture padded with grey as if it were the evidence.
    noise = Image.frombytes("RGB", (200, 150), os.urandom(200 * 150 * 3))
    whole = encode(noise, image_format).getvalue()

    with pytest.raises(ImageRefused) as refused:
        sanitise(io.BytesIO(whole[: len(whole) // 2]))

    assert refused.value.reason == "corrupt"


def tiff() -> bytes:
    return encode(photo(0), "TIFF").getvalue()


def random_bytes() -> bytes:
    return os.urandom(4096)


def heic_header() -> bytes:
    # The start of an iPhone photo (ISO base media "ftyp heic"); Pillow has no decoder
    # for it without a plugin.
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00heicmif1" + os.urandom(512)


@pytest.mark.parametrize("make", [tiff, random_bytes, heic_header], ids=lambda f: f.__name__)
def test_anything_but_an_allowed_image_format_is_refused_as_unsupported(make):
    with pytest.raises(ImageRefused) as refused:
        sanitise(io.BytesIO(make()))

    assert refused.value.reason == "unsupported"


# --- PDQ --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def original_hash() -> str:
    result = sanitise(encode(photo(0), "PNG"))
    assert result.pdq_quality >= 50
    assert result.pdq_hash is not None
    return result.pdq_hash


def test_the_same_photo_recompressed_and_resized_still_matches(original_hash):
    # What a messaging app does to a photo it forwards.
    forwarded = photo(0).resize((576, 432))

    result = sanitise(encode(forwarded, "JPEG", quality=60))

    assert result.pdq_hash is not None
    assert pdq_distance(original_hash, result.pdq_hash) <= MATCH


def test_a_different_photo_does_not_match(original_hash):
    result = sanitise(encode(photo(1), "PNG"))

    assert result.pdq_hash is not None
    assert pdq_distance(original_hash, result.pdq_hash) > MATCH


def test_a_sideways_photo_with_an_orientation_tag_matches_its_upright_copy(original_hash):
    # The victim uploads the phone's file; the platform serves it upright.  Both must
    # link to the same case.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    sideways = photo(0).transpose(Image.Transpose.ROTATE_90)

    result = sanitise(encode(sideways, "JPEG", exif=exif, quality=90))

    assert result.pdq_hash is not None
    assert pdq_distance(original_hash, result.pdq_hash) <= MATCH


def test_a_flat_image_gets_no_hash_but_reports_its_quality():
    # A blank screenshot would otherwise "match" every other blank screenshot.
    result = sanitise(encode(Image.new("RGB", (640, 480), (90, 120, 200)), "PNG"))

    assert result.pdq_hash is None
    assert 0 <= result.pdq_quality < 50


def test_the_hash_is_written_in_the_order_metas_tools_print_it():
    # A takedown list is only useful if StopNCII and ThreatExchange read our hashes as
    # theirs: 64 lowercase hex digits, the first bit pdqhash returns most significant.
    # (Within 512 px the image is hashed as it is, so pdqhash's own bits are comparable.)
    small = photo(0).resize((512, 384))
    bits, _ = pdqhash.compute(np.asarray(small))
    expected = format(int("".join(str(int(bit)) for bit in bits), 2), "064x")

    assert sanitise(encode(small, "PNG")).pdq_hash == expected


def test_a_very_large_photo_matches_its_smaller_copy(original_hash):
    # Large photos are hashed from a 512-px copy; the hash must still match the same
    # picture sent at another size.
    large = photo(0).resize((4000, 3000), Image.Resampling.BICUBIC)
    assert pdq_distance(sanitise(encode(large, "PNG")).pdq_hash, original_hash) <= 31


def test_pdq_distance_counts_the_bits_that_differ():
    zero = "0" * 64
    assert pdq_distance(zero, zero) == 0
    assert pdq_distance(zero, "f" * 64) == 256
    assert pdq_distance(zero, "8" + "0" * 63) == 1
    assert pdq_distance(zero, "0" * 63 + "3") == 2
    with pytest.raises(ValueError, match="64 hex"):
        pdq_distance(zero, "abc")
