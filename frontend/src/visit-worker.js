// The Worker that holds her key on a return visit with scripts on (issue 18, item 7).
//
// Her code comes in once: normalised and stretched here as the server does it
// (receipt.js, the twin of reporting/receipts.py and evidence/keys.stretch_code), it
// gives the lookup the page sends and the secret that opens her key, which the server
// hands over still sealed.  Her key then stays in this Worker's memory, and nowhere
// else: not in the page, not in any storage, never sent.  With it the Worker opens what
// the server sends sealed (her words, her files, the messages), seals what she writes
// to her report's readers and uploads it, and re-issues the headers of her report for
// her "yes" to a referral (header.js).  The page ends the Worker when she leaves, and
// the key goes with it.
//
// Messages in: {id, op, ...}; out: {id, ok: true, ...} or {id, ok: false, reason,
// status, text}.  Never her code, her key or her words in a failure.
//   stretch {code, workFactor}         -> {lookup}          (reason "code": not 16 digits)
//   unlock {sealedIdentity, challenge} -> {proof}           her key opened, and the value
//                                                           sealed to it, to send back
//   text {url}                         -> {text}            a sealed object, opened
//   file {url}                         -> {blob}            the same, for a download
//   message {text, readers, endpoint, csrf, partSize} -> {token}
//   reissue {headers: {id: base64}, readers} -> {headers: {id: base64}}

import { Decrypter, Encrypter } from "age-encryption";
import { fromBase64, toBase64 } from "./base64.js";
import { reissueHeader } from "./header.js";
import { normalise, stretchCode } from "./receipt.js";
import { tokenOf, UploadRefused, uploadStream } from "./upload.js";

let secret = null; // what opens her sealed key: from her code, until her key is open
let identity = null; // AGE-SECRET-KEY-1…, for this visit

class VisitFailure extends Error {
  constructor(reason, status = 0) {
    super(reason);
    this.reason = reason;
    this.status = status;
  }
}

function opener() {
  if (identity === null) throw new VisitFailure("locked");
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  return decrypter;
}

async function fetched(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new VisitFailure(response.status === 403 ? "closed" : "fetch", response.status);
  return response;
}

export function stretch({ code, workFactor }) {
  const digits = normalise(String(code ?? ""));
  if (digits === null) throw new VisitFailure("code");
  const { lookup, passphrase } = stretchCode(digits, workFactor);
  secret = passphrase;
  return { lookup };
}

export async function unlock({ sealedIdentity, challenge }) {
  if (secret === null) throw new VisitFailure("locked");
  const decrypter = new Decrypter();
  decrypter.addPassphrase(secret);
  try {
    identity = (await decrypter.decrypt(fromBase64(sealedIdentity), "text")).trim();
  } catch {
    throw new VisitFailure("code");
  } finally {
    secret = null; // her key is open: what opened it is no longer needed
  }
  return { proof: await opener().decrypt(fromBase64(challenge), "text") };
}

// Read whole before anything is shown: age finds a cut-off file only at its end.
async function openText({ url }) {
  const response = await fetched(url);
  const sealed = new Uint8Array(await response.arrayBuffer());
  return { text: await opener().decrypt(sealed, "text") };
}

async function openFile({ url }) {
  const response = await fetched(url);
  const opened = await opener().decrypt(response.body);
  // A Blob, built as the stream is authenticated chunk by chunk; an altered or cut-off
  // file fails here, before the page offers it.
  const blob = await new Response(opened).blob();
  return { blob: new Blob([blob], { type: "application/octet-stream" }) };
}

// Her message as reporting.services.post_message seals one: {"text", "sent_at"}.
async function sealMessage({ text, readers, endpoint, csrf, partSize }) {
  const bytes = new TextEncoder().encode(JSON.stringify({ text, sent_at: new Date().toISOString() }));
  const encrypter = new Encrypter();
  for (const reader of readers) encrypter.addRecipient(reader);
  const sealed = await encrypter.encrypt(new Blob([bytes]).stream());
  const location = await uploadStream(sealed, sealed.size(bytes.length), {
    endpoint,
    partSize,
    headers: { "X-CSRFToken": csrf },
  });
  return { token: tokenOf(location) };
}

// Every header of her report for exactly ``readers``, opened with her key: only the
// headers change, the payloads on the server are not touched or sent.
async function reissue({ headers, readers }) {
  if (identity === null) throw new VisitFailure("locked");
  const reissued = {};
  for (const [id, header] of Object.entries(headers)) {
    reissued[id] = toBase64(await reissueHeader(fromBase64(header), [identity], readers));
  }
  return { headers: reissued };
}

const OPERATIONS = {
  stretch,
  unlock,
  text: openText,
  file: openFile,
  message: sealMessage,
  reissue,
};

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = async (event) => {
    const { id, op, ...args } = event.data;
    try {
      const operation = OPERATIONS[op];
      if (!operation) throw new VisitFailure("op");
      self.postMessage({ id, ok: true, ...(await operation(args)) });
    } catch (error) {
      if (error instanceof UploadRefused) {
        self.postMessage({ id, ok: false, reason: error.reason, status: error.status, text: error.text });
      } else if (error instanceof VisitFailure) {
        self.postMessage({ id, ok: false, reason: error.reason, status: error.status, text: "" });
      } else {
        self.postMessage({ id, ok: false, reason: error?.name ?? "Error", status: 0, text: "" });
      }
    }
  };
}
