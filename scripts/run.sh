#!/usr/bin/env bash
# make run: migrate, seed demo data, then web + Celery worker + beat in one terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The same optional .env file that honcho reads, so migrate and seed use the same database.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export SITE_PORT=${SITE_PORT:-8000}
port_open 127.0.0.1 "$SITE_PORT" && die "port $SITE_PORT is taken — run: make run SITE_PORT=8001"

# On PostgreSQL, as in production: DATABASE_URL's role owns the tables and migrates; web,
# worker, beat and the builder connect as a role of their own, safe_report_site (password
# the same, made here if missing), which can append to the audit log and never rewrite,
# truncate or alter it (docs/SECURITY.md).  Set DATABASE_OWNER_URL too to name both.
# SQLite has no roles: the default stays as it was.
site_role=""
if [ -z "${DATABASE_OWNER_URL:-}" ] && [[ "${DATABASE_URL:-}" == postgres* ]]; then
  export DATABASE_OWNER_URL=$DATABASE_URL
  DATABASE_URL=$(python3 - "$DATABASE_URL" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
url = urlsplit(sys.argv[1])
# Over TCP even when the owner's URL names the socket: PostgreSQL's peer authentication
# there would want a Unix user of the role's name.
host = url.hostname or "127.0.0.1"
host = f"[{host}]" if ":" in host else host
netloc = f"safe_report_site:safe_report_site@{host}" + (f":{url.port}" if url.port else "")
print(urlunsplit(url._replace(netloc=netloc)))
PY
)
  export DATABASE_URL
  site_role=safe_report_site
fi
.venv/bin/python manage.py migrate --noinput -v 0
if [ -n "${DATABASE_OWNER_URL:-}" ]; then
  .venv/bin/python manage.py grant_site_role --create >/dev/null ||
    die "could not give the site its database role (above); docs/SECURITY.md says why it has one"
fi
# From here on, the site's role only.
unset DATABASE_OWNER_URL
.venv/bin/python manage.py seed_demo
# Where each comes from, never the URL itself (it may hold a password).
database="embedded SQLite file var/db.sqlite3"
if [ -n "${DATABASE_URL:-}" ]; then
  database="from DATABASE_URL${site_role:+ (web, worker, beat and builder as $site_role)}"
fi
broker="embedded filesystem queue under var/celery/"
[ -z "${CELERY_BROKER_URL:-}" ] || broker="from CELERY_BROKER_URL"
cat <<MSG

Database: $database
Broker:   $broker
Operator admin:      http://127.0.0.1:$SITE_PORT/admin/
Open the site at:    http://127.0.0.1:$SITE_PORT/
Press Ctrl-C to stop web, worker and beat.

MSG
# .env was read above (and DATABASE_URL changed since): honcho must not read it again.
exec .venv/bin/honcho -e /dev/null -f Procfile start
