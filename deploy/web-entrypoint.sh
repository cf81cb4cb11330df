#!/usr/bin/env sh
# The web service: prepare the database, then serve the site with gunicorn.
#
# `manage.py prepare` migrates under a PostgreSQL advisory lock, so every copy of a scaled web
# service can run this file: the first applies the migrations, the others wait and find none left.
# SEED_DEMO_ON_FIRST_START=1 seeds the demo data when the database has no post yet (compose sets it).
# The tests run this same file natively against the test services.
set -eu
cd "$(dirname "$0")/.."

# Compose's laptop secret is public (it is in docker-compose.yml): with debug off it is accepted only
# while every allowed host is this machine's own name, never on a site others can reach.
LAPTOP_SECRET=compose-local-only-secret-do-not-deploy
if [ "${DJANGO_SECRET_KEY:-}" = "$LAPTOP_SECRET" ]; then
  case "${DJANGO_DEBUG:-0}" in 1 | true | yes | on) ;; *)
    for host in $(echo "${DJANGO_ALLOWED_HOSTS:-}" | tr ',' ' '); do
      case "$host" in localhost | 127.0.0.1 | "[::1]") ;; *)
        echo "web-entrypoint: DJANGO_SECRET_KEY is compose's public laptop secret and DJANGO_ALLOWED_HOSTS names '$host': set a real DJANGO_SECRET_KEY in .env" >&2
        exit 2 ;;
      esac
    done ;;
  esac
fi

case "${SEED_DEMO_ON_FIRST_START:-0}" in
  1) python manage.py prepare --seed-demo ;;
  0 | "") python manage.py prepare ;;
  *) echo "web-entrypoint: SEED_DEMO_ON_FIRST_START must be 0 or 1, not '$SEED_DEMO_ON_FIRST_START'" >&2; exit 2 ;;
esac
exec gunicorn -c deploy/gunicorn.conf.py project.wsgi
