// Her image's working copy, made on her device without touching a pixel: the metadata
// segments of a JPEG, PNG or WebP are left out and every other byte is copied as it was,
// so the copy decodes to exactly the original's pixels.  A canvas re-encode would drop
// the metadata too, but it changes the pixels (lossy) and, in Tor Browser, reads back a
// blank image.  The original is sealed untouched beside the copy; this routine never
// changes it.
//
// It is a bounded walk over the file's own structure, one pass: every step moves
// forward, a length that points past the end or a structure it does not know gives
// null (no working copy: the caller says so), and the kept parts are collected as views
// and concatenated once.  Nothing here throws to the caller.
//
// What goes is listed in `removed`, by name, for the sealed note:
//   exif, gps (the EXIF held a GPS block), orientation (the EXIF turned the picture; its
//   value is returned as `orientation` so a viewer can turn it: pixels are never turned),
//   xmp, iptc (Photoshop's APP13, which holds IPTC), comment, thumbnail (JFIF/JFXX),
//   mpf (the index of extra pictures after a JPEG's end), text, time (PNG), trailing-data
//   (bytes after the image's end: a phone's motion-photo video, a vendor trailer),
//   app0..app15 (other JPEG application segments, by number), chunk:XXXX (other PNG or
//   WebP chunks, by type).  A PNG's or WebP's EXIF gives its orientation the same way.
//
// Tests: frontend/test/strip.test.js (node) and tests/evidence/test_strip_twin.py (the
// same vectors, decoded by Pillow: the copy has the original's pixels and none of the
// metadata).

/**
 * @param {Uint8Array} bytes the whole original
 * @returns {{bytes: Uint8Array, removed: string[], format: "jpeg"|"png"|"webp",
 *            orientation?: number} | null}
 */
export function stripMetadata(bytes) {
  if (!(bytes instanceof Uint8Array)) return null;
  try {
    if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return stripJpeg(bytes);
    if (startsWith(bytes, 0, PNG_SIGNATURE)) return stripPng(bytes);
    if (startsWith(bytes, 0, ascii("RIFF")) && startsWith(bytes, 8, ascii("WEBP"))) {
      return stripWebp(bytes);
    }
    return null;
  } catch {
    // A safety net only: every bound is checked above it.  A file that gets here
    // gets no working copy rather than an exception in the sealing Worker.
    return null;
  }
}

// --- JPEG (ITU T.81, JFIF, Exif 2.3) -------------------------------------------------

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
// Segments that make the picture: frame headers (SOF0-15 but C4 DHT, C8 JPG, CC DAC),
// Huffman and quantisation tables, arithmetic conditioning, restart interval, number of
// lines, hierarchical progression, expand reference; F7/F8 are JPEG-LS's SOF55 and LSE.
const PICTURE_MARKERS = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
  0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xf7, 0xf8,
]);
const FRAME_MARKERS = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7,
]);
const JFIF = ascii("JFIF\0");
const JFXX = ascii("JFXX\0");
const EXIF = ascii("Exif\0");
const XMP = ascii("http://ns.adobe.com/xap/1.0/\0");
const XMP_EXTENDED = ascii("http://ns.adobe.com/xmp/extension/\0");
const ICC_PROFILE = ascii("ICC_PROFILE\0");
const MPF = ascii("MPF\0");
const PHOTOSHOP = ascii("Photoshop 3.0\0");
const ADOBE = ascii("Adobe");

function stripJpeg(bytes) {
  const n = bytes.length;
  const kept = [bytes.subarray(0, 2)]; // SOI
  const removed = new Set();
  let orientation;
  let frame = false;
  let scans = 0;
  let pos = 2;
  for (;;) {
    if (pos >= n || bytes[pos] !== 0xff) return null; // truncated, or junk between segments
    // Any number of 0xFF fill bytes may precede a marker; they are padding, not kept.
    while (pos < n && bytes[pos] === 0xff) pos++;
    if (pos >= n) return null;
    const marker = bytes[pos];
    const start = pos - 1;
    pos++;
    if (marker === EOI) {
      if (!frame || scans === 0) return null; // no picture in it
      kept.push(Uint8Array.of(0xff, EOI));
      if (pos < n) removed.add("trailing-data");
      break;
    }
    if (marker === 0x00 || marker === SOI) return null;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      kept.push(Uint8Array.of(0xff, marker)); // TEM, or a stray RSTn: no length, no data
      continue;
    }
    if (pos + 2 > n) return null;
    const length = (bytes[pos] << 8) | bytes[pos + 1];
    const end = pos + length;
    if (length < 2 || end > n) return null;
    const data = bytes.subarray(pos + 2, end); // the segment's payload
    pos = end;
    if (marker === SOS) {
      if (!frame) return null;
      scans++;
      const scanEnd = endOfScan(bytes, pos);
      if (scanEnd < 0) return null;
      kept.push(bytes.subarray(start, scanEnd)); // the scan's header and its coded data
      pos = scanEnd;
      continue;
    }
    if (PICTURE_MARKERS.has(marker)) {
      if (FRAME_MARKERS.has(marker)) frame = true;
      kept.push(bytes.subarray(start, end));
      continue;
    }
    if (marker === 0xe0) {
      // JFIF: density and version are kept; its thumbnail (a small copy of the picture,
      // possibly of a version before a crop) is not.  JFXX holds only a thumbnail.
      if (startsWith(data, 0, JFIF) && data.length >= 14) {
        const header = data.slice(0, 14);
        header[12] = 0; // thumbnail width
        header[13] = 0; // thumbnail height
        if (data.length > 14) removed.add("thumbnail");
        kept.push(segment(marker, header));
      } else {
        removed.add(startsWith(data, 0, JFXX) ? "thumbnail" : "app0");
      }
      continue;
    }
    if (marker === 0xe1) {
      if (startsWith(data, 0, EXIF)) {
        removed.add("exif");
        const found = readExif(data.subarray(6));
        if (found.gps) removed.add("gps");
        if (found.orientation !== undefined && orientation === undefined) {
          orientation = found.orientation;
        }
      } else if (startsWith(data, 0, XMP) || startsWith(data, 0, XMP_EXTENDED)) {
        removed.add("xmp");
      } else {
        removed.add("app1");
      }
      continue;
    }
    if (marker === 0xe2 && startsWith(data, 0, ICC_PROFILE)) {
      // The colour profile says how the numbers in the scan map to colours: without it
      // a wide-gamut phone photo shows washed out, which changes what a caseworker sees
      // of the evidence.  Profiles are shared by every device of a model (sRGB, Display
      // P3) and their date is the profile's, not the photo's: they do not say who or
      // where.  Kept.
      kept.push(bytes.subarray(start, end));
      continue;
    }
    if (marker === 0xee && startsWith(data, 0, ADOBE)) {
      // Adobe's segment tells the decoder whether to convert YCbCr/YCCK to RGB/CMYK:
      // without it a CMYK or RGB-coded JPEG decodes to other colours.  Four numbers,
      // nothing about who made it.  Kept.
      kept.push(bytes.subarray(start, end));
      continue;
    }
    if (marker === 0xe2 && startsWith(data, 0, MPF)) removed.add("mpf");
    else if (marker === 0xed && startsWith(data, 0, PHOTOSHOP)) removed.add("iptc");
    else if (marker === 0xfe) removed.add("comment");
    else if (marker >= 0xe0 && marker <= 0xef) removed.add(`app${marker - 0xe0}`);
    else return null; // a reserved marker: what it holds is unknown, so no copy is made
  }
  const result = { bytes: concat(kept), removed: [...removed], format: "jpeg" };
  if (orientation !== undefined && orientation !== 1) {
    result.removed.push("orientation");
    result.orientation = orientation;
  }
  return result;
}

/** Where the entropy-coded data that starts at `pos` ends (at the 0xFF of the next
 * marker, fill bytes included), or -1 when the file ends first.  Inside it 0xFF is
 * followed by 0x00 (a stuffed byte), by RST0-7, or by more 0xFF (fill). */
function endOfScan(bytes, pos) {
  const n = bytes.length;
  let i = pos;
  for (;;) {
    i = bytes.indexOf(0xff, i);
    if (i < 0) return -1;
    let j = i + 1;
    while (j < n && bytes[j] === 0xff) j++;
    if (j >= n) return -1;
    const next = bytes[j];
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      i = j + 1;
      continue;
    }
    return i;
  }
}

/** A marker segment: FF, the marker, the length (which counts itself), the data. */
function segment(marker, data) {
  const out = new Uint8Array(4 + data.length);
  out[0] = 0xff;
  out[1] = marker;
  out[2] = (data.length + 2) >> 8;
  out[3] = (data.length + 2) & 0xff;
  out.set(data, 4);
  return out;
}

/** The orientation (1-8) in a TIFF-structured EXIF block's first directory, and whether
 * it points to a GPS directory.  Anything out of bounds is simply not found. */
function readExif(tiff) {
  const found = { gps: false, orientation: undefined };
  if (tiff.length < 8) return found;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II"
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return found; // "MM"
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return found;
  const directory = view.getUint32(4, little);
  if (directory + 2 > tiff.length) return found;
  const entries = view.getUint16(directory, little);
  for (let i = 0; i < entries; i++) {
    const entry = directory + 2 + 12 * i;
    if (entry + 12 > tiff.length) break;
    const tag = view.getUint16(entry, little);
    if (tag === 0x8825) found.gps = true; // GPSInfo IFD pointer
    if (tag === 0x0112 && view.getUint16(entry + 2, little) === 3) {
      const value = view.getUint16(entry + 8, little); // a SHORT, in the value field
      if (value >= 1 && value <= 8) found.orientation = value;
    }
  }
  return found;
}

// --- PNG (PNG 3rd edition, APNG) ------------------------------------------------------

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Ancillary chunks kept: transparency, colour (gamma, chromaticities, sRGB, ICC profile,
// significant bits, coding-independent code points, HDR mastering and light levels),
// background colour, histogram, pixel size (DPI: harmless, and it keeps a scan's
// physical size), and APNG's animation control and frames.  Every other ancillary chunk
// goes: it may hold text, and a decoder ignores what it does not know.
const PNG_KEPT = new Set([
  "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "cICP", "mDCV", "cLLI", "bKGD", "hIST",
  "pHYs", "acTL", "fcTL", "fdAT",
]);
const PNG_CRITICAL = new Set(["IHDR", "PLTE", "IDAT", "IEND"]);
const PNG_TEXT = new Set(["tEXt", "zTXt", "iTXt"]);

function stripPng(bytes) {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept = [bytes.subarray(0, 8)];
  const removed = new Set();
  let orientation;
  let pos = 8;
  let first = true;
  for (;;) {
    if (pos + 12 > n) return null; // truncated before IEND
    const length = view.getUint32(pos);
    if (length > 0x7fffffff) return null;
    const type = fourcc(bytes, pos + 4);
    if (type === null || !/^[A-Za-z]{4}$/.test(type)) return null;
    const end = pos + 12 + length; // length, type, data, CRC
    if (end > n) return null;
    if (first && type !== "IHDR") return null;
    first = false;
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (PNG_CRITICAL.has(type) || PNG_KEPT.has(type)) {
      kept.push(bytes.subarray(pos, end)); // whole, CRC as it was
    } else if (type[0] === type[0].toUpperCase()) {
      // An unknown critical chunk: a decoder must refuse the file (PNG spec, 5.4), and
      // nothing says what it holds.  Copying it keeps an unknown; dropping it breaks
      // the picture.  No working copy.
      return null;
    } else if (type === "eXIf") {
      removed.add("exif");
      const found = readExif(data);
      if (found.gps) removed.add("gps");
      if (found.orientation !== undefined && orientation === undefined) {
        orientation = found.orientation;
      }
    } else if (PNG_TEXT.has(type)) {
      removed.add(textKind(data));
    } else if (type === "tIME") {
      removed.add("time");
    } else {
      removed.add(`chunk:${type}`);
    }
    pos = end;
    if (type === "IEND") break;
  }
  if (pos < n) removed.add("trailing-data");
  const result = { bytes: concat(kept), removed: [...removed], format: "png" };
  if (orientation !== undefined && orientation !== 1) {
    result.removed.push("orientation");
    result.orientation = orientation;
  }
  return result;
}

/** What a PNG text chunk holds, by its keyword (what comes before the first NUL). */
function textKind(data) {
  let end = data.indexOf(0);
  if (end < 0) end = data.length;
  const keyword = String.fromCharCode(...data.subarray(0, Math.min(end, 79)));
  if (keyword === "XML:com.adobe.xmp" || keyword === "Raw profile type xmp") return "xmp";
  if (keyword === "Raw profile type exif" || keyword === "Raw profile type APP1") return "exif";
  if (keyword === "Raw profile type iptc" || keyword === "Raw profile type 8bim") return "iptc";
  if (keyword === "Comment") return "comment";
  return "text";
}

// --- WebP (RIFF container, Google's "WebP Container Specification") ------------------

const VP8X_XMP = 0x04;
const VP8X_EXIF = 0x08;
const WEBP_IMAGE = new Set(["VP8 ", "VP8L"]);
// In an extended file: the colour profile (kept for the reason given for JPEG), the
// animation's parameters and frames, and the alpha and image data.
const WEBP_KEPT = new Set(["ICCP", "ANIM", "ANMF", "ALPH", "VP8 ", "VP8L"]);
// What a frame (ANMF) may hold after its 16-byte header.
const WEBP_FRAME = new Set(["ALPH", "VP8 ", "VP8L"]);

function stripWebp(bytes) {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffEnd = 8 + view.getUint32(4, true);
  if (riffEnd > n || riffEnd < 12) return null;
  const removed = new Set();
  let orientation;
  const first = readChunk(bytes, view, 12, riffEnd);
  if (first === null) return null;
  const kept = [];
  let header = null; // an extended file's VP8X chunk, its flags rewritten
  let image = false;
  if (first.type === "VP8X") {
    if (first.data.length < 10) return null;
    header = bytes.slice(12, first.end);
    header[8] &= ~(VP8X_EXIF | VP8X_XMP); // the flags' byte: no EXIF, no XMP any more
    kept.push(header);
  } else if (WEBP_IMAGE.has(first.type)) {
    kept.push(bytes.subarray(12, first.end)); // a simple file: its one image chunk
    image = true;
  } else {
    return null;
  }
  for (let pos = first.end; pos < riffEnd; ) {
    const chunk = readChunk(bytes, view, pos, riffEnd);
    if (chunk === null) return null;
    const { type, data, end } = chunk;
    // A simple file is its image chunk alone: what a writer appended after it is
    // ignored by decoders, and dropped here.
    if (header !== null && WEBP_KEPT.has(type)) {
      if (type === "ANMF" && !frameIsPictureOnly(bytes, view, data)) return null;
      if (type !== "ICCP" && type !== "ANIM") image = true;
      kept.push(bytes.subarray(pos, end));
    } else if (type === "VP8X") {
      return null; // a second header
    } else if (type === "EXIF") {
      removed.add("exif");
      // Some writers keep JPEG's "Exif\0\0" in front of the TIFF data.
      const found = readExif(startsWith(data, 0, EXIF) ? data.subarray(6) : data);
      if (found.gps) removed.add("gps");
      if (found.orientation !== undefined && orientation === undefined) {
        orientation = found.orientation;
      }
    } else if (type === "XMP ") {
      removed.add("xmp");
    } else {
      removed.add(`chunk:${type}`);
    }
    pos = end;
  }
  if (!image) return null;
  if (riffEnd < n) removed.add("trailing-data");
  const riff = new Uint8Array(12);
  riff.set(ascii("RIFF"));
  const size = kept.reduce((total, part) => total + part.length, 4); // "WEBP" and chunks
  new DataView(riff.buffer).setUint32(4, size, true);
  riff.set(ascii("WEBP"), 8);
  kept.unshift(riff);
  const result = { bytes: concat(kept), removed: [...removed], format: "webp" };
  if (orientation !== undefined && orientation !== 1) {
    result.removed.push("orientation");
    result.orientation = orientation;
  }
  return result;
}

/** The RIFF chunk at `pos`: its FourCC, its data, and where it ends (padding included),
 * or null when it is not printable or runs past `limit`. */
function readChunk(bytes, view, pos, limit) {
  if (pos + 8 > limit) return null;
  const type = fourcc(bytes, pos);
  if (type === null) return null;
  const length = view.getUint32(pos + 4, true);
  const end = pos + 8 + length + (length & 1); // chunks are padded to an even length
  if (end > limit) return null;
  return { type, data: bytes.subarray(pos + 8, pos + 8 + length), end };
}

/** A frame's own chunks are only alpha and image data (no metadata can hide in it). */
function frameIsPictureOnly(bytes, view, data) {
  if (data.length < 16) return false;
  const base = data.byteOffset - bytes.byteOffset;
  const limit = base + data.length;
  let pos = base + 16;
  let image = false;
  while (pos < limit) {
    // The last chunk of a frame may end on an odd byte: the frame's own padding follows.
    const chunk = readChunk(bytes, view, pos, limit + (data.length & 1));
    if (chunk === null || !WEBP_FRAME.has(chunk.type)) return false;
    if (chunk.type !== "ALPH") image = true;
    pos = chunk.end;
  }
  return image;
}

// --- helpers --------------------------------------------------------------------------

function ascii(text) {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function startsWith(bytes, offset, prefix) {
  if (offset + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[offset + i] !== prefix[i]) return false;
  }
  return true;
}

/** Four printable ASCII characters at `pos`, or null. */
function fourcc(bytes, pos) {
  let text = "";
  for (let i = pos; i < pos + 4; i++) {
    if (bytes[i] < 0x20 || bytes[i] > 0x7e) return null;
    text += String.fromCharCode(bytes[i]);
  }
  return text;
}

function concat(parts) {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
