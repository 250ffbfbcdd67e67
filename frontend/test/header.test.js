// node --test: the header re-issue routines against the vectors evidence/age made
// (vectors/make_header_vectors.py), which tests/evidence/test_header_twin.py also checks
// with the Python side.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Decrypter } from "age-encryption";

import {
  HeaderError,
  addStanzas,
  headerLength,
  parseHeader,
  reissueHeader,
  unwrapFileKey,
} from "../src/header.js";

const vectors = JSON.parse(readFileSync(new URL("vectors/header.json", import.meta.url)));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const hex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const ids = (names) => names.map((name) => vectors.identities[name]);
const to = (names) => names.map((name) => vectors.recipients[name]);
const file = bytes(vectors.file);
const header = file.subarray(0, vectors.headerLength);
const payload = file.subarray(vectors.headerLength);

function join(head, rest) {
  const out = new Uint8Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}

async function opens(sealed, identity) {
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  return decrypter.decrypt(sealed, "text");
}

for (const vector of vectors.cases) {
  test(`${vector.kind}: ${vector.name}: the bytes evidence/age writes`, async () => {
    const run = vector.kind === "reissue" ? reissueHeader : addStanzas;
    const made = await run(bytes(vector.header), ids(vector.identities), to(vector.recipients), {
      ephemeral: vector.ephemeral.map(hex),
    });
    assert.equal(Buffer.from(made).toString("base64"), vector.expected);
  });
}

for (const vector of vectors.refuse) {
  test(`refused, no header returned: ${vector.name}`, async () => {
    for (const run of [reissueHeader, addStanzas]) {
      await assert.rejects(
        run(bytes(vector.header), ids(vector.identities), to(["referred"])),
        (error) => error instanceof HeaderError && error.reason === vector.reason,
      );
    }
    await assert.rejects(
      unwrapFileKey(bytes(vector.header), ids(vector.identities)),
      (error) => error instanceof HeaderError && error.reason === vector.reason,
    );
  });
}

test("the header ends where the payload begins, and only whole headers are measured", () => {
  assert.equal(headerLength(file), vectors.headerLength);
  assert.equal(headerLength(header), vectors.headerLength);
  // Cut anywhere inside the header: more bytes are needed, which is not an error.
  for (const cut of [0, 5, 22, 40, vectors.headerLength - 1]) {
    assert.equal(headerLength(file.subarray(0, cut)), null, `cut at ${cut}`);
  }
  assert.throws(() => headerLength(new TextEncoder().encode("PK\x03\x04 not age\n")), HeaderError);
});

test("a header parses into its stanzas and MAC, and bytes after it are refused", () => {
  const parsed = parseHeader(header);
  assert.equal(parsed.stanzas.length, 3);
  for (const stanza of parsed.stanzas) {
    assert.equal(stanza.type, "X25519");
    assert.equal(stanza.args.length, 1);
    assert.equal(stanza.body.length, 32);
  }
  assert.equal(parsed.mac.length, 32);
  assert.deepEqual(parsed.raw, header);
  assert.throws(() => parseHeader(file), (error) => error.reason === "malformed");
  const grease = vectors.cases.find((c) => c.name === "a header with an unknown stanza");
  const [unknown] = parseHeader(bytes(grease.header)).stanzas;
  assert.deepEqual([unknown.type, unknown.args, unknown.body.length], [
    "example.org/grease",
    ["a=b", "c"],
    48,
  ]);
});

test("her key gives the file key that opens the payload", async () => {
  const fileKey = await unwrapFileKey(header, ids(["her"]));
  assert.equal(fileKey.length, 16);
  const again = await unwrapFileKey(header, ids(["stranger", "handler"]));
  assert.deepEqual(again, fileKey);
});

test("a re-issued header opens for the new reader and not for one removed", async () => {
  const made = await reissueHeader(header, ids(["her"]), to(["her", "referred"]));
  const sealed = join(made, payload);
  assert.equal(await opens(sealed, vectors.identities.referred), vectors.plaintext);
  assert.equal(await opens(sealed, vectors.identities.her), vectors.plaintext);
  await assert.rejects(opens(sealed, vectors.identities.handler), /no identity matched/);
  // Fresh secrets each time: two re-issues share no stanza.
  const other = await reissueHeader(header, ids(["her"]), to(["her", "referred"]));
  const shares = (h) => parseHeader(h).stanzas.map((s) => s.args[0]);
  assert.equal(new Set([...shares(made), ...shares(other)]).size, 4);
});

test("an addition keeps every reader and adds the new one", async () => {
  const sealed = join(await addStanzas(header, ids(["her"]), to(["referred"])), payload);
  for (const name of ["her", "handler", "coordination", "referred"]) {
    assert.equal(await opens(sealed, vectors.identities[name]), vectors.plaintext, name);
  }
});

test("keys that are not X25519 age keys are refused", async () => {
  const refused = (reason) => (error) => error instanceof HeaderError && error.reason === reason;
  await assert.rejects(reissueHeader(header, [], to(["her"])), refused("identity"));
  await assert.rejects(
    reissueHeader(header, [vectors.identities.her.toLowerCase()], to(["her"])),
    refused("identity"),
  );
  await assert.rejects(reissueHeader(header, ids(["her"]), []), refused("recipient"));
  await assert.rejects(
    reissueHeader(header, ids(["her"]), [vectors.identities.referred]),
    refused("recipient"),
  );
  await assert.rejects(
    reissueHeader(header, ids(["her"]), [vectors.recipients.referred.toUpperCase()]),
    refused("recipient"),
  );
  await assert.rejects(
    reissueHeader(header, ids(["her"]), to(["her", "referred"]), {
      ephemeral: [new Uint8Array(32)],
    }),
    refused("ephemeral"),
  );
});
