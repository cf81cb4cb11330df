#!/usr/bin/env bash
# Entrypoint wrapper for the swarm stack (deploy/stack.yml): secrets from files, then wait, then run.
#
# 1. For every NAME in FROM_FILES ("DJANGO_SECRET_KEY DATABASE_URL ..."), export NAME with the
#    contents of the file NAME_FILE names (a Docker secret under /run/secrets/), as the official
#    postgres image does for POSTGRES_PASSWORD_FILE. project/settings.py, primary-init.sh and
#    replica-entrypoint.sh then read NAME as usual, and no secret is written in the stack file.
# 2. WAIT_FOR="host:port host:port ...": wait until each accepts a TCP connection, at most
#    WAIT_FOR_SECONDS (default 120) in all, then exit 1 so the engine restarts the task. Swarm
#    ignores compose's depends_on, so each service waits for what it needs by itself.
# 3. exec the command ("$@").
set -euo pipefail

log() { printf 'env-from-files: %s\n' "$*" >&2; }

for target in ${FROM_FILES:-}; do
  name=${target}_FILE
  file=${!name:-}
  [ -n "$file" ] || { log "$target is in FROM_FILES but $name is not set"; exit 2; }
  [ -r "$file" ] || { log "$name names $file, which is not a readable file"; exit 2; }
  [ -z "${!target:-}" ] || { log "both $target and $name are set: set one"; exit 2; }
  export "$target=$(cat "$file")"
  unset "$name"
done

WAIT_FOR_SECONDS=${WAIT_FOR_SECONDS:-120}
case "$WAIT_FOR_SECONDS" in
  '' | *[!0-9]*) log "WAIT_FOR_SECONDS must be a number of seconds, not '$WAIT_FOR_SECONDS'"; exit 2 ;;
esac
deadline=$((SECONDS + WAIT_FOR_SECONDS))
for address in ${WAIT_FOR:-}; do
  host=${address%:*}
  port=${address##*:}
  case "$port" in
    '' | *[!0-9]*) log "WAIT_FOR entries are host:port, not '$address'"; exit 2 ;;
  esac
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$address did not accept a connection in ${WAIT_FOR_SECONDS}s"
      exit 1
    fi
    sleep 1
  done
done

exec "$@"
