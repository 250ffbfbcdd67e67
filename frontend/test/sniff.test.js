// node --test: her browser tells a file's type as the server does (src/sniff.js, the twin
// of evidence/sniff.py) on the cases of vectors/sniff.json, which
// tests/evidence/test_strip_twin.py checks against evidence.sniff.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { HEAD_SIZE, sniff } from "../src/sniff.js";

const cases = JSON.parse(readFileSync(new URL("vectors/sniff.json", import.meta.url)));
const headOf = ({ head, file }) =>
  file
    ? new Uint8Array(readFileSync(new URL(`vectors/strip/${file}`, import.meta.url))).subarray(
        0,
        HEAD_SIZE,
      )
    : Uint8Array.from(atob(head), (c) => c.charCodeAt(0));

test("every file the server accepts is told as the server tells it, every refusal refused", () => {
  const kinds = new Set();
  for (const vector of cases) {
    const found = sniff(headOf(vector), { complete: vector.complete });
    assert.deepEqual(found, vector.expected, vector.name);
    if (vector.expected) kinds.add(vector.expected.kind);
  }
  assert.deepEqual([...kinds].sort(), ["archive", "audio", "image", "pdf", "text", "video"]);
  assert.ok(cases.filter((vector) => vector.expected === null).length >= 20);
});

test("the name is never looked at: a PDF called photo.jpg is a PDF", () => {
  const pdf = new TextEncoder().encode("%PDF-1.7\n%\xe2\xe3\n1 0 obj\n");
  assert.equal(sniff(pdf, "photo.jpg").mime, "application/pdf");
  assert.equal(sniff(new TextEncoder().encode("#!/bin/sh\nrm -rf /\n"), "notes.txt"), null);
});

test("by default a head shorter than HEAD_SIZE is the whole file, a full one is not", () => {
  const cut = cases.find((vector) => vector.name.endsWith("more to come"));
  const head = headOf(cut);
  assert.equal(head.length, HEAD_SIZE);
  assert.equal(sniff(head)?.kind, "text"); // the character goes on past the head
  // A short file ending inside a character is not text, unless told there is more.
  const short = new TextEncoder().encode("Amina: \u0644\u0642\u062f").subarray(0, -1);
  assert.equal(sniff(short), null);
  assert.equal(sniff(short, { complete: false })?.kind, "text");
  assert.equal(sniff(new Uint8Array(0)), null);
});
