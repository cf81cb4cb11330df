#!/usr/bin/env bash
# Entrypoint of the postgres stand-in, behaving as the official image documents:
#   - arguments starting with "-" are options to `postgres`;
#   - run as root, it makes PGDATA the postgres user's (0700) and re-runs itself as that user;
#   - on an empty PGDATA it runs initdb with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD
#     (required unless POSTGRES_HOST_AUTH_METHOD=trust) plus POSTGRES_INITDB_ARGS, lets every
#     host connect with POSTGRES_HOST_AUTH_METHOD (default: the password_encryption method),
#     creates POSTGRES_DB (default: the user's name), then runs /docker-entrypoint-initdb.d/ in
#     name order (*.sh executed if executable, sourced if not; *.sql and *.sql.gz through psql)
#     against a server that listens on its Unix socket only;
#   - *_FILE variants (POSTGRES_PASSWORD_FILE, ...) read the value from a file (Docker secrets).
set -Eeuo pipefail

read_file_variable() { # NAME [DEFAULT]: NAME from the environment or from the file NAME_FILE
  local name=$1 default=${2:-} file_name="${1}_FILE"
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    echo "postgres: set $name or $file_name, not both" >&2
    exit 1
  fi
  local value=$default
  if [ -n "${!name:-}" ]; then value=${!name}; elif [ -n "${!file_name:-}" ]; then value=$(<"${!file_name}"); fi
  export "$name"="$value"
  unset "$file_name"
}

run_sql() { # psql as the superuser on the temporary server, stopping at the first error
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" --dbname "${SQL_DB:-$POSTGRES_DB}" "$@"
}

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "${1:-}" != postgres ]; then exec "$@"; fi

read_file_variable POSTGRES_PASSWORD
read_file_variable POSTGRES_USER postgres
read_file_variable POSTGRES_DB "$POSTGRES_USER"
read_file_variable POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=}"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo "postgres: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    echo "postgres: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, not recommended)" >&2
    exit 1
  fi
  # Read the folder first, so an unreadable one fails here, not half way through the set-up.
  ls /docker-entrypoint-initdb.d/ >/dev/null
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, split on purpose
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
  [ -n "$POSTGRES_HOST_AUTH_METHOD" ] || POSTGRES_HOST_AUTH_METHOD=$(postgres -C password_encryption "${@:2}")
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  pg_ctl -D "$PGDATA" -w start -o "$(printf '%q ' "${@:2}") -c listen_addresses='' -p ${PGPORT:-5432}"
  if [ "$POSTGRES_DB" != postgres ]; then
    SQL_DB=postgres run_sql --set db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
  fi
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh)
        if [ -x "$script" ]; then
          echo "postgres: running $script"
          "$script"
        else
          echo "postgres: sourcing $script"
          # shellcheck disable=SC1090
          . "$script"
        fi
        ;;
      *.sql) echo "postgres: running $script"; run_sql -f "$script" ;;
      *.sql.gz) echo "postgres: running $script"; gunzip -c "$script" | run_sql ;;
      *) if [ -e "$script" ]; then echo "postgres: ignoring $script"; fi ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo "postgres: init process complete; ready for start up"
fi

exec "$@"
