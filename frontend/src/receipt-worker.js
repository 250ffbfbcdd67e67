// The Worker that makes her receipt on her device (scrypt takes seconds on a cheap
// phone; in a Worker the page stays responsive and shows that it is working).
//
// Asked {workFactor, code?}: with no code, makes one.  Answers {code, lookup, recipient,
// sealedIdentity}: the page shows her the code and sends the server the other three
// only, what it stores for a receipt today (the lookup value, her recipient, her
// identity sealed under the secret derived from the code); never the code or that
// secret.

import { Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { toBase64 } from "./base64.js";
import { newCode, stretchCode } from "./receipt.js";

// evidence/keys.py seal_identity_under_strong_secret: the secret is already 256 bits
// strong, so the age scrypt stanza needs no more than its cheapest setting.
const IDENTITY_WORK_FACTOR = 10;

export async function makeReceipt({ workFactor, code }) {
  const receipt = code ?? newCode();
  const { lookup, passphrase } = stretchCode(receipt, workFactor);
  const identity = await generateX25519Identity();
  const sealer = new Encrypter();
  sealer.setPassphrase(passphrase);
  sealer.setScryptWorkFactor(IDENTITY_WORK_FACTOR);
  const sealed = await sealer.encrypt(identity);
  return {
    code: receipt,
    lookup,
    recipient: await identityToRecipient(identity),
    sealedIdentity: toBase64(sealed),
  };
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = async (event) => {
    try {
      self.postMessage({ ok: true, receipt: await makeReceipt(event.data) });
    } catch (error) {
      // Never the code: only what kind of failure it was.
      self.postMessage({ ok: false, error: error?.name ?? "Error" });
    }
  };
}
