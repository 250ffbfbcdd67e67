#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a NEW database and a NEW blob folder,
# and check it: files unchanged since written, every table's row count, the audit log's
# hash chain and its last row, every sealed object's payload present with its size.
# Without --keep both are removed afterwards; with --keep they stay if the drill passed,
# for a real restore (docs/DEPLOY.md, "Restoring").  The live database and blob store
# are never touched.
#
#   restore-drill.sh [--database NAME] [--blobs DIR] [--keep] [BACKUP_FOLDER]
#
# BACKUP_FOLDER defaults to the newest under BACKUP_DIR (/var/backups/safe-report).
# DATABASE_URL (or DATABASE_URL_FILE) gives the server and credentials; the new database
# is created with them (the role needs CREATEDB), or with DRILL_DATABASE_URL if set (a
# URL of the server's maintenance database for a role that may create databases).
# The last line says "restore drill OK" or "restore drill FAILED"; exit status 1 on any
# problem, each named on a line of its own above.
set -euo pipefail
umask 077
here=$(cd "$(dirname "$0")" && pwd)
app=$(cd "$here/.." && pwd)
python=${SAFE_REPORT_PYTHON:-$app/.venv/bin/python}

say() { printf 'drill: %s\n' "$*"; }
die() { printf 'restore drill FAILED: %s\n' "$*"; exit 1; }
problems=0
problem() { printf 'PROBLEM: %s\n' "$*"; problems=$((problems + 1)); }

database="" blobs="" keep="" backup=""
while [ $# -gt 0 ]; do
  case "$1" in
    --database) database=${2:?--database needs a name}; shift 2 ;;
    --blobs) blobs=${2:?--blobs needs a folder}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$backup" ] || die "one backup folder at a time"; backup=$1; shift ;;
  esac
done

if [ -n "${DATABASE_URL_FILE:-}" ]; then
  [ -z "${DATABASE_URL:-}" ] || die "set DATABASE_URL or DATABASE_URL_FILE, not both"
  DATABASE_URL=$(cat "$DATABASE_URL_FILE")
fi
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (source the env file, or run the service)"
for tool in pg_restore psql tar sha256sum python3; do
  command -v "$tool" >/dev/null || die "missing: $tool (apt-get install postgresql-client tar coreutils python3)"
done
[ -x "$python" ] || die "no Python at $python (the application's .venv)"

if [ -z "$backup" ]; then
  backup_dir=${BACKUP_DIR:-/var/backups/safe-report}
  newest=$(find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'safe-report-[0-9]*T[0-9]*Z' \
    -printf '%f\n' 2>/dev/null | sort | tail -n 1)
  [ -n "$newest" ] || die "no backup under $backup_dir"
  backup=$backup_dir/$newest
fi
backup=$(cd "$backup" && pwd) || die "no backup folder $backup"
for file in database.dump blobs.tar blobs.sha256 counts.tsv erased-while-copying.txt manifest.txt SHA256SUMS; do
  [ -f "$backup/$file" ] || die "$backup has no $file: not a complete backup"
done
manifest() { sed -n "s/^$1=//p" "$backup/manifest.txt"; }

# The URL of database $2 on the server of URL $1 (same user, password, host, options).
url_for() {
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import quote, urlsplit, urlunsplit
print(urlunsplit(urlsplit(sys.argv[1])._replace(path="/" + quote(sys.argv[2]))))
PY
}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
live_db=$(python3 -c 'import sys, urllib.parse as u; print(u.unquote(u.urlsplit(sys.argv[1]).path[1:]))' "$DATABASE_URL")
database=${database:-${live_db}_drill_$stamp}
[ "$database" != "$live_db" ] || die "--database must name a new database, not the live one"
[[ "$database" =~ ^[A-Za-z0-9_]+$ ]] || die "--database: letters, digits and _ only"
blobs=${blobs:-$(dirname "$backup")/.drill-$stamp/blobs}
if [ -e "$blobs" ] && [ -n "$(ls -A "$blobs")" ]; then die "$blobs is not empty"; fi
admin_url=${DRILL_DATABASE_URL:-$(url_for "$DATABASE_URL" postgres)}
scratch_url=$(url_for "$DATABASE_URL" "$database")
scratch_var=$(mktemp -d)

created="" passed=""
cleanup() {
  rm -rf "$scratch_var"
  # --keep keeps a restore that passed; one that failed is never left to be swapped in.
  [ -z "$keep" ] || [ -z "$passed" ] || return 0
  if [ -n "$created" ]; then
    psql -X -q -d "$admin_url" -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null ||
      printf 'drill: could not drop the scratch database %s: drop it by hand\n' "$database"
  fi
  rm -rf "$blobs"
  rmdir "$(dirname "$blobs")" 2>/dev/null || true
}
trap cleanup EXIT

say "backup $backup (made $(manifest made_at), code $(manifest code_version))"

# 1. The files are the bytes backup.sh wrote: a changed file is named here...
if ! (cd "$backup" && sha256sum --quiet --strict --check SHA256SUMS); then
  problem "files of the backup changed since it was written (the lines above name them)"
fi
# ...and a changed blob inside the tar is named by its key.
while IFS= read -r line; do problem "$line"; done < <(python3 "$here/tarsums.py" check \
  "$backup/blobs.tar" "$backup/blobs.sha256" || true)

# 2. The database, into a new one.
psql -X -q -v ON_ERROR_STOP=1 -d "$admin_url" -c "CREATE DATABASE \"$database\"" >/dev/null ||
  die "could not create the database $database (does the role have CREATEDB? see DRILL_DATABASE_URL)"
created=1
if ! pg_restore --exit-on-error --no-owner --no-privileges --dbname="$scratch_url" \
  "$backup/database.dump"; then
  problem "pg_restore could not restore database.dump (its message is above)"
  die "$problems problem(s); nothing more can be checked"
fi
say "database restored into $database"

# 3. Every table holds the rows it held in the backup's snapshot (before any migration).
restored_counts=$(psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -d "$scratch_url" <<'SQL'
SELECT table_name,
       (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
           false, true, '')))[1]::text
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
 ORDER BY table_name;
SQL
) || problem "could not count the restored tables"
while IFS=$'\t' read -r table expected; do
  found=$(awk -F '\t' -v t="$table" '$1 == t { print $2 }' <<<"$restored_counts")
  [ "$found" = "$expected" ] ||
    problem "COUNT $table: ${found:-no such table} restored, $expected rows when backed up"
done <"$backup/counts.tsv"
tables=$(grep -c . "$backup/counts.tsv" || true)
count_of() { awk -F '\t' -v t="$1" '$1 == t { print $2 }' "$backup/counts.tsv"; }

head=$(psql -X -q -A -t -F ' ' -d "$scratch_url" \
  -c "SELECT seq, hash FROM casework_auditevent ORDER BY seq DESC LIMIT 1") || head="unreadable"
expected_head="$(manifest audit_last_seq) $(manifest audit_last_hash)"
[ "$expected_head" = "0 " ] && expected_head=""
[ "$head" = "$expected_head" ] ||
  problem "AUDIT last row restored is '${head:-none}', the backup's was '${expected_head:-none}'"

# 4. The blob store, into a new folder.
mkdir -p "$blobs"
if ! tar --extract --file="$backup/blobs.tar" --directory="$blobs" --no-same-owner; then
  problem "tar could not extract blobs.tar (its message is above)"
fi

# 5. The application's own checks, on the restored copy only.
run() {
  env -u DATABASE_URL_FILE DATABASE_URL="$scratch_url" EVIDENCE_BLOB_ROOT="$blobs" \
    VAR_DIR="$scratch_var" "$python" "$app/manage.py" "$@"
}
if ! run migrate --check >/dev/null 2>&1; then
  say "the backup predates migrations of this code: applying them to the copy"
fi
run migrate --noinput -v 0 || problem "manage.py migrate failed on the restored database"
if audit=$(run verify_audit 2>&1); then
  say "${audit%%$'\n'*}"
else
  printf '%s\n' "$audit"
  problem "the audit log's hash chain does not verify (above)"
fi
psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -d "$scratch_url" -o "$scratch_var/bundles.txt" \
  -c "SELECT blob_key, size, 'evidence bundle ' || uuid FROM casework_bundle
       WHERE state = 'ready' AND blob_key <> '' ORDER BY id" ||
  problem "could not list the ready evidence bundles"
run check_blobs --also "$scratch_var/bundles.txt" \
  --may-be-missing "$backup/erased-while-copying.txt" ||
  problem "payloads are missing or damaged (named above)"

if [ "$problems" -gt 0 ]; then
  printf 'restore drill FAILED: %s problem(s) with %s (listed above)\n' "$problems" "$backup"
  exit 1
fi
passed=1
kept="removed"
[ -z "$keep" ] || kept="kept: database $database, blobs $blobs"
printf 'restore drill OK: %s: %s tables with their row counts (%s reports, %s sealed objects), audit log intact (%s rows), every payload present; %s\n' \
  "$(basename "$backup")" "$tables" "$(count_of reporting_report)" \
  "$(count_of evidence_sealedobject)" "$(manifest audit_rows)" "$kept"
