// node --test: the resumable upload client (src/upload.js) against a server kept in
// memory that speaks the protocol as reporting/uploads.py does, and can lose a
// connection halfway through a part, as a train entering a tunnel does.
import assert from "node:assert/strict";
import { test } from "node:test";

import { tokenOf, UploadRefused, uploadStream } from "../src/upload.js";

const ENDPOINT = "https://report.example/fr/report/uploads/";

// Response.json() is missing from Node 18 (Debian 12's).
const json = (body, status) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A tus server in memory.  ``cut(n)`` makes the next PATCH keep ``n`` bytes of its
 * body, then fail like a dropped connection. */
function fakeServer({ refuseCreate = null, refuseAt = null } = {}) {
  const server = { received: new Uint8Array(0), length: null, sent: 0, cutAfter: null, patches: 0 };
  server.cut = (n) => {
    server.cutAfter = n;
  };
  server.fetch = async (url, init) => {
    const headers = init.headers;
    assert.equal(headers["Tus-Resumable"], "1.0.0");
    assert.equal(headers["X-CSRFToken"], "token");
    if (init.method === "POST") {
      if (refuseCreate) return json(refuseCreate.body, refuseCreate.status);
      server.length = Number(headers["Upload-Length"]);
      return new Response(null, { status: 201, headers: { Location: "/fr/report/uploads/abc123/" } });
    }
    assert.equal(url, "https://report.example/fr/report/uploads/abc123/");
    if (init.method === "HEAD") {
      return new Response(null, { status: 200, headers: { "Upload-Offset": String(server.received.length) } });
    }
    assert.equal(init.method, "PATCH");
    server.patches += 1;
    const offset = Number(headers["Upload-Offset"]);
    if (offset !== server.received.length) return json({ reason: "offset" }, 409);
    let body = new Uint8Array(await init.body.arrayBuffer());
    server.sent += body.length;
    const cut = server.cutAfter;
    if (cut !== null) {
      server.cutAfter = null;
      body = body.subarray(0, cut);
    }
    const joined = new Uint8Array(server.received.length + body.length);
    joined.set(server.received);
    joined.set(body, server.received.length);
    server.received = joined;
    if (cut !== null) throw new TypeError("Failed to fetch");
    if (refuseAt !== null && server.received.length >= server.length) {
      return json({ reason: refuseAt, message: "Nothing was kept." }, 400);
    }
    return new Response(null, { status: 204, headers: { "Upload-Offset": String(server.received.length) } });
  };
  return server;
}

function streamOf(bytes, piece = 65_552) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

function randomBytes(size) {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

const options = (server, extra = {}) => ({
  endpoint: ENDPOINT,
  headers: { "X-CSRFToken": "token" },
  partSize: 1024 * 1024,
  wait: async () => {},
  fetchImpl: server.fetch,
  ...extra,
});

test("a sealed file goes up in parts and arrives whole", async () => {
  const server = fakeServer();
  const data = randomBytes(3 * 1024 * 1024 + 123);
  const progress = [];
  const location = await uploadStream(streamOf(data), data.length, options(server, { onProgress: (n) => progress.push(n) }));

  assert.deepEqual(server.received, data);
  assert.equal(server.patches, 4);
  assert.equal(tokenOf(location), "abc123");
  assert.deepEqual(progress, [1048576, 2097152, 3145728, data.length]);
});

test("a connection lost halfway through a part resumes where the server stands", async () => {
  const server = fakeServer();
  const data = randomBytes(3 * 1024 * 1024);
  const retries = [];
  server.cut(300_000); // the second part's first PATCH is cut after 300 000 bytes
  const realFetch = server.fetch;
  let calls = 0;
  server.fetch = async (url, init) => {
    // Let the first part through uncut.
    if (init.method === "PATCH" && calls++ === 0) {
      const saved = server.cutAfter;
      server.cutAfter = null;
      const answer = await realFetch(url, init);
      server.cutAfter = saved;
      return answer;
    }
    return realFetch(url, init);
  };
  await uploadStream(streamOf(data), data.length, options(server, { onRetry: (n) => retries.push(n) }));

  assert.deepEqual(server.received, data);
  assert.deepEqual(retries, [0]);
  // What was lost is what the cut part did not deliver: nothing is sent twice that the
  // server kept, so at most one part more than the file.
  assert.ok(server.sent <= data.length + 1024 * 1024, `${server.sent}`);
  assert.equal(server.sent, data.length + (1024 * 1024 - 300_000));
});

test("a refusal at creation ends the upload with the server's reason and sentence", async () => {
  const server = fakeServer({ refuseCreate: { status: 413, body: { reason: "size", message: "Trop lourd." } } });
  const data = randomBytes(1000);
  await assert.rejects(uploadStream(streamOf(data), data.length, options(server)), (error) => {
    assert.ok(error instanceof UploadRefused);
    assert.equal(error.status, 413);
    assert.equal(error.reason, "size");
    assert.equal(error.text, "Trop lourd.");
    return true;
  });
  assert.equal(server.patches, 0);
});

test("a file refused when its last byte is in is not sent again", async () => {
  const server = fakeServer({ refuseAt: "stanzas" });
  const data = randomBytes(2 * 1024 * 1024);
  await assert.rejects(uploadStream(streamOf(data), data.length, options(server)), { reason: "stanzas" });
  assert.equal(server.patches, 2);
});

test("a stream shorter than announced is an error, not a wait for ever", async () => {
  const server = fakeServer();
  const data = randomBytes(1000);
  await assert.rejects(uploadStream(streamOf(data), 5000, options(server)), { reason: "payload" });
});
