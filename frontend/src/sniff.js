// What a file is, told on her device from its first bytes against the server's
// allow-list: the twin of evidence/sniff.py, which says why each type is in or out.
// With scripts on the server only ever receives ciphertext and cannot look, so her
// browser records this type in the sealed note, and refuses a file the server would
// have refused, before sealing a byte of it.  Both sides must give the same answer for
// the same bytes (test/sniff.test.js and tests/evidence/test_strip_twin.py run the same
// cases, made by evidence.sniff).
//
// Like the server, it never looks at the file's name or at the type the browser guessed
// from it: both are chosen by whoever names the file.

export const HEAD_SIZE = 4096; // how many first bytes to pass (fewer when the file is shorter)

const sniffed = (kind, mime, extension) => Object.freeze({ kind, mime, extension });

const JPEG = sniffed("image", "image/jpeg", "jpg");
const PNG = sniffed("image", "image/png", "png");
const GIF = sniffed("image", "image/gif", "gif");
const WEBP = sniffed("image", "image/webp", "webp");
const BMP = sniffed("image", "image/bmp", "bmp");
const HEIC = sniffed("image", "image/heic", "heic");
const HEIC_SEQUENCE = sniffed("image", "image/heic-sequence", "heics");
const HEIF = sniffed("image", "image/heif", "heif");
const HEIF_SEQUENCE = sniffed("image", "image/heif-sequence", "heifs");

const MP4 = sniffed("video", "video/mp4", "mp4");
const M4V = sniffed("video", "video/x-m4v", "m4v");
const MOV = sniffed("video", "video/quicktime", "mov");
const THREE_GP = sniffed("video", "video/3gpp", "3gp");
const THREE_G2 = sniffed("video", "video/3gpp2", "3g2");
const WEBM = sniffed("video", "video/webm", "webm");
const MKV = sniffed("video", "video/x-matroska", "mkv");
const AVI = sniffed("video", "video/x-msvideo", "avi");

const MP3 = sniffed("audio", "audio/mpeg", "mp3");
const M4A = sniffed("audio", "audio/mp4", "m4a");
const M4B = sniffed("audio", "audio/mp4", "m4b");
const AAC = sniffed("audio", "audio/aac", "aac");
const OPUS = sniffed("audio", "audio/ogg", "opus");
const VORBIS = sniffed("audio", "audio/ogg", "ogg");
const WAV = sniffed("audio", "audio/wav", "wav");
const AMR = sniffed("audio", "audio/amr", "amr");
const AMR_WB = sniffed("audio", "audio/amr-wb", "awb");
const FLAC = sniffed("audio", "audio/flac", "flac");

const PDF = sniffed("pdf", "application/pdf", "pdf");
const TEXT = sniffed("text", "text/plain", "txt");
const ZIP = sniffed("archive", "application/zip", "zip");

const bytesOf = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));

// Fixed signatures, in evidence/sniff.py's order: the type, and the bytes at each offset.
const SIGNATURES = [
  [JPEG, { 0: [0xff, 0xd8, 0xff] }],
  [PNG, { 0: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }],
  [GIF, { 0: bytesOf("GIF87a") }],
  [GIF, { 0: bytesOf("GIF89a") }],
  [WEBP, { 0: bytesOf("RIFF"), 8: bytesOf("WEBP") }],
  [WAV, { 0: bytesOf("RIFF"), 8: bytesOf("WAVE") }],
  [AVI, { 0: bytesOf("RIFF"), 8: bytesOf("AVI ") }],
  [AMR, { 0: bytesOf("#!AMR\n") }],
  [AMR_WB, { 0: bytesOf("#!AMR-WB\n") }],
  [FLAC, { 0: bytesOf("fLaC") }],
  [ZIP, { 0: bytesOf("PK\x03\x04") }],
  [ZIP, { 0: bytesOf("PK\x05\x06") }],
];

// ISO base media file format: brands named in the 'ftyp' box.
const BMFF_BRANDS = new Map([
  ["heic", HEIC], ["heix", HEIC], ["heim", HEIC], ["heis", HEIC],
  ["hevc", HEIC_SEQUENCE], ["mif1", HEIF], ["msf1", HEIF_SEQUENCE],
  ["M4A ", M4A], ["M4B ", M4B],
  ["isom", MP4], ["iso2", MP4], ["iso3", MP4], ["iso4", MP4], ["iso5", MP4], ["iso6", MP4],
  ["mp41", MP4], ["mp42", MP4], ["avc1", MP4], ["dash", MP4], ["M4V ", M4V],
  ["qt  ", MOV],
  ["3gp4", THREE_GP], ["3gp5", THREE_GP], ["3gp6", THREE_GP], ["3g2a", THREE_G2],
]);
const FTYP_MIN_SIZE = 16;

const EBML_HEADER_ID = 0x1a45dfa3;
const EBML_DOCTYPE_ID = 0x4282;
const EBML_DOCTYPES = new Map([["webm", WEBM], ["matroska", MKV]]);

const OGG_MAGIC = bytesOf("OggS\0");
const OGG_CODECS = [
  [bytesOf("OpusHead"), OPUS],
  [bytesOf("\x01vorbis"), VORBIS],
];

const PDF_MAGIC = bytesOf("%PDF-");
const PDF_MAX_LEADING = 1024;
const PDF_LEADING_WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a, 0x0c]); // b" \t\r\n\f"

const BOM_UTF8 = [0xef, 0xbb, 0xbf];
const TEXT_BOMS = [
  [BOM_UTF8, "utf-8"],
  [[0xff, 0xfe], "utf-16le"],
  [[0xfe, 0xff], "utf-16be"],
];
const MAX_CONTROLS_PER_CHARACTER = 1 / 100;
// Python's re `\s` on str (its str.isspace(), as receipt.js spells it) and U+FEFF, then
// "<" or "#!".  JavaScript's own \s differs (it takes U+FEFF and leaves U+001C-U+001F
// and U+0085), so the class is written out.
const REFUSED_TEXT_START =
  /^[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*(?:<|#!)/u;
const CONTROL = /\p{Cc}/u; // unicodedata.category(c) == "Cc": U+0000-001F, U+007F-009F
const CONTROLS_ALLOWED = new Set(["\t", "\n", "\r", "\f"]);

/**
 * The allowed type these first bytes belong to, or null when the server would refuse it.
 * `complete` is true when `head` is the whole file; by default, when it is shorter than
 * HEAD_SIZE, as the server's upload handler decides it.  (A second argument that is not
 * an options object, such as the file's name, is ignored.)
 * @param {Uint8Array} head the file's first HEAD_SIZE bytes (all of them if fewer)
 * @returns {{kind: string, mime: string, extension: string} | null}
 */
export function sniff(head, options = {}) {
  if (!(head instanceof Uint8Array) || head.length === 0) return null;
  const complete = options?.complete ?? head.length < HEAD_SIZE;
  for (const [type, parts] of SIGNATURES) {
    if (Object.entries(parts).every(([offset, magic]) => startsWith(head, magic, +offset))) {
      return type;
    }
  }
  for (const structured of [bmp, isoBmff, ebml, ogg, id3, mpegAudio, adts, pdf]) {
    const found = structured(head);
    if (found !== null) return found;
  }
  return text(head, complete);
}

function startsWith(bytes, prefix, offset = 0) {
  if (offset + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[offset + i] !== prefix[i]) return false;
  }
  return true;
}

const latin1 = (bytes) => String.fromCharCode(...bytes);

function bmp(head) {
  if (!startsWith(head, bytesOf("BM")) || head.length < 18) return null;
  const dibHeaderSize = new DataView(head.buffer, head.byteOffset + 14, 4).getUint32(0, true);
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(dibHeaderSize) ? BMP : null;
}

function isoBmff(head) {
  if (head.length < 8 || latin1(head.subarray(4, 8)) !== "ftyp") return null;
  const boxSize = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
  if (boxSize < FTYP_MIN_SIZE) return null;
  const brands = [latin1(head.subarray(8, 12))];
  const end = Math.min(boxSize, head.length);
  for (let i = 16; i < end - 3; i += 4) brands.push(latin1(head.subarray(i, i + 4)));
  for (const brand of brands) {
    if (BMFF_BRANDS.has(brand)) return BMFF_BRANDS.get(brand);
  }
  return null;
}

/** The EBML variable-size integer at `pos`: its length, and its value with the length
 * marker still set (as a BigInt: sizes go up to 2^56). */
function ebmlVint(data, pos) {
  if (pos >= data.length || data[pos] === 0) return null;
  const length = 9 - (32 - Math.clz32(data[pos])); // 9 - bit_length
  if (pos + length > data.length) return null;
  let value = 0n;
  for (let i = pos; i < pos + length; i++) value = (value << 8n) | BigInt(data[i]);
  return [length, value];
}

/** The element at `pos`: its ID, and where its data starts and ends. */
function ebmlElement(data, pos) {
  const id = ebmlVint(data, pos);
  if (id === null) return null;
  const size = ebmlVint(data, pos + id[0]);
  if (size === null) return null;
  const start = pos + id[0] + size[0];
  const marker = 1n << BigInt(7 * size[0]);
  return [id[1], start, BigInt(start) + (size[1] & ~marker)];
}

function ebml(head) {
  const header = ebmlElement(head, 0);
  if (header === null || header[0] !== BigInt(EBML_HEADER_ID)) return null;
  let [, pos, end] = header;
  const limit = end < BigInt(head.length) ? Number(end) : head.length;
  while (pos < limit) {
    const child = ebmlElement(head, pos);
    if (child === null) return null;
    const [childId, start, childEnd] = child;
    // Past the head the rest is unknown; a slice stops at the head's end, as Python's.
    const stop = childEnd < BigInt(head.length) ? Number(childEnd) : head.length;
    if (childId === BigInt(EBML_DOCTYPE_ID)) {
      let docType = head.subarray(start, Math.max(start, stop));
      let last = docType.length;
      while (last > 0 && docType[last - 1] === 0) last--; // NUL padding
      docType = latin1(docType.subarray(0, last));
      return EBML_DOCTYPES.get(docType) ?? null;
    }
    if (childEnd >= BigInt(limit)) break;
    pos = Number(childEnd);
  }
  return null;
}

function ogg(head) {
  if (!startsWith(head, OGG_MAGIC) || head.length < 27) return null;
  const packet = 27 + head[26];
  for (const [magic, type] of OGG_CODECS) {
    if (startsWith(head, magic, packet)) return type;
  }
  return null;
}

function id3(head) {
  if (!startsWith(head, bytesOf("ID3")) || head.length < 10) return null;
  const valid =
    [2, 3, 4].includes(head[3]) &&
    head[4] !== 0xff &&
    head.subarray(6, 10).every((b) => b < 0x80); // "synchsafe": seven bits a byte
  return valid ? MP3 : null;
}

function mpegAudio(head) {
  if (head.length < 4 || head[0] !== 0xff || (head[1] & 0xe0) !== 0xe0) return null;
  const valid =
    ((head[1] >> 3) & 0b11) !== 0b01 && // not the reserved version
    ((head[1] >> 1) & 0b11) === 0b01 && // Layer III
    ![0b0000, 0b1111].includes(head[2] >> 4) && // not free-format or forbidden bitrate
    ((head[2] >> 2) & 0b11) !== 0b11 && // not the reserved sample rate
    (head[3] & 0b11) !== 0b10; // not the reserved emphasis
  return valid ? MP3 : null;
}

function adts(head) {
  if (head.length < 7 || head[0] !== 0xff || (head[1] & 0xf6) !== 0xf0) return null;
  const sampleRateIndex = (head[2] >> 2) & 0b1111;
  const frameLength = ((head[3] & 0b11) << 11) | (head[4] << 3) | (head[5] >> 5);
  return sampleRateIndex <= 12 && frameLength >= 7 ? AAC : null;
}

function pdf(head) {
  let leading = startsWith(head, BOM_UTF8) ? 3 : 0;
  while (leading < head.length && PDF_LEADING_WHITESPACE.has(head[leading])) leading++;
  return startsWith(head, PDF_MAGIC, leading) && leading <= PDF_MAX_LEADING ? PDF : null;
}

function text(head, complete) {
  let encoding = "utf-8";
  let body = head;
  for (const [bom, name] of TEXT_BOMS) {
    if (startsWith(head, bom)) {
      encoding = name;
      body = head.subarray(bom.length);
      break;
    }
  }
  let decoded;
  try {
    // Unless the head is the whole file it may end inside a character: `stream` keeps
    // those bytes back instead of calling them invalid, as Python's incremental decoder
    // does.  `ignoreBOM` keeps a second mark as a character, as Python does.
    decoded = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body, {
      stream: !complete,
    });
  } catch {
    return null;
  }
  if (decoded.length === 0 || decoded.includes("\0") || REFUSED_TEXT_START.test(decoded)) {
    return null;
  }
  // Python counts characters (code points), not UTF-16 units.
  let characters = 0;
  let controls = 0;
  for (const char of decoded) {
    characters++;
    if (CONTROL.test(char) && !CONTROLS_ALLOWED.has(char)) controls++;
  }
  return controls <= characters * MAX_CONTROLS_PER_CHARACTER ? TEXT : null;
}
