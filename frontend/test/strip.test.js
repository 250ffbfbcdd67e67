// node --test: the working copy made on her device (src/strip.js) on the vectors of
// tests/support/strip_vectors.py, which tests/evidence/test_strip_twin.py also decodes
// with Pillow (same pixels, no metadata).  Every piece of metadata in them holds the word
// CANARY.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { stripMetadata } from "../src/strip.js";

const manifest = JSON.parse(readFileSync(new URL("vectors/strip.json", import.meta.url)));
const read = (file) =>
  new Uint8Array(readFileSync(new URL(`vectors/strip/${file}`, import.meta.url)));
const images = manifest.filter((vector) => vector.format !== null);
const refused = manifest.filter((vector) => vector.format === null);
const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const METADATA_CHUNKS = new Set(["tEXt", "zTXt", "iTXt", "eXIf", "tIME", "prVt", "EXIF", "XMP "]);

function indexOf(haystack, needle, from = 0) {
  for (let i = haystack.indexOf(needle[0], from); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    if (needle.every((byte, k) => haystack[i + k] === byte)) return i;
  }
  return -1;
}
const contains = (haystack, text) => indexOf(haystack, ascii(text)) >= 0;

/** A PNG's chunks, or a RIFF's: [type, the whole chunk's bytes]. */
function pngChunks(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  for (let pos = 8; pos + 12 <= bytes.length; ) {
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + view.getUint32(pos);
    chunks.push([type, bytes.subarray(pos, end)]);
    pos = end;
    if (type === "IEND") break;
  }
  return chunks;
}

function riffChunks(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  for (let pos = 12; pos + 8 <= Math.min(bytes.length, 8 + view.getUint32(4, true)); ) {
    const length = view.getUint32(pos + 4, true);
    const end = pos + 8 + length + (length & 1);
    chunks.push([String.fromCharCode(...bytes.subarray(pos, pos + 4)), bytes.subarray(pos, end)]);
    pos = end;
  }
  return chunks;
}

test("each image's working copy says what was removed, and the orientation to show it in", () => {
  for (const { file, format, removed, orientation } of images) {
    const copy = stripMetadata(read(file));
    assert.ok(copy, file);
    assert.equal(copy.format, format, file);
    assert.deepEqual([...copy.removed].sort(), removed, file);
    assert.equal(copy.orientation ?? null, orientation, file);
  }
});

test("no metadata is left in a working copy", () => {
  for (const { file, removed } of images) {
    const original = read(file);
    const copy = stripMetadata(original).bytes;
    assert.equal(contains(original, "CANARY"), removed.length > 0, file); // the vector has some
    assert.ok(!contains(copy, "CANARY"), file);
    for (const mark of ["Exif\0", "http://ns.adobe.com/", "Photoshop 3.0", "JFXX", "MPF\0"]) {
      assert.ok(!contains(copy, mark), `${file}: ${JSON.stringify(mark)}`);
    }
    const walk = { png: pngChunks, webp: riffChunks }[file.split(".").pop()];
    const chunks = walk ? walk(copy) : [];
    for (const [type] of chunks) assert.ok(!METADATA_CHUNKS.has(type), `${file}: ${type}`);
  }
});

test("a file with nothing to remove is copied byte for byte, and a copy strips to itself", () => {
  for (const { file, removed } of images) {
    const copy = stripMetadata(read(file));
    const again = stripMetadata(copy.bytes);
    assert.deepEqual(again.removed, [], file);
    assert.deepEqual(again.bytes, copy.bytes, file);
    if (removed.length === 0) assert.deepEqual(copy.bytes, read(file), file);
    else assert.ok(copy.bytes.length < read(file).length, file);
  }
});

test("a JPEG's coded scans are copied untouched, restart markers and all", () => {
  for (const { file } of images.filter((vector) => vector.format === "jpeg")) {
    const original = read(file);
    const copy = stripMetadata(original).bytes;
    // From the first scan to the end of the image (0xFF 0xD9 cannot occur inside coded
    // data), less the fill bytes in front of it.
    const from = indexOf(original, [0xff, 0xda]);
    let to = indexOf(original, [0xff, 0xd9], from);
    while (original[to - 1] === 0xff) to--;
    const scans = original.subarray(from, to);
    assert.equal(indexOf(copy, [...scans.subarray(0, 64)]), indexOf(copy, [0xff, 0xda]), file);
    const at = indexOf(copy, [0xff, 0xda]);
    assert.deepEqual(copy.subarray(at, at + scans.length), scans, file);
    assert.deepEqual([...copy.subarray(-2)], [0xff, 0xd9], file);
  }
  const progressive = stripMetadata(read("jpeg-progressive.jpg")).bytes;
  assert.ok(indexOf(progressive, [0xff, 0xd0]) > 0, "the restart markers are still there");
});

test("a JPEG keeps its colour profile, Adobe's colour transform, JFIF without thumbnail", () => {
  assert.ok(contains(stripMetadata(read("jpeg-phone.jpg")).bytes, "ICC_PROFILE\0"));
  assert.ok(contains(stripMetadata(read("jpeg-cmyk.jpg")).bytes, "Adobe"));
  const edited = stripMetadata(read("jpeg-edited.jpg")).bytes;
  const jfif = indexOf(edited, ascii("JFIF\0"));
  assert.equal(jfif, 6);
  assert.deepEqual([...edited.subarray(2, 6)], [0xff, 0xe0, 0x00, 0x10]); // 16: no thumbnail
  assert.deepEqual([...edited.subarray(jfif + 12, jfif + 14)], [0, 0]);
});

test("a PNG keeps its picture and colour chunks whole, CRCs included, and APNG's frames", () => {
  const kept = new Set(["IHDR", "PLTE", "IDAT", "IEND", "tRNS", "iCCP", "pHYs"]);
  for (const type of ["acTL", "fcTL", "fdAT"]) kept.add(type); // APNG
  for (const { file } of images.filter((vector) => vector.format === "png")) {
    const original = read(file);
    const copy = stripMetadata(original).bytes;
    const expected = pngChunks(original).filter(([type]) => kept.has(type));
    assert.deepEqual(pngChunks(copy), expected, file);
    assert.equal(copy.length, 8 + expected.reduce((total, [, chunk]) => total + chunk.length, 0));
  }
  const animated = pngChunks(stripMetadata(read("png-animated.png")).bytes).map(([type]) => type);
  assert.ok(animated.includes("acTL") && animated.includes("fdAT"), animated.join());
});

test("an extended WebP loses its EXIF and XMP flags, and its RIFF size is the new length", () => {
  for (const { file } of images.filter((vector) => vector.format === "webp")) {
    const original = read(file);
    const copy = stripMetadata(original).bytes;
    const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
    assert.equal(view.getUint32(4, true), copy.length - 8, file);
    const chunks = riffChunks(copy);
    const expected = riffChunks(original).filter(([type]) => !["EXIF", "XMP "].includes(type));
    assert.deepEqual(chunks.map(([type]) => type), expected.map(([type]) => type), file);
    if (chunks[0][0] === "VP8X") {
      assert.equal(chunks[0][1][8] & 0x0c, 0, `${file}: EXIF and XMP flags cleared`);
      assert.equal(chunks[0][1][8] | 0x0c, expected[0][1][8] | 0x0c, `${file}: others kept`);
    }
    for (const [i, [type, chunk]] of chunks.entries()) {
      if (type !== "VP8X") assert.deepEqual(chunk, expected[i][1], `${file}: ${type}`);
    }
  }
  const simple = riffChunks(stripMetadata(read("webp-simple-with-appended-exif.webp")).bytes);
  assert.deepEqual(simple.map(([type]) => type), ["VP8L"]);
});

test("broken, hostile and other files get no working copy", () => {
  for (const { file } of refused) assert.equal(stripMetadata(read(file)), null, file);
  for (const other of [undefined, null, "\xff\xd8\xff", new ArrayBuffer(8), [0xff, 0xd8, 0xff]]) {
    assert.equal(stripMetadata(other), null);
  }
});

test("a file cut anywhere before its end gets no working copy", () => {
  for (const { file } of images) {
    const original = read(file);
    const copy = stripMetadata(original);
    // Bytes past the image's end (a trailer) may go; a cut inside the image may not.
    const imageEnd = copy.removed.includes("trailing-data")
      ? file.endsWith(".png")
        ? indexOf(original, ascii("IEND")) + 8
        : indexOf(original, [0xff, 0xd9]) + 2
      : original.length;
    for (let length = 0; length < imageEnd; length++) {
      assert.equal(stripMetadata(original.subarray(0, length)), null, `${file} cut at ${length}`);
    }
  }
});

test("endless fill bytes and damaged bytes end the walk: never an exception, never a hang", () => {
  const fill = new Uint8Array(16 << 20).fill(0xff);
  fill.set([0xff, 0xd8]);
  assert.equal(stripMetadata(fill), null);
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const { file } of images) {
    const original = read(file);
    for (let round = 0; round < 300; round++) {
      const damaged = original.slice();
      for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
        damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
      }
      const copy = stripMetadata(damaged);
      assert.ok(copy === null || (copy.bytes instanceof Uint8Array && Array.isArray(copy.removed)));
    }
  }
});

test("a large JPEG's scan passes through whole", () => {
  const phone = read("jpeg-phone.jpg");
  const sos = indexOf(phone, [0xff, 0xda]);
  const headerEnd = sos + 2 + ((phone[sos + 2] << 8) | phone[sos + 3]);
  // 24 MiB of coded data: stuffed 0xFF bytes and restart markers throughout.
  const coded = new Uint8Array(24 << 20);
  for (let i = 0; i < coded.length; i += 4096) {
    coded.set([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0 + ((i >> 12) & 7)], i);
  }
  const big = new Uint8Array(headerEnd + coded.length + 2);
  big.set(phone.subarray(0, headerEnd));
  big.set(coded, headerEnd);
  big.set([0xff, 0xd9], headerEnd + coded.length);
  const copy = stripMetadata(big);
  assert.deepEqual(copy.removed.sort(), ["exif", "gps", "orientation", "xmp"]);
  assert.deepEqual(copy.bytes.subarray(copy.bytes.length - coded.length - 2, -2), coded);
});
