#!/usr/bin/env bash
# Entrypoint of a streaming replica: clone the primary on first start, then run postgres as a standby.
#
# On first start (no PG_VERSION in PGDATA) it runs `pg_basebackup -R -X stream -C -S <slot>`, which
# copies the primary, creates a physical replication slot there (the primary keeps the WAL this
# replica has not received yet, even while it is down) and writes standby.signal and
# primary_conninfo. Later starts just run postgres on the existing copy. Run as root (the official
# postgres image) it fixes the data directory's owner and re-runs itself as the postgres user.
# The tests run the same file natively against a primary they start themselves.
#
#   PRIMARY_HOST          required: the primary's host name (postgres-primary in compose)
#   PRIMARY_PORT          default 5432
#   REPLICATION_USER      default replicator (made by primary-init.sh)
#   REPLICATION_PASSWORD  required
#   REPLICATION_SLOT      default: this host's name, e.g. the compose service postgres-replica
#   PRIMARY_WAIT_SECONDS  how long to wait for the primary on first start, default 120
#   PGDATA                default /var/lib/postgresql/data
# Arguments are passed to postgres (a leading "postgres" is dropped, as in the official image).
set -euo pipefail

log() { printf 'replica-entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

: "${PRIMARY_HOST:?PRIMARY_HOST must name the primary to replicate}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set (see primary-init.sh)}"
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICATION_USER=${REPLICATION_USER:-replicator}
# Slot names allow lower-case letters, digits and underscores only.
REPLICATION_SLOT=${REPLICATION_SLOT:-$(hostname | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')}
PRIMARY_WAIT_SECONDS=${PRIMARY_WAIT_SECONDS:-120}
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
PG_OS_USER=${PG_OS_USER:-postgres}

case "$REPLICATION_SLOT" in
  *[!a-z0-9_]* | "") die "REPLICATION_SLOT must be lower-case letters, digits and _, not '$REPLICATION_SLOT'" ;;
esac
case "$PRIMARY_PORT$PRIMARY_WAIT_SECONDS" in
  *[!0-9]*) die "PRIMARY_PORT and PRIMARY_WAIT_SECONDS must be numbers" ;;
esac

if [ "$(id -u)" = 0 ]; then
  # A new named volume belongs to root; PostgreSQL insists on owning its data directory (0700).
  mkdir -p "$PGDATA"
  chown "$PG_OS_USER:" "$PGDATA"
  chmod 700 "$PGDATA"
  if command -v gosu >/dev/null; then exec gosu "$PG_OS_USER" "$0" "$@"; fi
  exec runuser -u "$PG_OS_USER" -- "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  log "waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT"
  waited=0
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do
    [ "$waited" -lt "$PRIMARY_WAIT_SECONDS" ] || die "the primary $PRIMARY_HOST:$PRIMARY_PORT did not answer in ${PRIMARY_WAIT_SECONDS}s"
    sleep 1
    waited=$((waited + 1))
  done
  export PGPASSWORD=$REPLICATION_PASSWORD
  # A slot left by an earlier copy of this replica (its volume was reset) would make -C fail.
  # Ask first (READ_REPLICATION_SLOT gives an empty row for a missing slot), so a first start
  # does not make the primary log a "replication slot ... does not exist" error.
  slot_type=$(psql "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER replication=true" \
    --no-psqlrc --tuples-only --no-align --command "READ_REPLICATION_SLOT $REPLICATION_SLOT" 2>/dev/null |
    cut -d'|' -f1 || true)
  if [ -n "$slot_type" ]; then
    log "dropping the slot $REPLICATION_SLOT left by an earlier copy of this replica"
    pg_receivewal -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" --no-password \
      --drop-slot --slot "$REPLICATION_SLOT" >/dev/null 2>&1 || true
  fi
  # pg_basebackup wants an empty directory: clear what an interrupted first start left behind.
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  find "$PGDATA" -mindepth 1 -delete
  log "cloning $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA (pg_basebackup -R -X stream, slot $REPLICATION_SLOT)"
  pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" --no-password \
    -D "$PGDATA" -R -X stream -C -S "$REPLICATION_SLOT" --checkpoint=fast
  unset PGPASSWORD
fi
[ -f "$PGDATA/standby.signal" ] || die "$PGDATA has no standby.signal: it is not a replica's data directory"

if [ "${1:-}" = postgres ]; then shift; fi
log "starting the standby"
exec postgres -c hot_standby=on "$@"
