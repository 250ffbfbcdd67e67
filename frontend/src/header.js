// Re-issuing the age headers of her report's sealed objects on her device: the twin of
// evidence/age (read_header, reissue_header, add_stanzas).  On her return visit, her
// "yes" to a referral opens each header with her own key, here in her browser, and
// writes the stanzas for the new readers; the server never sees her key, and the payload
// (in the blob store) is never touched or sent: only the new header goes back.
//
// Both sides must write the same bytes from the same inputs: test/header.test.js and
// tests/evidence/test_header_twin.py check the vectors in test/vectors/header.json (made
// by evidence/age, test/vectors/make_header_vectors.py), and the twin test also checks
// that what this file writes opens with the age tool.
//
// Pure functions, no DOM: usable in a page or a Worker.  The file key is unwrapped (and
// the header MAC verified) by the age library's own Decrypter.decryptHeader; the rest
// (strict parsing, the X25519 stanza for a new reader, the encoding, the new MAC) is here,
// on the same @noble primitives the library uses.

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64nopad, bech32 } from "@scure/base";
import { Decrypter } from "age-encryption";

const VERSION_LINE = "age-encryption.org/v1\n";
const COLUMNS = 64;
// As evidence/age/header.py: a line longer than this is refused before it is read whole
// (the largest native stanza argument, ML-KEM's, is about 1,500 characters).
const MAX_LINE = 8192;
const MAX_STANZAS = 256;
const MAC_LINE_LENGTH = 4 + 43 + 1; // "--- " + 32 bytes of base64 + "\n"
const BASE64 = /^[A-Za-z0-9+/]*$/;
const X25519_INFO = new TextEncoder().encode("age-encryption.org/v1/X25519");
const HEADER_INFO = new TextEncoder().encode("header");
const NEWLINE = 0x0a;

/**
 * Why a header was not read or re-issued, in `reason`:
 * "malformed" (not a strict age v1 header), "mac" (its MAC is wrong: altered, or not the
 * header of this file key), "no-identity" (none of her keys opens a stanza), "scrypt" (a
 * passphrase stanza: her browser never re-issues a passphrase file), "identity" / "recipient"
 * (a key that is not an X25519 AGE-SECRET-KEY-1… / age1… key), "ephemeral" (test input).
 * No header is returned with any of them.
 */
export class HeaderError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "HeaderError";
    this.reason = reason;
  }
}

const malformed = (message) => new HeaderError("malformed", message);

/** Strict unpadded base64 (c2sp.org/age): standard alphabet, no "=", canonical last bits. */
function b64decode(text) {
  if (!BASE64.test(text) || text.length % 4 === 1) {
    throw malformed("base64 with padding, a foreign character or an impossible length");
  }
  let data;
  try {
    data = base64nopad.decode(text);
  } catch {
    throw malformed("non-canonical base64");
  }
  if (base64nopad.encode(data) !== text) throw malformed("non-canonical base64");
  return data;
}

const ascii = (bytes) => String.fromCharCode(...bytes);
const printable = (word) => word.length > 0 && /^[\x21-\x7e]+$/.test(word);

/**
 * Read the header at the start of `bytes`: {stanzas, mac, length}, or null when `bytes`
 * end before the header does (more of the file is needed).  Throws on anything
 * evidence/age's read_header refuses.
 */
function scan(bytes) {
  let pos = 0;
  // Each line with its "\n"; null when the bytes end first.
  const line = () => {
    const window = bytes.subarray(pos, pos + MAX_LINE + 1);
    const end = window.indexOf(NEWLINE);
    if (end < 0) {
      if (window.length > MAX_LINE) throw malformed("header line too long");
      return null;
    }
    pos += end + 1;
    return ascii(window.subarray(0, end + 1));
  };

  let text = line();
  if (text === null) return null;
  if (text !== VERSION_LINE) throw malformed("not an age v1 file");
  const stanzas = [];
  text = line();
  while (text !== null && text.startsWith("-> ")) {
    if (stanzas.length === MAX_STANZAS) throw malformed("too many stanzas");
    const words = text.slice(3, -1).split(" ");
    if (!words.every(printable)) {
      throw malformed("stanza argument empty or not printable ASCII");
    }
    let body = "";
    for (;;) {
      const bodyLine = line();
      if (bodyLine === null) return null;
      const chunk = bodyLine.slice(0, -1);
      if (chunk.length > COLUMNS || !BASE64.test(chunk)) {
        throw malformed("stanza body line is not base64 of at most 64 columns");
      }
      body += chunk;
      if (chunk.length < COLUMNS) break;
    }
    stanzas.push({ type: words[0], args: words.slice(1), body: b64decode(body) });
    text = line();
  }
  if (text === null) return null;
  if (stanzas.length === 0) throw malformed("header without recipient stanzas");
  if (!text.startsWith("--- ") || text.length !== MAC_LINE_LENGTH) {
    throw malformed("missing or malformed MAC line");
  }
  return { stanzas, mac: b64decode(text.slice(4, -1)), length: pos };
}

/**
 * The length of the header at the start of an age file's first bytes (where the payload
 * begins), or null if these bytes end inside the header.  Throws a HeaderError if they
 * cannot begin an age v1 file.
 */
export function headerLength(bytes) {
  const found = scan(bytes);
  return found === null ? null : found.length;
}

/**
 * Parse a header given alone (nothing before or after it): {stanzas: [{type, args, body}],
 * mac, raw}.  As strict as evidence/age: canonical unpadded base64, 64-column bodies, the
 * version line, a 32-byte MAC.
 */
export function parseHeader(bytes) {
  const found = scan(bytes);
  if (found === null) throw malformed("header ends early");
  if (found.length !== bytes.length) {
    throw malformed("bytes after the header: pass the header alone (see headerLength)");
  }
  return { stanzas: found.stanzas, mac: found.mac, raw: bytes.slice() };
}

function encodeStanza({ type, args, body }) {
  const words = [type, ...args];
  if (!words.every(printable)) throw malformed("stanza argument empty or not printable ASCII");
  const encoded = base64nopad.encode(body);
  let out = `-> ${words.join(" ")}\n`;
  // A body whose encoding fills whole lines ends with an empty line.
  for (let i = 0; i <= encoded.length; i += COLUMNS) out += `${encoded.slice(i, i + COLUMNS)}\n`;
  return out;
}

/** Version line, stanzas, and the MAC line under a new MAC made with `fileKey`. */
function buildHeader(stanzas, fileKey) {
  const covered = new TextEncoder().encode(
    VERSION_LINE + stanzas.map(encodeStanza).join("") + "---",
  );
  const mac = hmac(sha256, hkdf(sha256, fileKey, new Uint8Array(0), HEADER_INFO, 32), covered);
  const tail = new TextEncoder().encode(` ${base64nopad.encode(mac)}\n`);
  const header = new Uint8Array(covered.length + tail.length);
  header.set(covered);
  header.set(tail, covered.length);
  return header;
}

// A Bech32 key as age writes it: one case throughout (identities upper, recipients
// lower), the right prefix, 32 bytes.  Anything else is refused with ``reason``.
function bech32Key(text, { prefix, upper, reason, what }) {
  const trimmed = typeof text === "string" ? text.trim() : "";
  let decoded = null;
  try {
    decoded = bech32.decodeToBytes(trimmed);
  } catch {
    // refused just below
  }
  const oneCase = upper ? trimmed.toUpperCase() : trimmed.toLowerCase();
  if (
    decoded === null ||
    decoded.prefix.toLowerCase() !== prefix ||
    trimmed !== oneCase ||
    decoded.bytes.length !== 32
  ) {
    throw new HeaderError(reason, what);
  }
  return decoded;
}

function identityKey(text) {
  bech32Key(text, {
    prefix: "age-secret-key-",
    upper: true,
    reason: "identity",
    what: "not an AGE-SECRET-KEY-1… identity",
  });
  return text.trim();
}

function recipientKey(text) {
  return bech32Key(text, {
    prefix: "age",
    upper: false,
    reason: "recipient",
    what: "not an age1… X25519 recipient",
  }).bytes;
}

function refuseScrypt(stanzas) {
  // A passphrase stanza opens with a passphrase, not a reader's key: a header re-issued
  // from it would hand the file to whoever knows the passphrase.  Never here.
  if (stanzas.some((s) => s.type === "scrypt")) {
    throw new HeaderError("scrypt", "a passphrase (scrypt) header is never re-issued here");
  }
}

async function openHeader(headerBytes, identities) {
  const header = parseHeader(headerBytes);
  refuseScrypt(header.stanzas);
  if (!Array.isArray(identities) || identities.length === 0) {
    throw new HeaderError("identity", "no identity given");
  }
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identityKey(identity));
  let fileKey;
  try {
    fileKey = await decrypter.decryptHeader(header.raw);
  } catch (error) {
    // The library's own messages (age-encryption 0.3.1, pinned by the lockfile); the
    // tests pin each mapping, so a new wording fails them rather than passing unseen.
    const message = String(error?.message ?? error);
    if (message === "no identity matched any of the file's recipients") {
      throw new HeaderError("no-identity", "none of these keys opens a stanza of this header");
    }
    if (message === "invalid header HMAC") {
      throw new HeaderError("mac", "the header MAC is wrong: the header was altered");
    }
    throw malformed(`a stanza could not be read: ${message}`);
  }
  return { header, fileKey };
}

/**
 * The file key of a header, once its MAC is verified with it: the identities are
 * AGE-SECRET-KEY-1… strings, tried in order.
 */
export async function unwrapFileKey(headerBytes, identities) {
  return (await openHeader(headerBytes, identities)).fileKey;
}

function newStanzas(fileKey, recipients, ephemeral) {
  if (!Array.isArray(recipients)) throw new HeaderError("recipient", "recipients must be a list");
  const publicKeys = recipients.map(recipientKey);
  if (ephemeral !== undefined) {
    // Test-only: fixed ephemeral secrets so the twin test can compare bytes with Python.
    if (
      !Array.isArray(ephemeral) ||
      ephemeral.length !== publicKeys.length ||
      !ephemeral.every((e) => e instanceof Uint8Array && e.length === 32)
    ) {
      throw new HeaderError("ephemeral", "one 32-byte ephemeral secret per recipient");
    }
  }
  return publicKeys.map((publicKey, i) => {
    const secret = ephemeral?.[i] ?? crypto.getRandomValues(new Uint8Array(32));
    try {
      const share = x25519.getPublicKey(secret);
      let shared;
      try {
        shared = x25519.getSharedSecret(secret, publicKey);
      } catch {
        throw new HeaderError("recipient", "this age1… key is a low-order point");
      }
      const salt = new Uint8Array(64);
      salt.set(share);
      salt.set(publicKey, 32);
      const wrapKey = hkdf(sha256, shared, salt, X25519_INFO, 32);
      const body = chacha20poly1305(wrapKey, new Uint8Array(12)).encrypt(fileKey);
      return { type: "X25519", args: [base64nopad.encode(share)], body };
    } finally {
      if (ephemeral === undefined) secret.fill(0);
    }
  });
}

/**
 * A header for exactly `recipients` (age1… strings) over the same payload, opened with
 * her `identities`: readers not in the list lose access once the old header is replaced.
 * `options.ephemeral` (one 32-byte X25519 secret per recipient) is for the twin tests
 * only; without it each stanza gets a fresh random secret.
 */
export async function reissueHeader(headerBytes, identities, recipients, options = {}) {
  const { fileKey } = await openHeader(headerBytes, identities);
  const stanzas = newStanzas(fileKey, recipients, options.ephemeral);
  if (stanzas.length === 0) throw new HeaderError("recipient", "a header needs a recipient");
  return buildHeader(stanzas, fileKey);
}

/**
 * The same header with stanzas for `recipients` added and every stanza it had kept as it
 * is (a reader's public key cannot be read back from its stanza, so this is how to add
 * one without knowing the others), under a new MAC.  `options.ephemeral` as above.
 */
export async function addStanzas(headerBytes, identities, recipients, options = {}) {
  const { header, fileKey } = await openHeader(headerBytes, identities);
  const added = newStanzas(fileKey, recipients, options.ephemeral);
  return buildHeader([...header.stanzas, ...added], fileKey);
}
