#!/bin/sh
# Entrypoint of the nginx stand-in: before nginx starts, run /docker-entrypoint.d/ in name order
# (*.sh executed, *.envsh sourced so they can export variables; only executable files), as the
# official image documents. NGINX_ENTRYPOINT_QUIET_LOGS=1 keeps it quiet.
set -eu

say() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: $*"; }

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  for script in $(find /docker-entrypoint.d/ -follow -type f | sort -V); do
    if [ ! -x "$script" ]; then
      say "ignoring $script (not executable)"
      continue
    fi
    case "$script" in
      *.envsh) say "sourcing $script"; . "$script" ;;
      *.sh) say "running $script"; "$script" ;;
      *) say "ignoring $script" ;;
    esac
  done
  say "configuration complete; ready for start up"
fi

exec "$@"
