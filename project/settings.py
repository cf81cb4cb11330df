"""Settings for the whole site, read from the environment (12-factor).

Production differs from development only by environment variables; there is no production.py.
A bad value stops start-up with ``ImproperlyConfigured`` naming the variable. Every variable is
listed, with its default, in ``.env.example``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from project.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_rate,
    env_str,
    env_url_path,
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
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105  # nosec B105  # development only, refused with debug off
if SECRET_KEY.startswith("<"):
    # deploy/production.env.example's "<...>" left as it was: a secret everybody can read.
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is still the placeholder from the example file: set a real secret.")

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
    # Registers OpClass for index expressions (the trigram index on post titles); harmless on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "project",
    "project.querykiller",
    "users",
    "blog",
    "api",
]

MIDDLEWARE = [
    # Outermost, so the latency it records includes every other middleware (project/monitoring/).
    "project.monitoring.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A NUL byte in the URL is a 400 here, before PostgreSQL turns it into a 500 (project/security/).
    "project.security.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and auth, so every read of the request is routed by one per-request choice.
    "project.replicas.middleware.ReplicaRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After CSRF (whose process_view runs first): refuses log-ins over their limit (project/security/).
    "project.security.login_limits.LoginLimitMiddleware",
    # Content-Security-Policy on every response (django-csp); the policy is in the security block.
    "csp.middleware.CSPMiddleware",
    # Innermost, so a service's refusal (project/exceptions.py) becomes its status before any other handles it.
    "project.middleware.ApplicationErrorMiddleware",
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
    # Collapsed to its handle, so it covers neither the site's header nor the admin's filters.
    DEBUG_TOOLBAR_CONFIG = {"SHOW_COLLAPSED": True}

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

# Which kind of process this is: project/wsgi.py and asgi.py say "web", `manage.py runall` (and
# compose) say "worker" or "beat" for Celery; anything else (migrate, shell, cron) is a "command".
PROCESS_TYPES = ("web", "worker", "beat", "command")
DJANGO_PROCESS_TYPE = env_str("DJANGO_PROCESS_TYPE", "command")
if DJANGO_PROCESS_TYPE not in PROCESS_TYPES:
    raise ImproperlyConfigured(
        f"DJANGO_PROCESS_TYPE must be one of {', '.join(PROCESS_TYPES)}, not {DJANGO_PROCESS_TYPE!r}."
    )
DATABASE_APPLICATION_NAME = f"django-{DJANGO_PROCESS_TYPE}"
# statement_timeout, in seconds (0 = none), per kind of process. A web request's query is cut off a
# little before the query killer's threshold; workers do slower work on purpose and get longer;
# commands (migrations, data fixes) run under an operator's eye and get none.
DATABASE_STATEMENT_TIMEOUT = {
    "web": env_float("DATABASE_STATEMENT_TIMEOUT_WEB", 25.0, minimum=0),
    "worker": env_float("DATABASE_STATEMENT_TIMEOUT_WORKER", 300.0, minimum=0),
    "beat": env_float("DATABASE_STATEMENT_TIMEOUT_WORKER", 300.0, minimum=0),
    "command": env_float("DATABASE_STATEMENT_TIMEOUT_COMMAND", 0.0, minimum=0),
}[DJANGO_PROCESS_TYPE]
# A transaction left open and idle holds its locks and row snapshots: end its session after this.
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT = env_float("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", 60.0, minimum=0)
DATABASE_SESSION_OPTIONS = (
    f"-c statement_timeout={round(DATABASE_STATEMENT_TIMEOUT * 1000)}"
    f" -c idle_in_transaction_session_timeout={round(DATABASE_IDLE_IN_TRANSACTION_TIMEOUT * 1000)}"
)

DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)
DATABASE_POOL_TIMEOUT = env_float(
    "DATABASE_POOL_TIMEOUT", 3.0, minimum=0.1
)  # the wait for a 503 when the primary is down
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)  # without the pool only
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
if DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
    raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not be larger than DATABASE_POOL_MAX_SIZE.")

# Read replicas (project/replicas/router.py, docs/replicas.md). Defaults: reads after a write stay on
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
DATABASE_ROUTERS = ["project.replicas.router.PrimaryReplicaRouter"]


def _database(variable: str, url: str, *, replica: bool = False) -> dict[str, Any]:
    """Return the ``DATABASES`` entry for ``url``, from the settings above (none defined below)."""
    config = parse_database_url(variable, url, base_dir=BASE_DIR)
    if not config["ENGINE"].endswith("postgresql"):
        return config
    # Every connection, to the primary or a replica, says which kind of process opened it (the
    # query killer protects some by name) and carries that kind's timeouts; libpq applies them at
    # connect, so they cost no query per request. See docs/querykiller.md for how the layers relate.
    config["OPTIONS"].setdefault("application_name", DATABASE_APPLICATION_NAME)
    config["OPTIONS"]["options"] = " ".join(filter(None, [config["OPTIONS"].get("options"), DATABASE_SESSION_OPTIONS]))
    config["CONN_HEALTH_CHECKS"] = True
    if replica:
        # No pool for replicas: a pool hides a stopped server behind its timeout (10 s by default)
        # and reconnect back-off, while the router must learn at once that a replica is gone and
        # read from the primary. A refused connection fails in milliseconds; a lost host after
        # REPLICA_CONNECT_TIMEOUT. Persistent connections, health-checked per request, stay warm.
        config["CONN_MAX_AGE"] = REPLICA_CONN_MAX_AGE
        config["OPTIONS"].setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
        return config
    # psycopg 3's pool (Django 5.1+) instead of persistent connections: each process keeps a
    # few warm connections and hands them out per request. CONN_MAX_AGE must stay 0 with it.
    if DATABASE_POOL:
        config["OPTIONS"]["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
        }
    else:
        config["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    config["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    return config


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
# Seconds a Redis cache call may wait to connect or answer, and how long to serve misses after an
# outage is noticed before trying Redis again.
REDIS_CACHE_TIMEOUT = env_float("REDIS_CACHE_TIMEOUT", 0.5, minimum=0.01)
REDIS_CACHE_RETRY_AFTER = env_float("REDIS_CACHE_RETRY_AFTER", 5.0, minimum=0.0)
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}.")
    # Django's own Redis backend (no extra dependency), wrapped so that an outage degrades to
    # misses instead of 500s (project/cache/backends.py); docs/background-cache.md says why not
    # django-redis. Short socket timeouts: a cache call must never hold a request for long.
    CACHES = {
        "default": {
            "BACKEND": "project.cache.backends.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": None,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CACHE_TIMEOUT,
                "socket_timeout": REDIS_CACHE_TIMEOUT,
                "RETRY_AFTER": REDIS_CACHE_RETRY_AFTER,
            },
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

# Every logged-in request reads its session. With Redis, from the cache (written through to the
# database, which still answers when the cache misses or Redis is down): one query less on every
# admin page and session API call. The embedded default's cache is the database itself.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if REDIS_URL else "db")

# The background-filled cache (project/cache/background.py). Values never expire on a short timer; this long
# timeout only bounds garbage (values of arguments nobody asks for any more).
BACKGROUND_CACHE_KEEP_SECONDS = env_int("BACKGROUND_CACHE_KEEP_SECONDS", 30 * 24 * 3600, minimum=1)
# How long a queued refresh holds its key's lock if the task never finishes (lost message, dead
# worker) or fails: at most one refresh per key per this many seconds is retried.
BACKGROUND_CACHE_LOCK_SECONDS = env_int("BACKGROUND_CACHE_LOCK_SECONDS", 300, minimum=1)
# After the broker refused a refresh, requests for that key skip enqueueing for this long, so
# only one request per key per interval waits on a broken broker.
BACKGROUND_CACHE_BROKER_RETRY_SECONDS = env_int("BACKGROUND_CACHE_BROKER_RETRY_SECONDS", 10, minimum=1)
# Seconds a request may wait for the broker when enqueueing a refresh, before serving the value it has.
BACKGROUND_CACHE_BROKER_TIMEOUT = env_float("BACKGROUND_CACHE_BROKER_TIMEOUT", 1.0, minimum=0.01)

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
        # Broadcast exchanges (remote control); kombu's default is ./control in the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    # The broker's folders must exist for every entry point (runserver, the worker, beat, manage.py
    # commands) before any of them starts. The module's other side effects: it creates var/ for
    # SQLite, creates the metrics folder and exports PROMETHEUS_MULTIPROC_DIR (below).
    for _folder in (_queue_dir, VAR_DIR / "celery" / "processed", VAR_DIR / "celery" / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
CELERY_TIMEZONE = "UTC"
# Modules with tasks beyond each app's tasks.py.
CELERY_IMPORTS = ["project.cache.tasks", "project.querykiller.tasks"]
# The query killer has a queue of its own: it never waits behind a backlog of other tasks, and can
# have a worker of its own (`celery worker -Q querykiller`) so that slow tasks cannot delay it.
CELERY_TASK_ROUTES: dict[str, dict[str, Any]] = {"project.querykiller.*": {"queue": "querykiller"}}

# --- Query killer ----------------------------------------------------------------------------

# Every QUERY_KILLER_INTERVAL_SECONDS, stop statements of this site's databases (primary and
# replicas) running longer than QUERY_KILLER_MAX_SECONDS: cancel, then terminate after the grace
# period. Sessions of a protected role or application_name are never touched. See
# project/querykiller/killer.py and docs/querykiller.md.
QUERY_KILLER_ENABLED = env_bool("QUERY_KILLER_ENABLED", True)
QUERY_KILLER_DRY_RUN = env_bool("QUERY_KILLER_DRY_RUN", False)
QUERY_KILLER_MAX_SECONDS = env_float("QUERY_KILLER_MAX_SECONDS", 30.0, minimum=0.1)
QUERY_KILLER_INTERVAL_SECONDS = env_float("QUERY_KILLER_INTERVAL_SECONDS", 10.0, minimum=1.0)
QUERY_KILLER_GRACE_SECONDS = env_float("QUERY_KILLER_GRACE_SECONDS", 5.0, minimum=0)
QUERY_KILLER_KILL_LOCK_WAITERS = env_bool("QUERY_KILLER_KILL_LOCK_WAITERS", False)
QUERY_KILLER_PROTECTED_ROLES = env_list("QUERY_KILLER_PROTECTED_ROLES")
QUERY_KILLER_PROTECTED_APPLICATION_NAMES = env_list(
    "QUERY_KILLER_PROTECTED_APPLICATION_NAMES",
    ["django-querykiller", "django-worker", "django-command", "pg_dump", "pg_restore"],
)
if QUERY_KILLER_ENABLED and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Not scheduled on SQLite, where there is nothing to kill (`manage.py querykiller` says so).
    CELERY_BEAT_SCHEDULE["query-killer"] = {
        "task": "project.querykiller.kill_long_queries_task",
        "schedule": QUERY_KILLER_INTERVAL_SECONDS,
        # A run that waited longer than an interval (worker down, then back) is dropped, not
        # replayed in a burst: the next one is due anyway.
        "options": {"queue": "querykiller", "expires": QUERY_KILLER_INTERVAL_SECONDS},
    }

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

# --- Security (docs/security.md lists each protection, its setting and its test) ----------------

# How many proxies this deployment runs in front of Django, each appending to X-Forwarded-For
# (the bundled nginx sets it to its peer: compose says 1). 0 = Django faces clients directly and
# the header is ignored. project/client_ip.py is the one reader of it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Cookies only over HTTPS, on by default with debug off; plain-HTTP setups (tests, a laptop's
# compose) turn it off explicitly.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS everywhere, for a deployment that has it (deploy/production.env.example turns these on).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# The probes are asked over plain HTTP from inside the network (compose's healthcheck, Prometheus).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# For a deployment that decides against a --deploy warning on purpose (e.g. security.W021 without
# HSTS preload): comma-separated check ids.
SILENCED_SYSTEM_CHECKS = env_list("DJANGO_SILENCED_SYSTEM_CHECKS")

# The admin's URL prefix: moving it off /admin/ takes it out of every scanner's first guess.
ADMIN_PATH = env_url_path("DJANGO_ADMIN_PATH", "admin/")

# Argon2id first (argon2-cffi): memory-hard, OWASP's first choice. Older hashes still verify and
# are upgraded to Argon2 at the user's next log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Log-in and sign-up limits (project/security/login_limits.py): failures per client IP and per
# username within a window; fail closed (503) when the cache holding the counts is down.
LOGIN_LIMIT_USERNAME_FAILURES = env_int("LOGIN_LIMIT_USERNAME_FAILURES", 5, minimum=1)
LOGIN_LIMIT_IP_FAILURES = env_int("LOGIN_LIMIT_IP_FAILURES", 20, minimum=1)
SIGNUP_LIMIT_IP_ATTEMPTS = env_int("SIGNUP_LIMIT_IP_ATTEMPTS", 10, minimum=1)
SIGNUP_LIMIT_USERNAME_ATTEMPTS = env_int("SIGNUP_LIMIT_USERNAME_ATTEMPTS", 5, minimum=1)
LOGIN_LIMIT_WINDOW_SECONDS = env_int("LOGIN_LIMIT_WINDOW_SECONDS", 15 * 60, minimum=1)
LOGIN_LIMIT_CACHE = "default"

# API tokens expire after this many seconds (project/security/tokens.py); default 30 days.
API_TOKEN_MAX_AGE_SECONDS = env_int("API_TOKEN_MAX_AGE_SECONDS", 30 * 24 * 3600, minimum=60)

# Content-Security-Policy on every response (django-csp). No inline script anywhere: the site has
# none, the admin's and DRF's are JSON data blocks, Swagger UI's comes from its own URL
# (drf-spectacular's ?script), Redoc's bundle is a file. Inline styles are allowed (Redoc and
# Swagger UI set them from script); workers from blob: URLs are Redoc's search. data: images are
# the icons Swagger UI and the admin embed in their CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- REST framework --------------------------------------------------------------------------

# The API's scale and safety decisions live in project/api.py, project/api_policies.py and
# project/paginators.py; this
# wires them in. See docs/api.md.
API_THROTTLE_ANON_RATE = env_rate("API_THROTTLE_ANON_RATE", "120/min")
API_THROTTLE_USER_RATE = env_rate("API_THROTTLE_USER_RATE", "600/min")
API_THROTTLE_WRITE_RATE = env_rate("API_THROTTLE_WRITE_RATE", "30/min")
# The cache alias the throttles count in; when it is down, requests are let through (fail open).
API_THROTTLE_CACHE = "default"

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not logged in" into 401 instead of 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token, expiring after API_TOKEN_MAX_AGE_SECONDS (project/security/tokens.py).
        "project.security.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # enforces CSRF on unsafe methods
    ],
    # Closed by default: each viewset opens what it serves.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["project.api_policies.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "project.paginators.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["project.api_policies.FilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "project.api_policies.AnonRateThrottle",
        "project.api_policies.UserRateThrottle",
        "project.api_policies.WriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": API_THROTTLE_ANON_RATE,
        "user": API_THROTTLE_USER_RATE,
        "posts": API_THROTTLE_WRITE_RATE,
        "comments": API_THROTTLE_WRITE_RATE,
        "tags": API_THROTTLE_WRITE_RATE,
        "token": API_THROTTLE_WRITE_RATE,
    },
    "EXCEPTION_HANDLER": "project.api_policies.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "project.api.AutoSchema",
    # DRF's own reading of X-Forwarded-For agrees with project/client_ip.py.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Django at Scale blog API",
    "DESCRIPTION": "Posts, comments, tags and users. Every error has the `Error` shape. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from this site's static files (drf-spectacular-sidecar): no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Redoc's bundle from the sidecar, with its one CDN image pointed at this site (api/docs.py).
    "REDOC_DIST": "/api/v1/redoc-dist",
}

# Larger bodies are refused with 413 (the API's JSON parser) or 400 (forms). 1 MiB holds any post.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- The site --------------------------------------------------------------------------------

# Admin changelists count exactly below this many rows, and show PostgreSQL's estimate above it
# ("about 5,000,000"): see project/querysets.py.
APPROX_COUNT_THRESHOLD = env_int("APPROX_COUNT_THRESHOLD", 1000, minimum=1)

BLOG_POSTS_PER_PAGE = env_int("BLOG_POSTS_PER_PAGE", 10, minimum=1)
BLOG_COMMENTS_PER_PAGE = env_int("BLOG_COMMENTS_PER_PAGE", 50, minimum=1)
BLOG_FEED_ITEMS = env_int("BLOG_FEED_ITEMS", 20, minimum=1)  # entries per Atom/RSS feed
BLOG_SITEMAP_PAGE_SIZE = env_int("BLOG_SITEMAP_PAGE_SIZE", 50000, minimum=1)  # post ids per sitemap page

# --- Monitoring (project/monitoring/, project/monitoring/performance.py) -------------------------------

# prometheus_client keeps each process's metrics in memory-mapped files, and /metrics adds up the
# files of every process: gunicorn's workers, Celery's worker children and beat. It picks this mode
# from PROMETHEUS_MULTIPROC_DIR when it is first imported, which happens after the settings load
# (project.monitoring.metrics is imported by the middleware and the apps), so the settings export it. Processes
# added up together share MONITORING_METRICS_DIR (one host, or one volume mounted in web and worker
# containers); each host writes in its own subfolder, so that at start-up it removes only the files
# of its own processes that are gone.
MONITORING_METRICS_DIR = Path(env_str("MONITORING_METRICS_DIR") or VAR_DIR / "prometheus")
PROMETHEUS_MULTIPROC_DIR = MONITORING_METRICS_DIR / socket.gethostname()
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
# /metrics answers staff users, a request bearing this token ("Authorization: Bearer <token>"), or a
# client address inside one of these networks (e.g. 10.0.0.0/8 for a Prometheus on the private network).
MONITORING_METRICS_TOKEN = env_str("MONITORING_METRICS_TOKEN")
# A value that is not a network stops start-up (it made /metrics a 500 before).
MONITORING_METRICS_ALLOWED_NETWORKS = [str(network) for network in env_networks("MONITORING_METRICS_ALLOWED_NETWORKS")]
# A request slower than this is logged as one structured line with its route, queries and slowest SQL.
MONITORING_SLOW_REQUEST_MS = env_float("MONITORING_SLOW_REQUEST_MS", 500.0, minimum=1.0)
# How often each process writes its per-minute figures for the admin's Performance page to the cache.
MONITORING_FLUSH_SECONDS = env_float("MONITORING_FLUSH_SECONDS", 10.0, minimum=1.0)
# The Celery queues whose length /metrics reports.
MONITORING_CELERY_QUEUES = env_list("MONITORING_CELERY_QUEUES", ["celery", "querykiller"])
# /readyz calls a replica not ready when it replays WAL more than this many seconds behind.
READYZ_REPLICA_MAX_LAG_SECONDS = env_float("READYZ_REPLICA_MAX_LAG_SECONDS", 30.0, minimum=0.0)

# "plain" for people, "json" for a log collector: one JSON object per line, extra fields included.
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "project.monitoring.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("DJANGO_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    },
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A request naming a host not in ALLOWED_HOSTS is a scanner or a misconfigured proxy, not a
        # bug: log it, and keep it from reaching Django's mail_admins handler (one e-mail each).
        "django.security.DisallowedHost": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Fault tolerance (docs/failure-modes.md; `make chaos` drills it) ---------------------------

# A view that cannot reach the primary answers 503 with this Retry-After (seconds): the site's
# 503 page, or the API's error shape under /api/ (project/outages.py).
DATABASE_OUTAGE_RETRY_AFTER = env_int("DATABASE_OUTAGE_RETRY_AFTER", 5, minimum=1)
MIDDLEWARE.insert(
    MIDDLEWARE.index("project.monitoring.middleware.RequestMetricsMiddleware") + 1,
    "project.outages.DatabaseOutageMiddleware",
)
# The primary's pool after a restart: every pooled connection is dead. With CONN_HEALTH_CHECKS
# (set in _database) Django gives the pool psycopg's check_connection, which tests each connection
# as it is handed out and replaces a dead one, so the pool heals without a process restart. While
# the server is down, the pool retries new connections for up to DATABASE_POOL_RECONNECT_TIMEOUT
# before it gives an attempt up (the next request starts another).
DATABASE_POOL_RECONNECT_TIMEOUT = env_float("DATABASE_POOL_RECONNECT_TIMEOUT", 2.0, minimum=0.1)
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["OPTIONS"]["pool"]["reconnect_timeout"] = DATABASE_POOL_RECONNECT_TIMEOUT
# Celery delivery. Tasks are acknowledged after they ran (CELERY_TASK_ACKS_LATE above); each task
# says whether it is put back when its process dies (reject_on_worker_lost: idempotent ones only).
# A message taken by a worker that died whole (SIGKILL of every process) is handed out again once
# it has been unacknowledged this long; it must exceed the longest task (and any ETA/countdown).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_VISIBILITY_TIMEOUT
    # Kombu's Redis transport, minus a worker crash when the broker restarts (project/broker.py).
    CELERY_BROKER_TRANSPORT = "project.broker:RedisTransport"
# A worker or beat started while the broker is down waits for it, and one that loses it mid-run
# keeps reconnecting however long the outage lasts, instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks running when the broker connection drops cannot be acknowledged any more: cancel them, so
# the broker hands them out again, instead of finishing work whose message comes back anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
