// node --test: the return visit's Worker (src/visit-worker.js) opens, from her code alone,
// the key a receipt made on her device sealed (src/receipt-worker.js), and answers the
// server's challenge with it; a mistyped code is refused before anything is derived.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Encrypter } from "age-encryption";
import { makeReceipt } from "../src/receipt-worker.js";
import { display } from "../src/receipt.js";
import { stretch, unlock } from "../src/visit-worker.js";

function base64(bytes) {
  return Buffer.from(bytes).toString("base64");
}

test("her code, typed as shown, opens her key and the value sealed to it", async () => {
  const receipt = await makeReceipt({ workFactor: 10 });
  const { lookup } = stretch({ code: display(receipt.code), workFactor: 10 });
  assert.equal(lookup, receipt.lookup);

  const challenge = new Encrypter();
  challenge.addRecipient(receipt.recipient);
  const sealed = await challenge.encrypt("a1b2c3");
  const { proof } = await unlock({ sealedIdentity: receipt.sealedIdentity, challenge: base64(sealed) });
  assert.equal(proof, "a1b2c3");
});

test("a code that opens another key is refused as a wrong code", async () => {
  const receipt = await makeReceipt({ workFactor: 10 });
  stretch({ code: "1111 2222 3333 4444", workFactor: 10 });
  await assert.rejects(
    unlock({ sealedIdentity: receipt.sealedIdentity, challenge: "" }),
    (error) => error.reason === "code",
  );
});

test("what cannot be a code is refused before anything is derived", () => {
  assert.throws(() => stretch({ code: "1234", workFactor: 10 }), (error) => error.reason === "code");
});
