#!/bin/sh
# Entrypoint of the redis stand-in, behaving as the official image documents: options (or a
# *.conf file) as the first argument run redis-server with them; run as root, it gives /data to
# the redis user and re-runs itself as that user; files it writes are private to that user.
set -eu

case "${1:-}" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec gosu redis "$0" "$@"
fi

if [ "${1:-}" = redis-server ]; then
  # The official server is built with protected mode off; Debian's is not. An explicit
  # --protected-mode later on the line still wins. A config file stays the first argument.
  shift
  case "${1:-}" in
    *.conf) config=$1; shift; set -- redis-server "$config" --protected-mode no "$@" ;;
    *) set -- redis-server --protected-mode no "$@" ;;
  esac
  [ "$(umask)" != 0022 ] || umask 0077
fi

exec "$@"
