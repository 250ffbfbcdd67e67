// The resumable upload of one sealed file: the tus 1.0.0 protocol (creation, then PATCH
// parts), spoken by reporting/uploads.py on the server.
//
// Only ciphertext goes through here.  The sealed stream cannot be rewound, so the part
// being sent stays in memory until the server has acknowledged it: a lost connection
// costs at most that part again (the server keeps what arrived and says where it stands,
// HEAD), and memory stays one part whatever the file's size.  A refusal (4xx with a
// reason) ends the upload at once; a lost connection or a busy server is retried for as
// long as the page is open, with the page told each time so that it can say so.

export const PART_SIZE = 4 * 1024 * 1024;
const TUS = "1.0.0";

export class UploadRefused extends Error {
  constructor(status, reason, message) {
    super(message || reason || `refused (${status})`);
    this.name = "UploadRefused";
    this.status = status;
    this.reason = reason || "refused";
    // The server's sentence, already in her language.
    this.text = message || "";
  }
}

async function refusal(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new UploadRefused(response.status, body.reason, body.message);
}

// Worth trying again: the network, a restarting server, a proxy timing out.
function transient(status) {
  return status === 408 || status === 429 || status >= 500;
}

function defaultWait(attempt) {
  const seconds = Math.min(30, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/**
 * Upload ``stream`` (``length`` bytes) to ``endpoint``; resolves to the upload's URL.
 *
 * ``headers`` go with every request (the CSRF token).  ``onProgress(sent)`` hears of
 * each acknowledged byte count; ``onRetry(attempt)`` of each lost connection.
 */
export async function uploadStream(stream, length, options) {
  const {
    endpoint,
    headers = {},
    partSize = PART_SIZE,
    onProgress = () => {},
    onRetry = () => {},
    wait = defaultWait,
    fetchImpl = (...args) => fetch(...args),
  } = options;
  const common = { "Tus-Resumable": TUS, ...headers };

  // Creation, retried like the parts: nothing of hers is in it.
  let location = null;
  for (let attempt = 0; location === null; attempt += 1) {
    let response;
    try {
      response = await fetchImpl(endpoint, {
        method: "POST",
        headers: { ...common, "Upload-Length": String(length) },
        credentials: "same-origin",
      });
    } catch {
      onRetry(attempt);
      await wait(attempt);
      continue;
    }
    if (response.status === 201) {
      location = new URL(response.headers.get("Location"), endpoint).href;
    } else if (transient(response.status)) {
      onRetry(attempt);
      await wait(attempt);
    } else {
      throw await refusal(response);
    }
  }

  const reader = stream.getReader();
  let carry = null; // bytes read past the end of the previous part
  let partStart = 0;
  let ended = false;

  async function nextPart() {
    const pieces = [];
    let size = 0;
    if (carry) {
      pieces.push(carry);
      size = carry.length;
      carry = null;
    }
    while (size < partSize && !ended) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      pieces.push(value);
      size += value.length;
    }
    const part = new Uint8Array(Math.min(size, partSize));
    let at = 0;
    for (const piece of pieces) {
      const room = part.length - at;
      if (piece.length <= room) {
        part.set(piece, at);
        at += piece.length;
      } else {
        part.set(piece.subarray(0, room), at);
        at += room;
        carry = piece.slice(room);
      }
    }
    return part;
  }

  async function offsetNow() {
    const response = await fetchImpl(location, {
      method: "HEAD",
      headers: common,
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) {
      if (transient(response.status)) return null;
      throw await refusal(response);
    }
    return Number(response.headers.get("Upload-Offset"));
  }

  // An age file is never empty: it always has a header.
  while (partStart < length) {
    const part = await nextPart();
    const partEnd = partStart + part.length;
    let offset = partStart;
    if (part.length === 0) throw new UploadRefused(400, "payload"); // shorter than announced
    for (let attempt = 0; offset < partEnd; ) {
      let response = null;
      try {
        response = await fetchImpl(location, {
          method: "PATCH",
          headers: {
            ...common,
            "Upload-Offset": String(offset),
            "Content-Type": "application/offset+octet-stream",
          },
          // A Blob, not the bytes themselves: Chromium sends a typed-array body about
          // ten times more slowly (docs/BENCHMARKS.md, "Sealing in her browser").
          body: new Blob([part.subarray(offset - partStart)]),
          credentials: "same-origin",
        });
      } catch {
        response = null;
      }
      if (response && (response.status === 204 || response.status === 200)) {
        const reached = Number(response.headers.get("Upload-Offset"));
        if (reached > offset && reached <= partEnd) {
          offset = reached;
          attempt = 0;
          onProgress(offset);
          continue;
        }
        response = null; // no progress: ask where it stands, as for a lost connection
      }
      if (response && !transient(response.status) && response.status !== 409) {
        throw await refusal(response);
      }
      // Lost, busy, or out of step (409): ask the server where it stands.
      onRetry(attempt);
      await wait(attempt);
      attempt += 1;
      let known = null;
      try {
        known = await offsetNow();
      } catch (error) {
        if (error instanceof UploadRefused) throw error;
      }
      if (known !== null) {
        if (known < partStart || known > partEnd) {
          // The server lost bytes of an acknowledged part: they cannot be sent again.
          throw new UploadRefused(409, "offset");
        }
        offset = known;
        onProgress(offset);
      }
    }
    partStart = partEnd;
  }
  reader.releaseLock();
  return location;
}

/** The upload's token: the last part of its address. */
export function tokenOf(location) {
  return new URL(location).pathname.split("/").filter(Boolean).pop();
}
