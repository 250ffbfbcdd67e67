// Her receipt code, made and stretched on her device: the twin of reporting/receipts.py
// (new_code, normalise) and evidence/keys.py (stretch_code).  Both sides must agree
// byte for byte: a code made by her browser opens her report on a scripts-off visit,
// and a code the server made opens it with scripts on (test/receipt.test.js and
// tests/reporting/test_receipt_twin.py check the same vectors).

import { scrypt } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

export const LENGTH = 16;
const SALT = utf8ToBytes("safe-report/v1/receipt-code");
// What copying a code by hand adds between the digits: spaces, dashes, dots, and the
// invisible direction marks an Arabic page adds (LRM, RLM, ALM).
const SEPARATORS = new Set(["-", "_", ".", "\u200e", "\u200f", "\u061c"]);
// Python's str.isspace(), exactly (JavaScript's \s differs: it takes U+FEFF, and
// leaves U+001C-U+001F and U+0085).
const SPACES = /^[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

/** 16 random digits, uniform: rejection sampling over 64-bit draws (never modulo bias). */
export function newCode(random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  const limit = 10n ** BigInt(LENGTH);
  // The largest multiple of 10^16 below 2^64: draws at or above it are thrown away.
  const ceiling = (2n ** 64n / limit) * limit;
  for (;;) {
    const bytes = random(8);
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    if (value < ceiling) return (value % limit).toString().padStart(LENGTH, "0");
  }
}

/** The 16 digits of what she typed, or null if this cannot be a receipt code. */
export function normalise(text) {
  let cleaned = "";
  for (const c of text) {
    const point = c.codePointAt(0);
    if (point >= 0x0660 && point <= 0x0669) cleaned += String(point - 0x0660);
    else if (point >= 0x06f0 && point <= 0x06f9) cleaned += String(point - 0x06f0);
    else if (!SPACES.test(c) && !SEPARATORS.has(c)) cleaned += c;
  }
  return /^[0-9]{16}$/.test(cleaned) ? cleaned : null;
}

/** "4821 0937 5526 1048" */
export function display(code) {
  return code.match(/.{4}/g).join(" ");
}

/**
 * scrypt(N=2^workFactor, r=8, p=1) over the code, then the value her report is filed
 * under (``lookup``) and the secret her identity is sealed under (``passphrase``), each
 * the hex SHA-256 of the stretched bytes and a label, as evidence/keys.py does.
 */
export function stretchCode(code, workFactor) {
  const stretched = scrypt(utf8ToBytes(code), SALT, { N: 2 ** workFactor, r: 8, p: 1, dkLen: 32 });
  const labelled = (label) => {
    const input = new Uint8Array(stretched.length + label.length);
    input.set(stretched);
    input.set(utf8ToBytes(label), stretched.length);
    return bytesToHex(sha256(input));
  };
  return { lookup: labelled("/lookup"), passphrase: labelled("/identity") };
}
