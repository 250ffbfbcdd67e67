#!/usr/bin/env bash
# make test: lint, then the whole suite on real PostgreSQL, Redis, a Celery worker and
# Chromium.  Extra arguments go to pytest (make test ARGS="-k healthz").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# Local services are ours to start only when no server was named for the tests.
if [ -z "${TEST_DATABASE_URL:-}" ]; then ensure_postgres; fi
if [ -z "${TEST_REDIS_URL:-}" ]; then ensure_redis; fi
ensure_chromium
ensure_age
ensure_nginx
ensure_node
ensure_command curl curl
ensure_command systemd-analyze systemd

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/safe_report}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export CELERY_BROKER_URL=$redis_url CELERY_RESULT_BACKEND=$redis_url
# The rate limits' counters on Redis as in production, in databases of their own: the
# tests empty them between tests, which must never touch the broker's queues.  Each test
# process takes this database plus its number (12, 13, 14: tests/support/workers.py).
export CACHE_URL=${TEST_CACHE_URL:-${redis_url%/*}/12}
# A queue of our own: a stale message from an earlier run, or a run beside this one,
# never reaches this run's worker.
export CELERY_TASK_DEFAULT_QUEUE="test-$(date +%s)-$$"
unset DJANGO_ENV DJANGO_DEBUG VAR_DIR

.venv/bin/ruff format --check --quiet . || die "ruff format: files above need formatting — run: make format"
.venv/bin/ruff check --quiet . || die "ruff check: fix the findings above (make format fixes some)"
# Security linters: bandit over the code that ships (each finding fixed, or justified in
# a "nosec" comment beside it), and pip-audit over the pinned dependencies.
.venv/bin/bandit --quiet --configfile pyproject.toml --recursive casework bundles observatory demo reporting evidence config web \
  || die "bandit: fix the findings above, or justify each with a '# nosec <id>' comment beside it"
.venv/bin/python scripts/audit_dependencies.py || die "pip-audit: see above"
# The browser code: its unit tests, and the committed build must be what its lockfile
# builds (the tests also run its routines in node against the Python ones).
scripts/frontend.sh check

# The tests on PYTEST_WORKERS processes at once (pytest-xdist), each with its own test
# database, cache, Celery queue and worker (tests/support/workers.py).  By default one per
# core, at most 3 (the cache databases above); 0 runs them all in this process, as do
# picking tests by name (-k) or by id (file::test), where starting workers costs more than
# it saves, and --pdb.  An -n in the arguments wins: make test ARGS="-n 0 tests/test_x.py".
workers=${PYTEST_WORKERS:-}
if [ -z "$workers" ]; then
  workers=$(nproc 2>/dev/null || echo 1)
  [ "$workers" -le 3 ] || workers=3
  for arg in "$@"; do
    case $arg in -k | -k* | *::* | --pdb | --trace) workers=0 ;; esac
  done
fi
[ "$workers" -gt 1 ] || workers=0
# loadfile: a module at a time to whichever worker is free, its tests in order on it, so
# a module-scoped fixture (a whole running demo) is built once (tests/support/workers.py).
exec .venv/bin/pytest -n "$workers" --dist loadfile "$@"
