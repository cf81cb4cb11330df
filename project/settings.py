"""Settings for the whole site, read from the environment (12-factor).

Production differs from development only by environment variables; there is no production.py.
A bad value stops start-up with ``ImproperlyConfigured`` naming the variable. Every variable is
listed, with its default, in ``.env.example``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from project.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    parse_database_url,
    read_dotenv,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the embedded default (SQLite file, Celery's file broker, collected static).
VAR_DIR = Path(env_str("DJANGO_VAR_DIR") or BASE_DIR / "var")

# A .env file beside manage.py fills in what the real environment does not set.
read_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the site's host names when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- Applications ----------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "project",
    "users",
    "blog",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and auth, so every read of the request is routed by one per-request choice.
    "project.middleware.ReplicaRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The debug toolbar is a development tool: loaded only with DJANGO_DEBUG on and the dev
# requirements installed, never in production (its module is not even imported there).
DEBUG_TOOLBAR = (
    DEBUG and env_bool("DJANGO_DEBUG_TOOLBAR", True) and importlib.util.find_spec("debug_toolbar") is not None
)
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.common.CommonMiddleware"), "debug_toolbar.middleware.DebugToolbarMiddleware"
    )
    INTERNAL_IPS = ["127.0.0.1", "::1"]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "users.User"
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "blog:home"
LOGOUT_REDIRECT_URL = "blog:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Databases -------------------------------------------------------------------------------


def _database(variable: str, url: str, *, replica: bool = False) -> dict[str, Any]:
    config = parse_database_url(variable, url, base_dir=BASE_DIR)
    if replica and config["ENGINE"].endswith("postgresql"):
        # No pool for replicas: a pool hides a stopped server behind its timeout (10 s by default)
        # and reconnect back-off, while the router must learn at once that a replica is gone and
        # read from the primary. A refused connection fails in milliseconds; a lost host after
        # REPLICA_CONNECT_TIMEOUT. Persistent connections, health-checked per request, stay warm.
        config["CONN_MAX_AGE"] = REPLICA_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"].setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
        return config
    if config["ENGINE"].endswith("postgresql"):
        # psycopg 3's pool (Django 5.1+) instead of persistent connections: each process keeps a
        # few warm connections and hands them out per request. CONN_MAX_AGE must stay 0 with it.
        if DATABASE_POOL:
            config["OPTIONS"]["pool"] = {
                "min_size": DATABASE_POOL_MIN_SIZE,
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": DATABASE_POOL_TIMEOUT,
            }
        else:
            config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1))
    return config


DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1)
if DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
    raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not be larger than DATABASE_POOL_MAX_SIZE.")

# Read replicas (project/db_routers.py, docs/replicas.md). Defaults: reads after a write stay on
# the primary for 5 s; a replica more than 2 s behind, or one that failed in the last 5 s, is skipped.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5, minimum=0)
REPLICA_MAX_LAG = env_float("REPLICA_MAX_LAG", 2.0, minimum=0)
REPLICA_LAG_CHECK_SECONDS = env_float("REPLICA_LAG_CHECK_SECONDS", 2.0, minimum=0)
REPLICA_DOWN_SECONDS = env_float("REPLICA_DOWN_SECONDS", 5.0, minimum=0)
REPLICA_CONNECT_TIMEOUT = env_int("REPLICA_CONNECT_TIMEOUT", 2, minimum=1)
REPLICA_CONN_MAX_AGE = env_int("REPLICA_CONN_MAX_AGE", 60, minimum=0)
REPLICA_PIN_COOKIE_NAME = "primary_pin"
# Reads of these apps and models decide who the user is: always from the primary, so a user who
# has just logged in (or out, or changed their password) never looks otherwise on the next page.
REPLICA_PRIMARY_MODELS = ["sessions", "auth", "contenttypes", "admin", AUTH_USER_MODEL.lower()]
DATABASE_ROUTERS = ["project.db_routers.PrimaryReplicaRouter"]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES: dict[str, dict[str, Any]] = {"default": _database("DATABASE_URL", DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# Each replica URL becomes an alias: replica, replica2, replica3, ...
REPLICA_DATABASE_URLS = env_list("REPLICA_DATABASE_URLS")
REPLICA_DATABASES: list[str] = []
for _number, _url in enumerate(REPLICA_DATABASE_URLS, start=1):
    _alias = "replica" if _number == 1 else f"replica{_number}"
    DATABASES[_alias] = _database("REPLICA_DATABASE_URLS", _url, replica=True)
    REPLICA_DATABASES.append(_alias)
if REPLICA_DATABASES and not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("REPLICA_DATABASE_URLS needs DATABASE_URL to be a PostgreSQL primary.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": None,
        }
    }
else:
    # The embedded default: a cache shared by web and worker processes that needs no server.
    # The database cache is persistent and its add() is atomic (an INSERT on a primary key).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            "TIMEOUT": None,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery ----------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "filesystem://", "memory://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must start with redis://, rediss://, filesystem:// or memory://, not {CELERY_BROKER_URL!r}."
    )
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if not CELERY_BROKER_URL:
    # The embedded default: kombu's filesystem transport, a broker that needs no server.
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
    }
    # The one side effect of this module: the embedded default's folders must exist for every
    # entry point (runserver, the worker, beat, manage.py commands) before any of them starts.
    for _folder in (_queue_dir, VAR_DIR / "celery" / "processed"):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
CELERY_TIMEZONE = "UTC"

# --- Email -----------------------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "blog@localhost")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)


def _admins(raw: list[str]) -> list[tuple[str, str]]:
    admins = []
    for item in raw:
        name, _, email = item.rpartition("<")
        email = email.rstrip(">").strip()
        if "@" not in email:
            raise ImproperlyConfigured(f"DJANGO_ADMINS must be 'Name <email>' items separated by commas, not {item!r}.")
        admins.append((name.strip() or email, email))
    return admins


ADMINS = _admins(env_list("DJANGO_ADMINS"))

# --- Internationalisation, static files ------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names for far-future caching, once `collectstatic` has run (the Docker image does).
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) -------------------------------------------------------------------

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST framework --------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "project.paginators.CursorPagination",
    "PAGE_SIZE": 20,
}

# --- The site --------------------------------------------------------------------------------

BLOG_POSTS_PER_PAGE = env_int("BLOG_POSTS_PER_PAGE", 10, minimum=1)
BLOG_COMMENTS_PER_PAGE = env_int("BLOG_COMMENTS_PER_PAGE", 50, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
