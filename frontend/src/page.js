// What the page scripts (intake.js, return.js) share: whether this browser can seal and
// open on her device at all, and the server's sentences with their blanks filled in.

/** Whether this browser has what sealing on her device needs; the page works without
 * its script otherwise (the server seals, and the page says so). */
export function canSealHere() {
  return (
    typeof Worker === "function" &&
    typeof ReadableStream === "function" &&
    typeof TransformStream === "function" &&
    typeof Blob === "function" &&
    typeof Blob.prototype.stream === "function" &&
    typeof fetch === "function" &&
    typeof TextEncoder === "function" &&
    typeof crypto === "object" &&
    typeof crypto.getRandomValues === "function"
  );
}

/** A translated sentence with its ``%(name)s`` blanks filled in, as text. */
export function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}
