"""Settings for the RiverGen platform API.

Every knob comes from the environment with a default that is safe in production
(DEBUG off, no wildcard hosts). The README's configuration table lists them all.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # Fail fast: a production process must never run on a guessable key.
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_simplejwt.token_blacklist",
    "organizations",
    "datasources",
    # The project package itself: its migration creates the throttle cache table.
    "rivergen",
]

MIDDLEWARE = [
    # First: every response gets an X-Request-ID and one structured log line.
    "rivergen.middleware.RequestLogMiddleware",
    # /healthz and /readyz, before host validation and the HTTPS redirect (probes).
    "rivergen.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A chunked body (no Content-Length) is read here, before anything parses one.
    "rivergen.middleware.ChunkedBodyMiddleware",
    # Static files (the admin's, the API docs') straight from STATIC_ROOT.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Messages for the admin's pages; API requests get none (PageMessageMiddleware).
    "rivergen.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rivergen.urls"
WSGI_APPLICATION = "rivergen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# SQLite in the project root by default, so a fresh clone runs with nothing else;
# PostgreSQL in production and CI through DATABASE_URL.
# An empty DATABASE_URL means "unset" too, never Django's dummy backend.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's, with a health check that sends nothing to a healthy connection (its module).
    DATABASES["default"]["ENGINE"] = "rivergen.db.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's, with a LOWER() that folds every letter, not ASCII alone (its module).
    DATABASES["default"]["ENGINE"] = "rivergen.db.sqlite3"
    # Each transaction takes SQLite's write lock when it begins: two updates of one row
    # (datasources.services.datasource_update) wait for each other instead of one
    # failing with "database is locked" when it comes to write.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
# Persistent connections: gunicorn's sync workers serve one request at a time, so each
# worker keeps one connection and reuses it for CONN_MAX_AGE seconds instead of paying a
# PostgreSQL connect per request (PostgreSQL connections = workers x instances). Health
# checks drop a connection the server closed before the first query of a request
# (rivergen/db/postgresql/base.py: without a round trip to a healthy one). With
# threaded or async workers, psycopg's pool (OPTIONS["pool"]) is the better tool.
# Under DEBUG (runserver, a thread per request) connections are closed after each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# On PostgreSQL each worker remembers the membership rows it read until a trigger notifies
# a change of users, memberships or organizations (LISTEN/NOTIFY; rivergen/db/postgresql/
# notifications.py): a repeat request makes no membership statement. Off: read on every
# request (behind a connection pooler it stays off by itself: README, Security).
ACCESS_CACHE = env.bool("ACCESS_CACHE", default=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT (filled by `collectstatic`: `make serve`, the Docker build)
# with hashed, compressed, cache-forever file names. Needs collectstatic when DEBUG is off.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The contract's body limit (1 MiB); larger bodies answer 413 PAYLOAD_TOO_LARGE.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Paths are matched with and without a trailing slash by the routers; never redirect.
APPEND_SLASH = False

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

# HTTPS only when DEBUG is off, so `manage.py check --deploy` is clean with no extra
# variable: plain HTTP is redirected, and HSTS tells browsers never to try it again.
# TLS usually ends at a proxy; gunicorn trusts its X-Forwarded-Proto from
# FORWARDED_ALLOW_IPS (see gunicorn.conf.py), which makes request.is_secure() true.
# /healthz and /readyz are never redirected (HealthCheckMiddleware): probes speak plain
# HTTP to the container. Serving plain HTTP on purpose (local `make serve`, compose.yaml)
# means SECURE_SSL_REDIRECT=false; the test settings do the same for the test client.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading puts the whole registrable domain into browsers' built-in HTTPS-only lists:
# a decision for the domain's owner, submitted by hand, so opt-in here, and Django's
# reminder (security.W021) is silenced rather than a default chosen for them.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Fernet keys for credentials at rest, comma-separated, newest first: encrypt with the
# first, decrypt with any (`manage.py rotate_credentials_key` re-encrypts under the first).
# Required when DEBUG is off; under DEBUG, one key is derived from SECRET_KEY so a fresh
# clone just works. `manage.py check` validates them (rivergen/checks.py).
CREDENTIALS_ENCRYPTION_KEYS = [
    key.strip() for key in env.list("CREDENTIALS_ENCRYPTION_KEYS", default=[]) if key.strip()
]
if not CREDENTIALS_ENCRYPTION_KEYS and not DEBUG:
    # Fail fast, like SECRET_KEY: credentials must not be encrypted with a key derived from it.
    raise ImproperlyConfigured("CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Verifies the token without a user query; tenancy's membership query checks
        # that the user is still active (rivergen/api/tenancy.py).
        "rivergen.api.authentication.BearerTokenAuthentication",
        # Staff browsing the API in a browser after logging in at /api-auth/login/.
        "rivergen.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rivergen.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rivergen.api.parsers.LimitedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "rivergen.api.negotiation.JSONFallbackNegotiation",
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_PAGINATION_CLASS": "rivergen.api.pagination.EnvelopePagination",
    "EXCEPTION_HANDLER": "rivergen.api.exceptions.envelope_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rivergen.api.throttling.AnonThrottle",
        "rivergen.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON_RATE", default="60/min"),
        "user": env.str("THROTTLE_USER_RATE", default="1200/min"),
        # POST /auth/token and /auth/token/refresh per client address, on top of "anon":
        # guessing passwords or refresh tokens.
        "auth": env.str("THROTTLE_AUTH_RATE", default="10/min"),
    },
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    # Clients are identified by REMOTE_ADDR; X-Forwarded-For is trusted only from
    # this many proxies in front (0: never, so a client cannot pick its own identity).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Documents the envelopes, error responses and tenancy header (see rivergen/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "rivergen.api.schema.EnvelopeAutoSchema",
}

# OpenAPI 3 schema at /api/v1/schema, Swagger UI at /api/docs, ReDoc at /api/redoc.
# The UIs' assets come from drf-spectacular-sidecar (served as static files), never a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "RiverGen Platform API",
    "DESCRIPTION": (
        "RiverGen's data-source catalog, contract v1. Every response body is an envelope: "
        "`{success: true, data, message}` or `{success: false, error: {code, details}, message}`. "
        "Paths also answer with a trailing slash. A method a path does not list answers 405 "
        "(`#/components/responses/MethodNotAllowed`) and an unknown path under /api/ answers "
        "404 (`#/components/responses/NotFound`)."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The docs need no credentials: a stale token must not lock anyone out of them.
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components, so write-only and read-only fields are exact.
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["rivergen.api.schema.preprocess_one_path_per_route"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rivergen.api.schema.postprocess_error_responses",
        "rivergen.api.schema.postprocess_data_source_rules",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DataSourceTypeEnum": "datasources.models.DataSourceType",
        "DataSourceStatusEnum": "datasources.models.DataSourceStatus",
    },
}

# The key that signs API tokens: a secret of its own, so that neither SECRET_KEY nor it
# opens the other's doors. Required when DEBUG is off, at least 32 bytes (HS256, RFC 7518).
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
if not JWT_SIGNING_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("JWT_SIGNING_KEY must be set when DEBUG is off.")
    JWT_SIGNING_KEY = "django-insecure-development-only-jwt-signing-key-do-not-use"
if len(JWT_SIGNING_KEY.encode()) < 32 and not DEBUG:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 32 bytes long.")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=24 * 60 * 60)),
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ALGORITHM": "HS256",
    # Announced in WWW-Authenticate; accepted in any case (BearerTokenAuthentication).
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 5,
    "UPDATE_LAST_LOGIN": False,
    # Every refresh spends its refresh token (blacklisted: reuse answers 401) and returns a
    # new one (the token_blacklist app; `manage.py flushexpiredtokens` prunes its tables).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Every token carries a digest of the user's password hash (the "hash_password" claim),
    # checked by the membership query and on refresh: a password change revokes all tokens.
    "CHECK_REVOKE_TOKEN": True,
}

# Throttle counters must be shared by every gunicorn worker (and every instance): Redis
# when REDIS_URL is set (recommended: one script call, no SQL), else a table in the database
# (created by the `rivergen` app's migration), which costs 4 more statements and a transaction
# each time a worker takes counts (up to 16 at once at high rates: rivergen/api/throttling.py).
# A Redis that does not answer within the timeouts lets requests through unthrottled,
# logged (rivergen/api/throttling.py), rather than failing them.
REDIS_URL = env.str("REDIS_URL", default="")
_REDIS_CACHE = {
    # Django's, reusing its redis-py clients (rivergen/cache.py).
    "BACKEND": "rivergen.cache.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": "rivergen",
    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Exact counts remembered with the version they were counted under
    # (datasources.selectors.remembered_count): shared through Redis when there is one,
    # else each process remembers its own. An entry is only ever used while its version is
    # current, so the timeout bounds memory, not staleness.
    "counts": {
        **(
            _REDIS_CACHE
            if REDIS_URL
            else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "counts"}
        ),
        "TIMEOUT": 3600,
    },
    "throttle": (
        _REDIS_CACHE
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "rivergen_throttle_cache",
            # One row per client and scope; culling deletes a third of the rows (and so
            # resets those counters) only past this many.
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    ),
}

# One JSON object per line on stdout (rivergen/logging.py) unless DEBUG is on, where
# LOG_FORMAT defaults to plain lines for a terminal. Every line made during a request
# carries its request_id; "rivergen.request" writes one line per request.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "rivergen.logging.JSONFormatter"},
        "plain": {"()": "rivergen.logging.PlainFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print every request warning a second time.
        "django": {"handlers": [], "propagate": True},
        # The request log already has every 4xx; Django's copy is kept for 5xx only.
        "django.request": {"level": "ERROR"},
    },
}
