"""Peerly settings, read from the environment.

Every variable is documented in the README's configuration table. Local runs
need only DATABASE_URL (./scripts/run and ./scripts/test start a PostgreSQL
server and set it; debug on, a development secret); production sets
DJANGO_DEBUG=false and must then provide DJANGO_SECRET_KEY, or startup fails.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_rate(name: str, default: str) -> str:
    """A django-ratelimit rate: COUNT/PERIOD with PERIOD s, m, h or d, optionally multiplied (`100/5m`)."""
    value = env_str(name, default) or default
    if not re.fullmatch(r"[0-9]+/[0-9]*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must look like 30/m, 600/h or 100/5m, not {value!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    value = env_str(name, default) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "peerly.apps.PeerlyAdminConfig",  # django.contrib.admin with Peerly's site (accounts/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # OpClass in index expressions (accounts: name prefix indexes)
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ratelimit",
    "django_otp",
    "django_otp.plugins.otp_totp",  # the back office's TOTP devices (accounts/two_factor.py)
    "procrastinate.contrib.django",  # background jobs in PostgreSQL (each app's tasks.py)
    "peerly.apps.PeerlyConfig",
    "audit",  # the audit trail's table and writer, under every domain app (they write to it)
    "accounts",
    "corevalues",
    "recognitions",
    "moderation",
    "integrations",
    "notifications",  # email, Slack and outgoing webhooks for the events the domain apps emit
    "insights",  # HR insights: exports and members' stats
    "demo",  # on top: seed_demo writes through every app's services
]

MIDDLEWARE = [
    "peerly.api.middleware.RequestIdMiddleware",
    "peerly.api.middleware.JsonErrorMiddleware",
    "peerly.api.middleware.RequireContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed its second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peerly.urls"
WSGI_APPLICATION = "peerly.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# Database: PostgreSQL only (triggers keep the feed counters, partial and operator-class indexes, lock
# timeouts and constraint names in errors are relied on). ./scripts/run and ./scripts/test start a server.
POSTGRESQL_HOWTO = (
    "Peerly runs on PostgreSQL only. Use ./scripts/run (starts a local server in .pgdata/) or ./scripts/test "
    "(a throwaway one), or set DATABASE_URL=postgres://user:password@host:5432/peerly yourself."
)
_database_url = env_str("DATABASE_URL")
if _database_url is None:
    raise ImproperlyConfigured(f"DATABASE_URL is not set. {POSTGRESQL_HOWTO}")
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL names {DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, not PostgreSQL. {POSTGRESQL_HOWTO}"
    )
# Server-side binding: psycopg sends the values apart from the SQL, so the SQL of a query shape is the same
# on every request and PostgreSQL can keep it prepared. With prepared statements on, psycopg prepares a
# statement on its DATABASE_PREPARE_THRESHOLD-th run on a connection, and from then on PostgreSQL neither
# parses nor (once it settles on a generic plan) plans it again: the feed's page query spent more time
# being planned than run (BENCHMARKS.md, round two). Behind a pooler in transaction mode (pgbouncer),
# prepared statements need pgbouncer 1.21+ with `max_prepared_statements`; else turn them off
# (docs/operations.md).
DATABASE_SERVER_SIDE_BINDING = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
if DATABASE_PREPARED_STATEMENTS and not DATABASE_SERVER_SIDE_BINDING:
    raise ImproperlyConfigured(
        "DATABASE_PREPARED_STATEMENTS needs DATABASE_SERVER_SIDE_BINDING (psycopg prepares only server-bound "
        "statements): turn both off, or binding on"
    )
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "server_side_binding": DATABASE_SERVER_SIDE_BINDING,
    # None: never prepare (Django's default, for poolers).
    "prepare_threshold": env_int("DATABASE_PREPARE_THRESHOLD", 2) if DATABASE_PREPARED_STATEMENTS else None,
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (shared by every process), else per-process memory. The member
# search's answers (accounts.selectors.member_search) and the insights' closed days (insights.selectors)
# have caches of their own, so they never push the rate-limit counters out of a full per-process cache;
# versioned, they are never stale in either.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "member_search": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "member_search",
        },
        "insights": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "insights",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "peerly"},
        "member_search": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "peerly-member-search",
            "OPTIONS": {"MAX_ENTRIES": env_int("PEERLY_MEMBER_SEARCH_CACHE_ENTRIES", 1000)},
        },
        "insights": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "peerly-insights",
            "OPTIONS": {"MAX_ENTRIES": env_int("PEERLY_INSIGHTS_CACHE_ENTRIES", 200)},
        },
    }

# --- Rate limits (peerly/api/ratelimit.py) -----------------------------------
PEERLY_RATE_LIMIT_SIGNIN = env_rate("PEERLY_RATE_LIMIT_SIGNIN", "10/m")
PEERLY_RATE_LIMIT_WRITES = env_rate("PEERLY_RATE_LIMIT_WRITES", "30/m")
PEERLY_RATE_LIMIT_READS = env_rate("PEERLY_RATE_LIMIT_READS", "600/m")
PEERLY_RATE_LIMIT_API_KEYS = env_rate("PEERLY_RATE_LIMIT_API_KEYS", "1000/m")
# Failed password logins to the admin, per client IP and per account (accounts/admin_site.py).
PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP = env_rate("PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP", "20/h")
PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT = env_rate("PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT", "5/15m")
# A META key such as HTTP_X_FORWARDED_FOR, only when a proxy you run sets it; else REMOTE_ADDR is the client.
PEERLY_TRUSTED_PROXY_HEADER = env_str("PEERLY_TRUSTED_PROXY_HEADER")
PEERLY_TRUSTED_PROXY_COUNT = env_int("PEERLY_TRUSTED_PROXY_COUNT", 1)
# A cache outage lets requests through rather than refusing every one of them.
RATELIMIT_FAIL_OPEN = True
# django-ratelimit's checks know only memcached and django-redis: Django's own RedisCache (atomic add and
# incr) draws W001, and LocMem draws E003 (not shared). Without REDIS_URL limits are deliberately per
# process, and peerly.startup logs a warning saying so when a server starts with debug off.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] if REDIS_URL else ["django_ratelimit.W001", "django_ratelimit.E003"]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.GoogleBackOfficeBackend",  # sessions opened by the back office's Google sign-in
    "accounts.backends.StaffPasswordBackend",  # its password sign-in, where allowed
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Request bodies larger than this are refused (413) before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PEERLY_MAX_BODY_BYTES", 64 * 1024)

# --- Idempotency-Key (peerly/api/idempotency.py) ----------------------------
# How long a key's first answer is kept and replayed; after that the key can be used afresh.
PEERLY_IDEMPOTENCY_TTL_SECONDS = env_int("PEERLY_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# Audit events older than this are deleted by `manage.py purge_audit_events` (and by nothing else).
PEERLY_AUDIT_RETENTION_DAYS = env_int("PEERLY_AUDIT_RETENTION_DAYS", 730)
# How long a retry waits for the first request with its key to finish before answering 409.
PEERLY_IDEMPOTENCY_WAIT_SECONDS = env_int("PEERLY_IDEMPOTENCY_WAIT_SECONDS", 10)

# --- Security (production) -------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("PEERLY_BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("PEERLY_SSL_REDIRECT", not DEBUG)
# /health answers plain HTTP so a load balancer can probe an instance directly.
SECURE_REDIRECT_EXEMPT = [r"^health/?$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("PEERLY_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Browser hardening of the pages (the admin, the Swagger UI); harmless on JSON. Django's defaults made
# explicit: no Referer to other sites, a window of its own (a page opened from elsewhere cannot script it).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from Peerly's own static files, never inline
# (the Swagger UI loads its initialiser as a file: SpectacularSwaggerSplitView). Inline styles stay
# allowed: the Swagger UI sets them from its scripts, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- CORS (SPA clients) ----------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("PEERLY_CORS_ALLOWED_ORIGINS")
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-api-key",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("idempotent-replayed", "retry-after", "x-request-id")

# --- Google sign-in --------------------------------------------------------
PEERLY_GOOGLE_CLIENT_IDS = env_list("PEERLY_GOOGLE_CLIENT_IDS")
PEERLY_GOOGLE_CERTS_URL = env_str("PEERLY_GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs")
PEERLY_GOOGLE_USERINFO_URL = env_str("PEERLY_GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com/v1/userinfo")
PEERLY_GOOGLE_ISSUERS = env_list("PEERLY_GOOGLE_ISSUERS", "accounts.google.com,https://accounts.google.com")
PEERLY_GOOGLE_TIMEOUT_SECONDS = env_int("PEERLY_GOOGLE_TIMEOUT_SECONDS", 5)
# The back office's "Sign in with Google" (accounts/backoffice_views.py): a web client of its own.
PEERLY_GOOGLE_OAUTH_CLIENT_ID = env_str("PEERLY_GOOGLE_OAUTH_CLIENT_ID", "")
PEERLY_GOOGLE_OAUTH_CLIENT_SECRET = env_str("PEERLY_GOOGLE_OAUTH_CLIENT_SECRET", "")
PEERLY_GOOGLE_OAUTH_AUTHORIZATION_URL = env_str(
    "PEERLY_GOOGLE_OAUTH_AUTHORIZATION_URL", "https://accounts.google.com/o/oauth2/v2/auth"
)
PEERLY_GOOGLE_OAUTH_TOKEN_URL = env_str("PEERLY_GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token")

# --- The back office's second factor (accounts/two_factor.py) -------------------
# A password sign-in to the admin must pass a TOTP code (or a recovery code) before any admin page opens.
# On by default whenever debug is off; Google sign-ins are exempt (the workspace's own policy applies).
PEERLY_STAFF_TOTP_REQUIRED = env_bool("PEERLY_STAFF_TOTP_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = env_str("PEERLY_STAFF_TOTP_ISSUER", "Peerly")  # the name authenticator apps show

# --- Background jobs (procrastinate) and email ------------------------------
# Jobs are rows in PostgreSQL, deferred in the transaction of the change that causes them; workers:
# `python manage.py procrastinate worker` (docs/operations.md). Successful jobs are deleted, failed
# ones stay (the admin lists them, with a retry action).
PROCRASTINATE_WORKER_DEFAULTS = {"delete_jobs": "successful"}
# A worker silent (no heartbeat) for this long died: its running jobs start again (peerly/tasks.py).
PEERLY_WORKER_STALLED_SECONDS = env_int("PEERLY_WORKER_STALLED_SECONDS", 60)
# Django's email settings, from the environment. Without EMAIL_HOST the demo (debug on) prints emails
# to the worker's console; in production the SMTP server defaults to localhost:25.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("PEERLY_EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Peerly <peerly@localhost>")
# Domain events (peerly/events.py) and so every notification. Off only in the benchmark's baseline
# (bench/settings_quiet.py: writes without notifications, to measure what they cost); no environment
# variable turns it off.
PEERLY_EVENTS_ENABLED = True
# Outbound requests to addresses customers give (Slack and outgoing webhooks): http to loopback only where this is
# on (the tests' and the demo's local receivers); never in production (notifications/outbound.py).
PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP = env_bool("PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP", False)
# Where people reach this Peerly: the links in the emails (unsubscribe) start with it.
PEERLY_PUBLIC_URL = env_str("PEERLY_PUBLIC_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and env_str("EMAIL_HOST") is None
    else "django.core.mail.backends.smtp.EmailBackend"
)

# --- Peerly tokens (JWT) ---------------------------------------------------
PEERLY_JWT_ISSUER = env_str("PEERLY_JWT_ISSUER", "node.peerly.com")
PEERLY_JWT_AUDIENCE = env_str("PEERLY_JWT_AUDIENCE", "peerly.com")
PEERLY_JWT_LIFETIME = timedelta(seconds=env_int("PEERLY_JWT_LIFETIME_SECONDS", 24 * 3600))
PEERLY_JWT_SIGNING_KEY = env_str("PEERLY_JWT_SIGNING_KEY", SECRET_KEY)

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": PEERLY_JWT_SIGNING_KEY,
    "ISSUER": PEERLY_JWT_ISSUER,
    "AUDIENCE": PEERLY_JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": PEERLY_JWT_LIFETIME,
    "USER_ID_CLAIM": "sub",
    "USER_ID_FIELD": "id",
    "JTI_CLAIM": "jti",
    "LEEWAY": 0,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- Integrations (API keys, HRIS sync) -------------------------------------
# Requests per API key: PEERLY_RATE_LIMIT_API_KEYS, with the other rate limits above.
# POST /users/sync carries up to 1,000 employees: it alone accepts bodies up to this size.
PEERLY_SYNC_MAX_BODY_BYTES = env_int("PEERLY_SYNC_MAX_BODY_BYTES", 2 * 1024 * 1024)

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    # API keys first: a `Bearer pk_live_...` or `X-API-Key` goes to the key authenticator, anything else to JWT.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.ApiKeyAuthentication",
        "accounts.authentication.PeerlyJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsActiveMember"],
    "DEFAULT_RENDERER_CLASSES": ["peerly.api.renderers.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["peerly.api.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "peerly.api.versioning.VendorContentNegotiation",
    "DEFAULT_VERSIONING_CLASS": "peerly.api.versioning.VendorMediaTypeVersioning",
    "DEFAULT_VERSION": "1",
    "ALLOWED_VERSIONS": ("1",),
    "DEFAULT_PAGINATION_CLASS": "peerly.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 10,
    "EXCEPTION_HANDLER": "peerly.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["peerly.api.ratelimit.PeerlyRateLimit"],
    # No OPTIONS self-description (405): the OpenAPI schema describes the API. CORS preflights are
    # answered by django-cors-headers before any view.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "peerly.api.schema.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Peerly API",
    "DESCRIPTION": (
        "Peer recognition for companies. Send `Accept: application/vnd.peerly.v1` to pin version 1; "
        "`application/json` or no Accept header gives the newest version. Every success is "
        '`{"data": ...}` (lists add `meta`), every error `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "peerly.api.schema.strip_trailing_slashes",
        "peerly.api.schema.plain_version",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- Logging ---------------------------------------------------------------
LOG_LEVEL = env_str("PEERLY_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "peerly.api.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "peerly.api.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our own error handler logs server errors once, with the request id.
        "django.request": {"handlers": ["console"], "level": "CRITICAL", "propagate": False},
        # procrastinate: its start-up chatter (tasks registered) in every process only when asked for;
        # the worker's own lines (jobs started, succeeded, failed, retried) at the configured level.
        "procrastinate": {"level": "WARNING"},
        "procrastinate.worker": {"level": LOG_LEVEL},
        # slack-sdk logs request URLs at DEBUG: a Slack webhook URL is a secret.
        "slack_sdk": {"level": "WARNING"},
    },
}
