#!/usr/bin/env bash
# Back up Safe Report: the database (pg_dump, custom format) and the blob store (one tar
# of ciphertext), into a new dated folder that appears only once it is complete; keep the
# newest BACKUP_KEEP.  What is in a backup and what is not: docs/DEPLOY.md, "Backups".
#
#   DATABASE_URL (or DATABASE_URL_FILE)  the live database: postgres://... (the env file)
#   EVIDENCE_BLOB_ROOT                   the blob store (the env file)
#   BACKUP_DIR    where backups are written (default /var/backups/safe-report)
#   BACKUP_KEEP   how many backups to keep (default 7)
#
# Run by safe-report-backup.service (deploy/systemd/), as the service's user.
set -euo pipefail
umask 077
here=$(cd "$(dirname "$0")" && pwd)

die() { printf 'backup FAILED: %s\n' "$*" >&2; exit 1; }

if [ -n "${DATABASE_URL_FILE:-}" ]; then
  [ -z "${DATABASE_URL:-}" ] || die "set DATABASE_URL or DATABASE_URL_FILE, not both"
  DATABASE_URL=$(cat "$DATABASE_URL_FILE")
fi
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (source the env file, or run the service)"
export DATABASE_URL
blob_root=${EVIDENCE_BLOB_ROOT:?EVIDENCE_BLOB_ROOT is not set}
[ -d "$blob_root" ] || die "the blob store $blob_root is not a folder"
backup_dir=${BACKUP_DIR:-/var/backups/safe-report}
keep=${BACKUP_KEEP:-7}
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a whole number of backups, not '$keep'"
for tool in pg_dump psql tar sha256sum flock python3; do
  command -v "$tool" >/dev/null || die "missing: $tool (apt-get install postgresql-client tar coreutils util-linux python3)"
done

mkdir -p "$backup_dir"
# One backup at a time: a second run would race this one's retention.
exec 9>"$backup_dir/.lock"
flock -n 9 || die "another backup is running in $backup_dir"

# Named by the second it starts; a run in the same second as the last one waits for
# the next (we hold the lock, so nothing else takes it meanwhile).
name="safe-report-$(date -u +%Y%m%dT%H%M%SZ)"
while [ -e "$backup_dir/$name" ]; do
  sleep 1
  name="safe-report-$(date -u +%Y%m%dT%H%M%SZ)"
done
final="$backup_dir/$name"
partial="$backup_dir/.partial-$name"
# Leftovers of a run that died (we hold the lock, so none is in progress).
rm -rf "$backup_dir"/.partial-*
mkdir "$partial"
trap 'rm -rf "$partial"' EXIT

# 1. The database, and facts about it taken from the SAME snapshot (so the drill can
#    compare counts exactly): pg_dump joins the snapshot this transaction exports.
cd "$partial"
psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" <<'SQL' || die "psql could not read the database"
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT pg_export_snapshot() AS snapshot, now() AS taken_at, current_database() AS db \gset
\setenv BACKUP_SNAPSHOT :snapshot
\! pg_dump --snapshot="$BACKUP_SNAPSHOT" --format=custom --file=database.dump --dbname="$DATABASE_URL" && touch .dump-ok
\pset format unaligned
\pset tuples_only on
\pset fieldsep '\t'
\o counts.tsv
SELECT table_name,
       (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
           false, true, '')))[1]::text
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
 ORDER BY table_name;
\o audit-head.tsv
SELECT count(*), coalesce(max(seq), 0),
       coalesce((SELECT hash FROM casework_auditevent ORDER BY seq DESC LIMIT 1), '')
  FROM casework_auditevent;
\o snapshot.tsv
\qecho :taken_at
\qecho :db
\o
COMMIT;
SQL
[ -f .dump-ok ] || die "pg_dump failed (its message is above)"
rm .dump-ok
{ read -r taken_at; read -r db_name; } <snapshot.tsv
IFS=$'\t' read -r audit_rows audit_last_seq audit_last_hash <audit-head.tsv
rm snapshot.tsv audit-head.tsv

# 2. The blob store, after the database: every payload a row of the snapshot points at
#    was written before it.  Payloads are never changed once written, only deleted, so
#    tar's status 1 ("a file changed or vanished while read") means an erasure ran
#    meanwhile; the list in step 3 accounts for it.
status=0
tar --create --file=blobs.tar --directory="$blob_root" --format=posix --sort=name \
  --exclude='.*.partial' --warning=no-file-removed --warning=no-file-changed . || status=$?
[ "$status" -le 1 ] || die "tar could not read the blob store $blob_root"
python3 "$here/tarsums.py" list blobs.tar >blobs.sha256

# 3. What was erased (or an evidence bundle expired) while steps 1-2 ran: present in the
#    database copy, deliberately absent from the blob copy.  A day's margin covers an
#    erasure whose transaction was open when the snapshot was taken; excusing the absence
#    of a payload that is meant to be gone is always right.
psql -X -q -A -t -v ON_ERROR_STOP=1 -v taken_at="$taken_at" -d "$DATABASE_URL" \
  -o erased-while-copying.txt <<'SQL' || die "psql could not list erasures"
SELECT blob_key FROM evidence_sealedobject
 WHERE erased_at >= :'taken_at'::timestamptz - interval '1 day'
UNION
SELECT blob_key FROM casework_bundle WHERE blob_key <> '' AND state <> 'ready'
 ORDER BY 1;
SQL

blob_files=$(grep -c . blobs.sha256 || true)
blob_bytes=$(tar --list --verbose --file=blobs.tar | awk '$1 ~ /^-/ { s += $3 } END { print s + 0 }')
# The code is root's and this runs as safereport: git needs telling the folder is fine.
app=$(cd "$here/.." && pwd)
code_version=$(git -c safe.directory="$app" -C "$app" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >manifest.txt <<EOF
# Safe Report backup (docs/DEPLOY.md, "Backups"); restore-drill.sh checks it.
made_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
database=$db_name
database_snapshot_at=$taken_at
code_version=$code_version
audit_rows=$audit_rows
audit_last_seq=$audit_last_seq
audit_last_hash=$audit_last_hash
blob_files=$blob_files
blob_bytes=$blob_bytes
EOF
sha256sum database.dump blobs.tar blobs.sha256 counts.tsv erased-while-copying.txt \
  manifest.txt >SHA256SUMS

# 4. On disk before it is called complete; then complete in one rename.
sync -- * .
cd "$backup_dir"
mv "$partial" "$final"
trap - EXIT
sync -- "$backup_dir"

# 5. Keep the newest BACKUP_KEEP (names sort by date); never touch anything else here.
mapfile -t old < <(find "$backup_dir" -mindepth 1 -maxdepth 1 -type d \
  -name 'safe-report-[0-9]*T[0-9]*Z' -printf '%f\n' | sort -r | tail -n +"$((keep + 1))")
for folder in "${old[@]}"; do
  rm -rf -- "${backup_dir:?}/$folder"
done

printf 'backup OK: %s (database %s, %s blobs, %s bytes of blobs; audit log %s rows; kept %s, removed %s)\n' \
  "$final" "$(du -h "$final/database.dump" | cut -f1)" "$blob_files" "$blob_bytes" \
  "$audit_rows" "$keep" "${#old[@]}"
