#!/usr/bin/env bash
# Run a manage.py command the way the services run: as the user safereport, with the
# settings of /etc/safe-report/safe-report.env.  As root, for example:
#   /srv/safe-report/app/deploy/manage.sh createsuperuser
#   /srv/safe-report/app/deploy/manage.sh verify_audit
# SAFE_REPORT_ENV_FILE and SAFE_REPORT_USER change the file and the user.
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
env_file=${SAFE_REPORT_ENV_FILE:-/etc/safe-report/safe-report.env}
user=${SAFE_REPORT_USER:-safereport}
[ -r "$env_file" ] || { echo "cannot read $env_file (run this as root)" >&2; exit 1; }

# NAME=value lines taken literally, as systemd's EnvironmentFile= takes them (a shell's
# "." would expand a "$" in a password).
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in '' | '#'*) continue ;; esac
  export "${line?}"
done <"$env_file"

cd "$app"
if [ "$(id -un)" = "$user" ]; then
  exec .venv/bin/python manage.py "$@"
fi
exec runuser -u "$user" -- .venv/bin/python manage.py "$@"
