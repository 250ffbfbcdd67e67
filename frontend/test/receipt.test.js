// node --test: the receipt routines against the vectors tests/reporting/test_receipt_twin.py
// checks with reporting/receipts.py and evidence/keys.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { display, newCode, normalise, stretchCode } from "../src/receipt.js";

const vectors = JSON.parse(readFileSync(new URL("vectors/receipt.json", import.meta.url)));

test("the stretched code gives the server's lookup value and identity secret", () => {
  for (const { code, workFactor, lookup, passphrase } of vectors.stretch) {
    assert.deepEqual(stretchCode(code, workFactor), { lookup, passphrase }, code);
  }
});

test("a code copied by hand reads back as the server reads it", () => {
  for (const { text, digits } of vectors.normalise) {
    assert.equal(normalise(text), digits, JSON.stringify(text));
  }
});

test("a new code is 16 digits, shown in four groups", () => {
  const code = newCode();
  assert.match(code, /^[0-9]{16}$/);
  assert.match(display(code), /^[0-9]{4}( [0-9]{4}){3}$/);
});

test("a new code keeps its leading zeros and never takes a draw past the last full range", () => {
  // 8 zero bytes: the code 0000000000000000, padded, not "0".
  assert.equal(newCode((n) => new Uint8Array(n)), "0000000000000000");
  // 2^64 - 1 is past the largest multiple of 10^16: thrown away, the next draw taken.
  const draws = [new Uint8Array(8).fill(0xff), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 42)];
  assert.equal(newCode(() => draws.shift()), "0000000000000042");
});
