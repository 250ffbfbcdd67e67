// The Worker that seals her words and files on her device and uploads the ciphertext
// (issue 18).  The page hands it her words, her File objects and the report's readers
// (her own recipient, then the organisations routing chose); it answers with the
// addresses of the sealed uploads, which the page files with her receipt.  Nothing of
// hers leaves this Worker unsealed, and nothing is written to any storage.
//
// Each file becomes up to three sealed objects, as the server makes them on the
// scripts-off path (evidence/services.py record_upload): the original untouched, a note
// (the name she gave it, the SHA-256 her device computed, what was removed from the
// working copy), and for a JPEG, PNG or WebP photo a working copy with its metadata
// removed losslessly (strip.js; no canvas, which re-encodes and fails in Tor Browser).
// Files are read as streams: a 1 GiB video is sealed and sent one part at a time.
//
// Messages in: {op: "seal", readers, words, files, endpoint, csrf, partSize,
// maxImageBytes} and {op: "calibrate", readers}.  Out: {op: "progress", done, total},
// {op: "retrying"}, {op: "refused", files: [[name, reason]]}, {op: "failed", reason,
// text}, {op: "sealed", content, files}, {op: "speed", bytesPerSecond}.  Without
// ``words`` (files she adds on a return visit, frontend/src/return.js) only her files
// are sealed, and ``content`` is null.

import { Encrypter } from "age-encryption";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { HEAD_SIZE, sniff } from "./sniff.js";
import { stripMetadata } from "./strip.js";
import { tokenOf, UploadRefused, uploadStream } from "./upload.js";

const STRIPPABLE = new Set(["image/jpeg", "image/png", "image/webp"]);

function encrypterFor(readers) {
  const encrypter = new Encrypter();
  for (const reader of readers) encrypter.addRecipient(reader);
  return encrypter;
}

function bytesStream(bytes) {
  return new Blob([bytes]).stream();
}

/** The file's first bytes, its kind as the server would sniff it, or null. */
export async function sniffFile(file) {
  const head = new Uint8Array(await file.slice(0, HEAD_SIZE).arrayBuffer());
  return sniff(head);
}

/** Seal ``source`` (a ReadableStream of ``size`` bytes) to ``readers`` and upload it. */
async function sealAndSend(source, size, readers, upload) {
  const sealed = await encrypterFor(readers).encrypt(source);
  return tokenOf(await uploadStream(sealed, sealed.size(size), upload));
}

function utf8(value) {
  return new TextEncoder().encode(JSON.stringify(value));
}

export async function sealReport({ readers, words, files, endpoint, csrf, partSize, maxImageBytes }, tell) {
  // What the server would refuse is named before a byte is sent.
  const kinds = [];
  const refused = [];
  for (const file of files) {
    const kind = await sniffFile(file);
    if (kind === null) refused.push([file.name, "type"]);
    kinds.push(kind);
  }
  if (refused.length) {
    tell({ op: "refused", files: refused });
    return null;
  }

  // Her words count as one byte of progress; files only (evidence added on a return
  // visit: words undefined) count their own.
  const total = files.reduce((sum, file) => sum + file.size, 0) + (words === undefined ? 0 : 1);
  let done = 0;
  let base = 0;
  const upload = (weight) => ({
    endpoint,
    partSize,
    headers: { "X-CSRFToken": csrf },
    // Progress in her files' bytes: a sealed byte is a byte of hers plus a little.
    onProgress: (sent) => tell({ op: "progress", done: base + Math.min(sent, weight), total }),
    onRetry: () => tell({ op: "retrying" }),
  });

  // Her words, as the server seals them on the other path (reporting/services/filing.py
  // file_report): the exact time is hers, and sealed with them.
  let contentToken = null;
  if (words !== undefined) {
    const content = utf8({ ...words, filed_at: new Date().toISOString() });
    contentToken = await sealAndSend(bytesStream(content), content.length, readers, upload(1));
    done += 1;
    base = done;
    tell({ op: "progress", done, total });
  }

  const sealedFiles = [];
  for (const [index, file] of files.entries()) {
    const kind = kinds[index];
    const hash = sha256.create();
    const hashing = new TransformStream({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    });
    const original = await sealAndSend(file.stream().pipeThrough(hashing), file.size, readers, upload(file.size));
    const digest = bytesToHex(hash.digest());

    let workingCopy = null;
    let removed = null;
    if (kind.kind === "image" && STRIPPABLE.has(kind.mime) && file.size <= maxImageBytes) {
      const stripped = stripMetadata(new Uint8Array(await file.arrayBuffer()));
      if (stripped !== null) {
        removed = { removed: stripped.removed, orientation: stripped.orientation ?? 1 };
        workingCopy = await sealAndSend(bytesStream(stripped.bytes), stripped.bytes.length, readers, upload(0));
      }
    }
    const note = utf8({
      name: file.name,
      received_at: new Date().toISOString(),
      sha256: digest,
      size: file.size,
      mime: kind.mime,
      sealed_on: "device",
      working_copy: removed,
    });
    const noteToken = await sealAndSend(bytesStream(note), note.length, readers, upload(0));
    done += file.size;
    base = done;
    tell({ op: "progress", done, total });
    sealedFiles.push({
      original,
      note: noteToken,
      working_copy: workingCopy,
      kind: kind.kind,
      mime: kind.mime,
      extension: kind.extension,
      sha256: digest,
    });
  }
  return { content: contentToken, files: sealedFiles };
}

/** How fast this device seals (bytes per second), from one MiB: JIT-less browsers
 * (Tor Browser "safer") are about fifty times slower, and the page warns her. */
export async function calibrate(readers) {
  const sample = new Uint8Array(1024 * 1024);
  let started = performance.now();
  const sealed = await encrypterFor(readers).encrypt(bytesStream(sample));
  const reader = sealed.getReader();
  while (!(await reader.read()).done);
  const sealing = (performance.now() - started) / 1000;
  started = performance.now();
  sha256(sample);
  const hashing = (performance.now() - started) / 1000;
  // Each chunk is hashed, then sealed, on one thread: the two add up.
  const seconds = Math.max(0.001, sealing + hashing);
  return sample.length / seconds;
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = async (event) => {
    const tell = (message) => self.postMessage(message);
    try {
      if (event.data.op === "calibrate") {
        tell({ op: "speed", bytesPerSecond: await calibrate(event.data.readers) });
        return;
      }
      const sealed = await sealReport(event.data, tell);
      if (sealed !== null) tell({ op: "sealed", ...sealed });
    } catch (error) {
      // Never her words or a file's name in a failure: what kind of failure it was,
      // and the server's own sentence for a refusal.
      if (error instanceof UploadRefused) {
        tell({ op: "failed", reason: error.reason, status: error.status, text: error.text });
      } else {
        tell({ op: "failed", reason: error?.name ?? "Error", status: 0, text: "" });
      }
    }
  };
}
