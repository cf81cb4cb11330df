"""Test settings: the real settings, pointed at the test services, with only what tests need changed.

``make test`` starts the services with ``deploy/services.sh up``; the defaults below are that
script's ports. Redis databases 14 and 15 keep the tests away from a developer's data.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/django_at_scale")
os.environ.setdefault("REPLICA_DATABASE_URLS", "postgres://postgres@127.0.0.1:5433/django_at_scale")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# The suite makes many requests from one address; the throttle tests set their own low rates.
os.environ.setdefault("API_THROTTLE_ANON_RATE", "100000/min")
os.environ.setdefault("API_THROTTLE_USER_RATE", "100000/min")
os.environ.setdefault("API_THROTTLE_WRITE_RATE", "100000/min")
# The test servers speak plain HTTP: cookies without the Secure flag (production has it on).
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ["DJANGO_DEBUG"] = "0"
os.environ["DJANGO_STATIC_MANIFEST"] = "0"

from project.settings import *  # noqa: F403
from project.settings import DATABASES, REPLICA_DATABASES

# Hashing with a slow hasher makes every log-in in the suite slow, and proves nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Replicas are test mirrors of the primary: no test database is created or flushed on them.
# conftest.py then points them at the real standby server (see there for why).
for _alias in REPLICA_DATABASES:
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}

# Serve static files from the apps' folders (no collectstatic needed), as in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
