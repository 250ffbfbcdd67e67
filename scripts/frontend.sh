#!/usr/bin/env bash
# The browser code (frontend/): its packages from the lockfile, then
#   scripts/frontend.sh build   bundle it into static/frontend/ (commit what changes)
#   scripts/frontend.sh check   its unit tests, and a fresh build from the lockfile must
#                               give the committed static/frontend/ byte for byte
# The site serves the committed build: running it needs no Node, only changing it does.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node

# npm ci only when the lockfile changed since the last install.  No install scripts: the
# packages' own (esbuild's checks its binary) are not needed to build, and a package's
# script is code from the registry run on this machine.
stamp="frontend/node_modules/.installed-$(sha256sum frontend/package-lock.json | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  (cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in frontend/: the npm registry must be reachable (see above)"
  touch "$stamp"
fi

case ${1:-check} in
  build)
    (cd frontend && node build.mjs ../static/frontend)
    ;;
  check)
    (cd frontend && node --test --test-reporter=dot test/) || die "frontend: its unit tests failed (above)"
    fresh=$(mktemp -d)
    trap 'rm -rf "$fresh"' EXIT
    (cd frontend && node build.mjs "$fresh")
    diff -r "$fresh" static/frontend >/dev/null \
      || die "static/frontend/ is not what frontend/ builds: run scripts/frontend.sh build and commit it"
    ;;
  *) die "usage: scripts/frontend.sh build|check" ;;
esac
