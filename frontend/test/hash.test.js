// node --test: the SHA-256 her device computes beside the sealing (src/hash-worker.js)
// is the one the server and the age tool would compute of the same bytes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { hashStream } from "../src/hash-worker.js";

test("a file read in pieces of any size hashes as one", async () => {
  const bytes = new Uint8Array(5 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
  for (const piece of [1, 65_536, 1_000_003]) {
    let at = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + piece * 7));
        at += piece * 7;
      },
    });
    assert.equal(await hashStream(stream), createHash("sha256").update(bytes).digest("hex"));
  }
});
