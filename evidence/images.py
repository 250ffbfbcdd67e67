"""A safe working copy of an evidence image, and its PDQ perceptual hash.

The original upload is sealed as received by other code and is what goes to court; this
module never touches it.  What it makes is the copy caseworkers look at: decoded by a
short allow-list of Pillow decoders, turned upright, rebuilt from pixels alone (no EXIF
and so no GPS position, no XMP, IPTC, comments, ICC profile or PNG text) and re-encoded.

Alongside it comes the PDQ hash (Meta's 256-bit perceptual hash, the one StopNCII and
ThreatExchange use), so that the same intimate image reported by two victims links their
cases and a hash-only takedown list can be shared without sharing the image.

An image this module refuses (``ImageRefused``) is still kept: its original stays sealed
like any other evidence file.  Only the working copy and the hash are missing, and a
caseworker can still export the original in a legal bundle.

Animated GIF and WebP files give a working copy and a hash of their first frame only;
the whole animation is in the sealed original.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

# A phone photo is 12 MP and the largest that phones save by default are 48-50 MP; a
# camera's can be 60 MP or more.  Memory grows with pixels, not file size: a 48 MP photo
# decodes to about 150 MB, the most one upload may cost, so no image larger than
# MAX_PIXELS is ever decoded whole.  A larger JPEG (every camera's format) is decoded
# at a half, a quarter or an eighth of its size by the JPEG decoder itself, which costs
# only the smaller image: the caseworker sees a downscaled working copy, and the sealed
# original keeps every pixel for court.  A larger image of another format gets no
# working copy ("too_large_to_process"): its original is kept, sealed, all the same.
# Pillow's own limit (Image.MAX_IMAGE_PIXELS, ~89 MP, and only a warning below twice
# that) is process-wide and serves other callers too, so we leave it alone: beyond it
# an image is refused whole as a decompression bomb ("too_large").
MAX_PIXELS: int = 50_000_000

# Decoders for what phones, messengers and screenshot tools actually produce.  Every
# other Pillow decoder (TIFF, PSD, EPS, ICO, PCX...) is attack surface with no
# evidential benefit: the original is sealed whatever its format.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP")

JPEG_QUALITY = 85  # no visible loss on a photo, and far smaller than 95

# Below this PDQ quality the image is too flat (a blank screenshot, a solid colour) for
# its hash to mean anything, and Meta advises against matching on it.
PDQ_MIN_QUALITY = 50
_PDQ_SIDE = 512  # longest side of the copy that is hashed

# The sample formats Pillow gives 16-bit greyscale in; converting them to "L" would clip
# every value above 255 to white instead of scaling it.
_SIXTEEN_BIT_GREY = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

RefusalReason = Literal["unsupported", "too_large", "too_large_to_process", "corrupt"]


class ImageRefused(Exception):
    """Not an image we can safely decode."""

    def __init__(self, reason: RefusalReason):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sanitised:
    """The working copy of an image and what identifies it perceptually."""

    data: bytes
    mime: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    pdq_hash: str | None  # 64 hex characters; None when pdq_quality < PDQ_MIN_QUALITY
    pdq_quality: int  # 0..100


def sanitise(original: BinaryIO) -> Sanitised:
    """Decode ``original`` and return its clean working copy and PDQ hash.

    ``original`` is read from its current position, once, and left open; it should be
    seekable (an upload is), or Pillow first copies all of it into memory.  Raises
    ``ImageRefused`` with reason "unsupported" (not one of the allowed formats),
    "too_large" (beyond Pillow's limit: decompression bombs), "too_large_to_process"
    (more than MAX_PIXELS in a format that cannot be decoded smaller; keep the original
    only) or "corrupt" (truncated or malformed).  A JPEG over MAX_PIXELS gives a
    working copy downscaled to at most MAX_PIXELS.
    """
    # The decoded image is freed when _decode() returns, before the hash needs memory.
    clean = _decode(original)
    pdq_hash, pdq_quality = _pdq(clean)
    if clean.mode == "RGBA":
        data, mime = _encode(clean, "PNG"), "image/png"
    else:
        data, mime = _encode(clean, "JPEG", quality=JPEG_QUALITY), "image/jpeg"
    return Sanitised(
        data=data,
        mime=mime,
        width=clean.width,
        height=clean.height,
        pdq_hash=pdq_hash,
        pdq_quality=pdq_quality,
    )


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes in hex.

    Meta suggests 31 or less (of 256) as "the same picture" for matching.
    """
    if len(a) != 64 or len(b) != 64:
        raise ValueError("a PDQ hash is 64 hex characters")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _decode(original: BinaryIO) -> Image.Image:
    """The upright first frame of ``original``, rebuilt from its pixels alone."""
    with warnings.catch_warnings():
        # Pillow only warns about a bomb below twice its own limit and then decodes it
        # anyway; here a warning is a refusal.  catch_warnings restores the filters on
        # the way out (they are process-wide, so another thread may also see this one
        # warning raised meanwhile; MAX_PIXELS already refuses what it covers).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(original, formats=list(ALLOWED_FORMATS)) as image:
                # Only the header has been read: decide before a single pixel is
                # decoded, so a bomb costs us nothing.
                if image.width * image.height > MAX_PIXELS:
                    _decode_smaller(image)
                # Decodes the first frame only and turns it upright in place, so an
                # upright 50 MP photo is not copied for it.
                ImageOps.exif_transpose(image, in_place=True)
                return _pixels_only(image)
        except UnidentifiedImageError:
            # Raised by open() for every format not in the allow-list, and for bytes
            # no allowed decoder recognises.  Must come before OSError, its base class.
            raise ImageRefused("unsupported") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused("too_large") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error):
            # What Pillow's decoders raise on a truncated or malformed file.  Pillow
            # would fill a truncated image with grey only if LOAD_TRUNCATED_IMAGES were
            # set; we never set it, so half a picture is never passed off as evidence.
            raise ImageRefused("corrupt") from None


def _decode_smaller(image: Image.Image) -> None:
    """Ask the JPEG decoder for the image at the largest of 1/2, 1/4 or 1/8 of its size
    that holds at most MAX_PIXELS (draft() only changes what load() will decode)."""
    pixels = image.width * image.height
    if image.format != "JPEG":
        raise ImageRefused("too_large_to_process")
    scale = next((s for s in (2, 4, 8) if pixels <= MAX_PIXELS * s * s), None)
    if scale is None:  # beyond 3.2 billion pixels: Pillow's own limit refuses sooner
        raise ImageRefused("too_large")
    image.draft(image.mode, (image.width // scale, image.height // scale))
    if image.width * image.height > MAX_PIXELS:  # the decoder could not scale it down
        raise ImageRefused("too_large_to_process")


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new RGB image, or RGBA when some pixel is see-through, holding pixels only.

    Image.convert() and copy() carry ``info`` over (EXIF, XMP, ICC profile, comments,
    PNG text), and save() writes some of it back unasked (a JPEG's comment, a PNG's ICC
    profile), so the result is a blank new image that the pixels are pasted into.
    The ICC profile is dropped rather than applied: a wide-gamut photo looks slightly
    duller, which does not matter for evidence, and untrusted profiles are not parsed.
    """
    if image.mode in _SIXTEEN_BIT_GREY:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        image = image.convert("RGBA") if image.mode != "RGBA" else image
        lowest_alpha = image.getextrema()[3][0]
        if lowest_alpha < 255:
            return _fresh(image, "RGBA")
        # Screenshots are often RGBA with every pixel opaque: a photo after all, and
        # smaller as a JPEG.
    # Palette, greyscale, bilevel, CMYK and YCbCr all become plain RGB.
    return _fresh(image, "RGB")


def _fresh(image: Image.Image, mode: Literal["RGB", "RGBA"]) -> Image.Image:
    pixels = image if image.mode == mode else image.convert(mode)
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def _encode(image: Image.Image, image_format: str, **options: int) -> bytes:
    # No exif=, icc_profile=, pnginfo=, comment= or xmp=: the image is new, so its
    # ``info`` is empty and Pillow has nothing to copy in, and we pass nothing either.
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def _pdq(image: Image.Image) -> tuple[str | None, int]:
    """PDQ hash of the upright image, in Meta's hex format, and its quality.

    pdqhash.compute() returns the 256 bits as an array already ordered the way Meta's
    reference tools print a hash: bits[0] is the most significant bit of the first hex
    digit.  Packed that way, our hashes compare with those in ThreatExchange or a
    StopNCII list.
    """
    # PDQ reduces every image to 64x64 blocks; handing it a copy no larger than 512 px
    # changed 10 of 256 bits on a 48 MP photo (matches stay within 31) and took the
    # hash from 1.2 GB and 4 s of a web worker to a few MB and 0.1 s.
    scale = min(1.0, _PDQ_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    rgb = small if small.mode == "RGB" else small.convert("RGB")
    bits, quality = pdqhash.compute(np.asarray(rgb, dtype=np.uint8))
    quality = int(quality)
    if quality < PDQ_MIN_QUALITY:
        return None, quality
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))  # bits[0] -> bit 7 of byte 0
    return packed.tobytes().hex(), quality
