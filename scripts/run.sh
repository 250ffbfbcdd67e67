#!/usr/bin/env bash
# make run: migrate, seed demo data, then web + Celery worker + beat in one terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The same optional .env file that honcho reads, so migrate and seed use the same database.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export SITE_PORT=${SITE_PORT:-8000}
port_open 127.0.0.1 "$SITE_PORT" && die "port $SITE_PORT is taken — run: make run SITE_PORT=8001"

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py seed_demo
cat <<MSG

Database: ${DATABASE_URL:+from DATABASE_URL}${DATABASE_URL:-embedded SQLite file var/db.sqlite3}
Broker:   ${CELERY_BROKER_URL:+from CELERY_BROKER_URL}${CELERY_BROKER_URL:-embedded filesystem queue under var/celery/}
Operator admin:      http://127.0.0.1:$SITE_PORT/admin/
Open the site at:    http://127.0.0.1:$SITE_PORT/
Press Ctrl-C to stop web, worker and beat.

MSG
exec .venv/bin/honcho -f Procfile start
