#!/usr/bin/env bash
# Prepare a new primary for streaming replicas: a replication role and a pg_hba.conf line for it.
#
# The official postgres image runs this once, as the postgres user, from /docker-entrypoint-initdb.d/
# while the new cluster is served on its Unix socket only; the tests run the same file against a
# cluster they start themselves (PGHOST/PGPORT point psql at it). Safe to run again: the role is
# created only if missing and the line is added only once.
#
#   REPLICATION_PASSWORD  required: the replicas log in with it
#   REPLICATION_USER      default replicator
#   REPLICATION_NETWORK   the addresses replicas connect from, default all (compose's private network)
#   POSTGRES_USER, POSTGRES_DB, PGDATA  as set by the official image
set -euo pipefail

: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set: the replicas log in with it}"
: "${PGDATA:?PGDATA must name the data directory of the primary}"
export REPLICATION_USER=${REPLICATION_USER:-replicator}
REPLICATION_NETWORK=${REPLICATION_NETWORK:-all}

case "$REPLICATION_USER" in
  *[!a-z0-9_]* | "") echo "primary-init: REPLICATION_USER must be lower-case letters, digits and _, not '$REPLICATION_USER'" >&2; exit 2 ;;
esac

# The keyword "all" in the database column does not match replication connections: they need a
# line of their own. scram-sha-256 because the password crosses the (container) network.
line="host replication $REPLICATION_USER $REPLICATION_NETWORK scram-sha-256"
if ! grep -qxF "$line" "$PGDATA/pg_hba.conf"; then
  printf '\n# Streaming replicas (deploy/postgres/primary-init.sh)\n%s\n' "$line" >>"$PGDATA/pg_hba.conf"
fi

# \getenv keeps the password out of the process list; format(%I, %L) quotes it for SQL.
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
\getenv replication_user REPLICATION_USER
\getenv replication_password REPLICATION_PASSWORD
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'replication_user', :'replication_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'replication_user', :'replication_password')
WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT pg_reload_conf() \g /dev/null
SQL
echo "primary-init: role $REPLICATION_USER may stream from $REPLICATION_NETWORK" >&2
