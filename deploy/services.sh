#!/usr/bin/env bash
# Make sure the services the tests and benchmarks talk to are up, starting only what is missing:
#   - a PostgreSQL primary (the machine's own on PRIMARY_PORT, or one started here),
#   - a real streaming replica of it, made with `pg_basebackup -R -X stream`, on REPLICA_PORT,
#   - Redis on REDIS_PORT.
# Idempotent: run it as often as you like. `make test` and `make bench` run `up` first.
#
# Usage: deploy/services.sh up | status | env | replica-stop | replica-start | replica-rebuild | down
#        | primary-start | primary-stop | replica-pause | replica-resume | redis-start | redis-stop
#   env            print the environment variables that point Django at these services
#   replica-stop   stop the replica (fault tests and the replica benchmark use it)
#   replica-pause  pause WAL replay on the replica (it answers, its lag grows); replica-resume resumes
#   redis-start    start a Redis of this script's own on REDIS_PORT; redis-stop stops it
#   down           stop what this script started (never the machine's own primary or Redis)
#
# With PRIMARY_DIR set, the primary is this script's own: made with initdb in PRIMARY_DIR on
# PRIMARY_PORT (a spare port), so fault drills can stop and restart it (primary-stop, primary-start)
# without touching the machine's PostgreSQL. Every path and port is a parameter, so several
# independent sets (the machine's tests, a fault drill) run side by side.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PRIMARY_USER=${PRIMARY_USER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
REDIS_PORT=${REDIS_PORT:-6379}
DB_NAME=${DB_NAME:-django_at_scale}
SERVICES_DIR=${SERVICES_DIR:-/var/tmp/django-at-scale-services}
REPLICA_DIR="$SERVICES_DIR/replica-$REPLICA_PORT"
REDIS_DIR="$SERVICES_DIR/redis-$REDIS_PORT"
PRIMARY_DIR=${PRIMARY_DIR:-}
SLOT="django_at_scale_replica_$REPLICA_PORT"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root: when we are root, run its binaries as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "${PG_OS_USER:-postgres}" -- "$@"; else "$@"; fi
}

psql_primary() {
  psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres "$@"
}

pg_bindir() {
  # The replica must be the primary's major version: pick the matching server binaries.
  local major
  if [ -n "$PRIMARY_DIR" ] && [ -f "$PRIMARY_DIR/PG_VERSION" ]; then
    major=$(cat "$PRIMARY_DIR/PG_VERSION")
  elif [ -n "$PRIMARY_DIR" ]; then
    # Not made yet: the newest server installed.
    major=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
  else
    major=$(psql_primary -c "SELECT current_setting('server_version_num')::int / 10000")
  fi
  for dir in "/usr/lib/postgresql/$major/bin" "/usr/pgsql-$major/bin" "$(pg_config --bindir 2>/dev/null || true)"; do
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then echo "$dir"; return; fi
  done
  die "no PostgreSQL $major server binaries found (install postgresql-$major)"
}

own_primary_start() {
  # A primary of this script's own in PRIMARY_DIR: initdb once, then pg_ctl start (idempotent).
  local bindir
  bindir=$(pg_bindir)
  if [ ! -f "$PRIMARY_DIR/PG_VERSION" ]; then
    log "making a PostgreSQL primary in $PRIMARY_DIR on $PRIMARY_HOST:$PRIMARY_PORT (initdb)"
    # The postgres OS user must be able to reach the folder through its parent.
    mkdir -p "$(dirname "$PRIMARY_DIR")"
    chmod 755 "$(dirname "$PRIMARY_DIR")"
    install -d -m 700 "$PRIMARY_DIR"
    [ "$(id -u)" = 0 ] && chown "${PG_OS_USER:-postgres}:" "$PRIMARY_DIR"
    as_pg "$bindir/initdb" -D "$PRIMARY_DIR" -U "$PRIMARY_USER" --auth=trust --no-sync -E UTF8 >/dev/null
    as_pg sh -c "cat >> '$PRIMARY_DIR/postgresql.conf'" <<CONF
# Primary made by deploy/services.sh (PRIMARY_DIR) for a fault drill or fault tests.
port = $PRIMARY_PORT
listen_addresses = '$PRIMARY_HOST'
# TCP only: a socket in the data folder would be copied by pg_basebackup.
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
max_connections = 100
shared_buffers = 64MB
fsync = on
logging_collector = off
CONF
    as_pg sh -c "cat > '$PRIMARY_DIR/pg_hba.conf'" <<CONF
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
CONF
  fi
  if ! pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; then
    log "starting the primary on $PRIMARY_HOST:$PRIMARY_PORT"
    as_pg "$bindir/pg_ctl" -D "$PRIMARY_DIR" -l "$PRIMARY_DIR/server.log" -w -t 60 start >/dev/null
  fi
}

own_primary_stop() {
  [ -n "$PRIMARY_DIR" ] || die "primary-stop stops only a primary of this script's own: set PRIMARY_DIR"
  if [ -f "$PRIMARY_DIR/postmaster.pid" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$PRIMARY_DIR" -m "${PG_STOP_MODE:-fast}" -w -t 60 stop >/dev/null || true
  fi
}

primary_up() {
  if [ -n "$PRIMARY_DIR" ]; then own_primary_start; return; fi
  pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" && return 0
  if command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "starting the machine's PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" && return 0; sleep 1; done
  die "PostgreSQL is not answering on $PRIMARY_HOST:$PRIMARY_PORT; install and start PostgreSQL 15 (trust auth for $PRIMARY_USER on 127.0.0.1)"
}

allow_replication() {
  # pg_basebackup and the standby connect with the replication protocol, which needs its own
  # pg_hba.conf line. Add one for loopback if the primary does not allow it yet.
  if psql -X -q -d "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$PRIMARY_USER replication=true" \
       -c IDENTIFY_SYSTEM >/dev/null 2>&1; then
    return
  fi
  local hba
  hba=$(psql_primary -c "SHOW hba_file")
  [ -w "$hba" ] || die "the primary refuses replication connections and $hba is not writable: add 'host replication all 127.0.0.1/32 trust' to it and reload"
  log "allowing loopback replication connections in $hba"
  printf '\n# added by django-at-scale deploy/services.sh for its test replica\nhost replication all 127.0.0.1/32 trust\nlocal replication all trust\n' >>"$hba"
  psql_primary -c "SELECT pg_reload_conf()" >/dev/null
  sleep 1
}

replica_ready() {
  [ "$(psql -X -q -t -A -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PRIMARY_USER" -d postgres \
       -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]
}

replica_build() {
  local bindir=$1
  log "making a streaming replica of $PRIMARY_HOST:$PRIMARY_PORT in $REPLICA_DIR (pg_basebackup -R -X stream)"
  rm -rf "$REPLICA_DIR"
  mkdir -p "$SERVICES_DIR"
  chmod 755 "$SERVICES_DIR"
  psql_primary -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  install -d -m 700 "$REPLICA_DIR"
  [ "$(id -u)" = 0 ] && chown "${PG_OS_USER:-postgres}:" "$REPLICA_DIR"
  # -C -S: a physical slot keeps the WAL the replica still needs while it is stopped in fault tests.
  as_pg "$bindir/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" \
    -D "$REPLICA_DIR" -R -X stream -C -S "$SLOT" --checkpoint=fast
  # Debian keeps the configuration outside the data directory, so the copy may have none.
  as_pg sh -c "cat > '$REPLICA_DIR/postgresql.conf'" <<CONF
# Test replica made by deploy/services.sh.
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$REPLICA_DIR'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s
wal_receiver_status_interval = 1s
max_connections = 100
shared_buffers = 128MB
logging_collector = off
include_if_exists = 'postgresql.auto.conf'
CONF
  as_pg sh -c "cat > '$REPLICA_DIR/pg_hba.conf'" <<CONF
local all all trust
host all all 127.0.0.1/32 trust
CONF
  as_pg sh -c ": > '$REPLICA_DIR/pg_ident.conf'"
}

replica_start() {
  local bindir=$1
  [ -f "$REPLICA_DIR/standby.signal" ] || replica_build "$bindir"
  if ! replica_ready; then
    log "starting the replica on 127.0.0.1:$REPLICA_PORT"
    as_pg "$bindir/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null || {
      log "the replica did not start; rebuilding it"
      replica_build "$bindir"
      as_pg "$bindir/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null
    }
  fi
  # Streaming means the primary sees our walreceiver; wait for it so tests start on a live standby.
  for _ in $(seq 1 60); do
    if [ "$(psql_primary -c "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '$SLOT' AND r.state = 'streaming'")" -ge 1 ]; then
      return
    fi
    sleep 0.5
  done
  die "the replica on port $REPLICA_PORT is up but not streaming from the primary (see $REPLICA_DIR/server.log)"
}

replica_stop() {
  local bindir=$1
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null || true
  fi
}

redis_up() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
  command -v redis-server >/dev/null || die "Redis is not answering on 127.0.0.1:$REDIS_PORT and redis-server is not installed"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p "$REDIS_DIR"
  # REDIS_APPENDONLY=yes for a broker or cache that must keep its data over a restart.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly "${REDIS_APPENDONLY:-no}" --appendfsync everysec \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
  for _ in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.25; done
  die "Redis did not start on port $REDIS_PORT"
}

redis_stop() {
  # Only a Redis this script started (its pid file), never the machine's own.
  local pid
  [ -f "$REDIS_DIR/redis.pid" ] || return 0
  pid=$(cat "$REDIS_DIR/redis.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

psql_replica() {
  psql -X -q -t -A -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PRIMARY_USER" -d postgres "$@"
}

print_env() {
  echo "DATABASE_URL=postgres://$PRIMARY_USER@$PRIMARY_HOST:$PRIMARY_PORT/$DB_NAME"
  echo "REPLICA_DATABASE_URLS=postgres://$PRIMARY_USER@127.0.0.1:$REPLICA_PORT/$DB_NAME"
  echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/1"
}

cmd=${1:-up}
case "$cmd" in
  up)
    primary_up
    allow_replication
    if [ "$(psql_primary -c "SELECT count(*) FROM pg_database WHERE datname = '$DB_NAME'")" = 0 ]; then
      psql_primary -c "CREATE DATABASE $DB_NAME" >/dev/null
    fi
    replica_start "$(pg_bindir)"
    redis_up
    log "primary $PRIMARY_HOST:$PRIMARY_PORT, replica 127.0.0.1:$REPLICA_PORT (streaming), redis 127.0.0.1:$REDIS_PORT"
    ;;
  status)
    pg_isready -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" || true
    if replica_ready; then echo "replica 127.0.0.1:$REPLICA_PORT: in recovery (standby)"; else echo "replica 127.0.0.1:$REPLICA_PORT: down"; fi
    redis-cli -p "$REDIS_PORT" ping || true
    ;;
  env) print_env ;;
  replica-stop) replica_stop "$(pg_bindir)" ;;
  replica-start) primary_up; allow_replication; replica_start "$(pg_bindir)" ;;
  replica-rebuild) b=$(pg_bindir); replica_stop "$b"; replica_build "$b"; replica_start "$b" ;;
  replica-pause) psql_replica -c "SELECT pg_wal_replay_pause()" >/dev/null ;;
  replica-resume) psql_replica -c "SELECT pg_wal_replay_resume()" >/dev/null ;;
  primary-start) primary_up ;;
  primary-stop) own_primary_stop ;;
  redis-start) redis_up ;;
  redis-stop) redis_stop ;;
  down)
    replica_stop "$(pg_bindir)"
    redis_stop
    if [ -n "$PRIMARY_DIR" ]; then own_primary_stop; fi
    ;;
  *) die "unknown command '$cmd' (use up, status, env, replica-stop, replica-start, replica-rebuild, replica-pause, replica-resume, primary-start, primary-stop, redis-start, redis-stop or down)" ;;
esac
