#!/usr/bin/env sh
# The web container: apply migrations, seed demo data on a first start if asked, then serve with gunicorn.
set -eu
python manage.py migrate --noinput
python manage.py createcachetable
if [ "${SEED_DEMO_ON_FIRST_START:-0}" = 1 ]; then
  python manage.py seed_demo --if-empty
fi
exec gunicorn -c deploy/gunicorn.conf.py project.wsgi
