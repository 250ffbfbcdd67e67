// Bundle the browser code into ../static/frontend/, which the site serves itself (no
// CDN).  Deterministic: the same lockfile gives the same bytes, which `make test` checks
// against the committed files (scripts/frontend.sh check).
import { build } from "esbuild";

const outdir = process.argv[2] ?? "../static/frontend";

await build({
  entryPoints: {
    // The page scripts (her last step, her return visit) and the Workers they start.
    intake: "src/intake.js",
    "receipt-worker": "src/receipt-worker.js",
    "seal-worker": "src/seal-worker.js",
    // Her return visit: the page script, and the Worker that holds her key.
    return: "src/return.js",
    "visit-worker": "src/visit-worker.js",
  },
  bundle: true,
  // Classic scripts: module Workers are missing from older Tor Browser releases.
  format: "iife",
  target: ["es2020"],
  minify: true,
  legalComments: "linked",
  charset: "utf8",
  outdir,
  logLevel: "warning",
});
