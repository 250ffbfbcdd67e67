#!/usr/bin/env bash
# scripts/respawn.sh COMMAND [ARG...]: run COMMAND, and start it again 5 s after it exits,
# until this script itself is told to stop (TERM, INT or HUP: honcho's stop, Ctrl-C).
#
# The Procfile runs the Celery worker, beat and the bundle builder through it.  honcho
# (make run) stops every process when one exits, and the Celery worker does exit when
# Redis goes away: kombu 5.7.0 (the newest release) dies with "AttributeError: 'NoneType'
# object has no attribute 'hostname'" while it closes the lost connection, in 6 of 11
# outages of the fault drills (docs/BENCHMARKS.md).  systemd and compose restart their
# processes themselves (Restart=on-failure, restart: unless-stopped); this is the same for
# make run.  RESPAWN_DELAY changes the 5 s.
set -u
[ $# -gt 0 ] || { echo "usage: scripts/respawn.sh COMMAND [ARG...]" >&2; exit 2; }
delay=${RESPAWN_DELAY:-5}
child=""
sleeper=""
stopping=""

stop() {
  stopping=1
  # honcho signals the whole process group, so the command usually has the signal too;
  # passing it on covers a TERM sent to this script alone.
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi
  if [ -n "$sleeper" ]; then kill -TERM "$sleeper" 2>/dev/null; fi
}
trap stop TERM INT HUP

while :; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  # A trapped signal interrupts wait before the command has finished its own shutdown
  # (Celery's warm shutdown lets running tasks end): wait for the command itself.
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    status=$?
  done
  child=""
  [ -z "$stopping" ] || exit 0
  echo "respawn: '$*' exited with status $status; starting it again in ${delay} s" >&2
  sleep "$delay" &
  sleeper=$!
  wait "$sleeper"
  sleeper=""
  [ -z "$stopping" ] || exit 0
done
