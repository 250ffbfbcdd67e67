// The SHA-256 of one of her files, on her device, beside its sealing (seal-worker.js):
// hashing and sealing each take one core, so on a phone with two they run together
// instead of one after the other (docs/BENCHMARKS.md, "Sealing in her browser").
//
// Asked {file}; answers {sha256} (hex) or {error}.  It reads the file and nothing else.

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

export async function hashStream(stream) {
  const hash = sha256.create();
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return bytesToHex(hash.digest());
    hash.update(value);
  }
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = async (event) => {
    try {
      self.postMessage({ sha256: await hashStream(event.data.file.stream()) });
    } catch (error) {
      self.postMessage({ error: error?.name ?? "Error" });
    }
  };
}
