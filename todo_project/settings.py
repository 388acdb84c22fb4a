"""Settings for the todo backend: one module, driven by the environment (and an optional .env)."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
MIN_SECRET_BYTES = 32


def get_bool_from_env(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {value!r}.")


def get_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def get_int_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def get_secret(name: str, *, debug_default: str) -> str:
    """A secret from the environment; in debug a missing one falls back with a warning."""
    value = os.environ.get(name, "")
    if DEBUG:
        if not value:
            _insecure_development_secrets.append(name)
            return debug_default
        return value
    if len(value.encode()) < MIN_SECRET_BYTES:
        state = "is not set" if not value else f"is shorter than {MIN_SECRET_BYTES} bytes"
        raise ImproperlyConfigured(
            f"{name} {state}. With DJANGO_DEBUG off it must be a random value of at least "
            f'{MIN_SECRET_BYTES} bytes, e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
        )
    return value


_insecure_development_secrets: list[str] = []
DEBUG = get_bool_from_env("DJANGO_DEBUG", True)
SECRET_KEY = get_secret("DJANGO_SECRET_KEY", debug_default="insecure-development-key-" + "x" * 40)
ALLOWED_HOSTS = get_list(os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "adrf",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN (the CSP allows only 'self')
    "todo_project.apps.ProjectConfig",
    "tasks",
    "chat",
    "events",
    "webhooks",
    "django_tasks",
    "django_tasks_db",  # the task queue's database backend (webhook deliveries; manage.py worker runs it)
    "mcp_server",
    "axes",  # the admin login's lockout
]

MIDDLEWARE = [
    "todo_project.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its 429 answer
]

# Content-Security-Policy on every response: the admin and the API docs load only their own scripts
# and styles (Swagger UI comes from drf-spectacular-sidecar, its start script from a URL, not inline).
# Inline style attributes stay allowed: the admin and Swagger UI set some.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "todo_project.urls"
ADMIN_URL = os.environ.get("ADMIN_URL", "admin/").strip("/") + "/"  # move it off the well-known path

# Behind TLS (a proxy that sets X-Forwarded-Proto), DJANGO_HTTPS=true turns on HTTPS-only cookies,
# the redirect and HSTS; `manage.py check --deploy` is then clean.
HTTPS = get_bool_from_env("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^health"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = get_int_from_env("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = get_bool_from_env("SECURE_HSTS_PRELOAD", False)
    # Preloading is hard to undo, so it is opt-in; without it, its reminder is the one check silenced.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
WSGI_APPLICATION = "todo_project.wsgi.application"
ASGI_APPLICATION = "todo_project.asgi.application"

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

# Requests at once per server process on the sync path (the plain API: a thread each); the async path
# (todo_project/asgi.py) waits on the event loop instead.
THREADS = get_int_from_env("THREADS", 8)

# Database: SQLite in the project by default; DATABASE_URL=postgres://… uses psycopg 3 with
# Django's connection pool (which requires CONN_MAX_AGE = 0).
DATABASES = {
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Per worker process: a request of the sync path holds one connection while it runs (THREADS, default 8);
    # the async path takes one for each query and gives it back (todo_project.asynchronous.database). Size the total
    # (hosts * WEB_CONCURRENCY * max_size) under PostgreSQL's max_connections.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": get_int_from_env("DB_POOL_MIN_SIZE", 2),
        "max_size": get_int_from_env("DB_POOL_MAX_SIZE", 10),
        "timeout": get_int_from_env("DB_POOL_TIMEOUT", 10),
    }
    # Behind PgBouncer in transaction mode (e.g. Neon's -pooler host), server-side cursors break.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = get_bool_from_env("DB_DISABLE_SERVER_SIDE_CURSORS", False)
    # Prepared statements: values bound by the server, and a query run 5 times on a connection is
    # prepared there, so PostgreSQL stops planning the hot reads again on every request (bench/RESULTS.md).
    # Off for a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
    if get_bool_from_env("DB_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside a writer; IMMEDIATE makes writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The admin's login (the one password form here): after ADMIN_LOGIN_FAILURE_LIMIT failures from one
# address, or for one user name, further attempts are refused with 429 for ADMIN_LOGIN_COOLOFF_MINUTES,
# before any password is hashed (django-axes, attempts stored in the database). The address is the
# client's as the throttles see it (NUM_PROXIES).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = get_int_from_env("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=get_int_from_env("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "todo_project.throttling.client_address"

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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CORS_ALLOWED_ORIGINS = get_list(os.environ.get("CORS_ALLOWED_ORIGINS", "http://localhost:3000"))
CORS_ALLOW_CREDENTIALS = True
# The API's own request headers, and the response headers a browser client needs to read.
CORS_ALLOW_HEADERS = (
    *default_cors_headers,
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-request-id",
    "x-timezone",
)
CORS_EXPOSE_HEADERS = ["etag", "retry-after", "x-request-id", "idempotent-replayed", "content-disposition"]
# The admin's forms behind a proxy that rewrites Host (scheme://host[:port], comma-separated).
CSRF_TRUSTED_ORIGINS = get_list(os.environ.get("CSRF_TRUSTED_ORIGINS", ""))

# Better Auth's tokens, verified by djangorestframework-simplejwt (todo_project/auth.py): HS256 with the
# shared secret, and the jwt plugin's keys from its JWKS (through our cache, not simplejwt's JWK_URL).
BETTER_AUTH_URL = os.environ.get("BETTER_AUTH_URL", "").rstrip("/")
BETTER_AUTH_JWKS_URL = os.environ.get("BETTER_AUTH_JWKS_URL") or (
    f"{BETTER_AUTH_URL}/api/auth/jwks" if BETTER_AUTH_URL else ""
)
BETTER_AUTH_JWKS_TIMEOUT = get_int_from_env("BETTER_AUTH_JWKS_TIMEOUT", 3)
BETTER_AUTH_JWKS_MIN_REFRESH_SECONDS = 60
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": get_secret("BETTER_AUTH_SECRET", debug_default="insecure-development-secret-change-me-0123456789"),
    # Required and checked on the plugin's tokens; on HS256 tokens checked only when they carry them.
    "ISSUER": os.environ.get("BETTER_AUTH_ISSUER", BETTER_AUTH_URL) or None,
    "AUDIENCE": os.environ.get("BETTER_AUTH_AUDIENCE", BETTER_AUTH_URL) or None,
    "LEEWAY": get_int_from_env("JWT_LEEWAY_SECONDS", 30),  # on exp, nbf and iat
    "USER_ID_CLAIM": "sub",  # without it, the cookie-cache shape's user.id (auth.user_id_from_claims)
    "TOKEN_TYPE_CLAIM": None,  # Better Auth's tokens carry no token_type
    "JTI_CLAIM": None,  # nor a jti
    "TOKEN_USER_CLASS": "todo_project.auth.BetterAuthUser",
}
if _insecure_development_secrets and "pytest" not in sys.modules:
    sys.stderr.write(
        f"Note: {' and '.join(_insecure_development_secrets)} not set; using insecure development values "
        "(fine with DJANGO_DEBUG on, refused with it off).\n"
    )

# The chat assistant. With OPENAI_API_KEY the SDK's OpenAI model runs (Chat Completions by
# default, so any OpenAI-compatible server works through OPENAI_BASE_URL); without it, the
# offline model.
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
CHAT_MODEL = os.environ.get("CHAT_MODEL", "gpt-5-mini")
CHAT_API = os.environ.get("CHAT_API", "chat_completions").strip().lower()
if CHAT_API not in {"chat_completions", "responses"}:
    raise ImproperlyConfigured(f"CHAT_API must be chat_completions or responses, got {CHAT_API!r}.")
CHAT_HISTORY_LIMIT = get_int_from_env("CHAT_HISTORY_LIMIT", 50)
CHAT_MAX_MESSAGE_CHARS = get_int_from_env("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_TIMEOUT_SECONDS = get_int_from_env("CHAT_TIMEOUT_SECONDS", 60)
CHAT_MAX_RETRIES = get_int_from_env("CHAT_MAX_RETRIES", 2)
CHAT_MAX_TURNS = get_int_from_env("CHAT_MAX_TURNS", 10)
CHAT_RATE = os.environ.get("CHAT_RATE", "20/min")
# What one turn may do unasked (chat/tools.py): complete or delete this many tasks, beyond which the user
# confirms in their next message; and send the model at most this much of one tool's result.
CHAT_MAX_DESTRUCTIVE_PER_TURN = get_int_from_env("CHAT_MAX_DESTRUCTIVE_PER_TURN", 5)
CHAT_TOOL_RESULT_CHARS = get_int_from_env("CHAT_TOOL_RESULT_CHARS", 16000)
# Chat turns (and chat streams, ChatKit turns) one worker process runs at once, and one user runs at once in
# it: they wait on the event loop (the async path, todo_project/asgi.py), not on a thread, so the bound is
# memory and the provider's rate, not THREADS. Beyond either a turn is a 503 with Retry-After (todo_project/slots.py).
CHAT_TURNS_PER_WORKER = get_int_from_env("CHAT_TURNS_PER_WORKER", 256)
CHAT_TURNS_PER_USER = get_int_from_env("CHAT_TURNS_PER_USER", 3)
# Heavy requests (bulk create, bulk-update, import, export): this many at once in a worker process
# (503 beyond), and this many per user in it (429 beyond), both with Retry-After and before anything is written.
HEAVY_REQUESTS_PER_WORKER = get_int_from_env("HEAVY_REQUESTS_PER_WORKER", max(1, THREADS // 2))
HEAVY_REQUESTS_PER_USER = get_int_from_env("HEAVY_REQUESTS_PER_USER", 1)
# PostgreSQL: how long a bulk-update waits for rows another request holds before it answers 409 with
# Retry-After, nothing written (tasks/services/bulk.py); 0 waits as long as it takes.
BULK_LOCK_TIMEOUT_MS = get_int_from_env("BULK_LOCK_TIMEOUT_MS", 2000)

# A cache shared by every worker (the throttles count there): Redis when REDIS_URL is set (as on
# every development and CI machine of this project), else a table in the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}
}
API_RATE = os.environ.get("API_RATE", "1200/min")
# The OpenAPI schema (/api/schema/) is public: per client address (REMOTE_ADDR).
SCHEMA_RATE = os.environ.get("SCHEMA_RATE", "60/min")

# Tasks: deleted tasks stay restorable (and visible to sync as tombstones) this many days, until
# `manage.py purge_tasks` removes them; a repeated Idempotency-Key replays its first response this long.
TASK_TRASH_DAYS = get_int_from_env("TASK_TRASH_DAYS", 30)
IDEMPOTENCY_KEY_TTL = timedelta(hours=get_int_from_env("IDEMPOTENCY_KEY_TTL_HOURS", 24))

# Events (the events app): every change is an event in the outbox, written in the change's transaction;
# EVENTS_SOURCE is their CloudEvents `source`.
EVENTS_SOURCE = os.environ.get("EVENTS_SOURCE", "/todo-backend")
# The worker (manage.py worker) relays them to NATS JetStream at EVENTS_URL (unset: they stay in the outbox),
# into EVENTS_STREAM, on the subjects EVENTS_SUBJECT_PREFIX + task-events / task-updates / reminders.
EVENTS_URL = os.environ.get("EVENTS_URL", "")
EVENTS_STREAM = os.environ.get("EVENTS_STREAM", "TODO")
EVENTS_SUBJECT_PREFIX = os.environ.get("EVENTS_SUBJECT_PREFIX", "")
EVENTS_POLL_SECONDS = float(os.environ.get("EVENTS_POLL_SECONDS", "0.2"))
# Published events (all events, without a broker) are deleted this long after.
EVENTS_RETENTION = timedelta(hours=get_int_from_env("EVENTS_RETENTION_HOURS", 168))
# The live stream (GET /api/<user_id>/events, events/live.py): each server process looks for new events of
# the users it streams to every EVENTS_STREAM_POLL_SECONDS (one query for all of them), and sends a
# heartbeat comment after EVENTS_STREAM_HEARTBEAT_SECONDS of silence.
EVENTS_STREAM_POLL_SECONDS = float(os.environ.get("EVENTS_STREAM_POLL_SECONDS", "0.25"))
EVENTS_STREAM_HEARTBEAT_SECONDS = float(os.environ.get("EVENTS_STREAM_HEARTBEAT_SECONDS", "15"))
# A stream ends (`end`, reason "reconnect") after this long, so that reconnecting clients spread over the
# processes (a new worker after a restart or a scale-out gets its share); the client resumes from Last-Event-ID.
EVENTS_STREAM_MAX_SECONDS = float(os.environ.get("EVENTS_STREAM_MAX_SECONDS", "3600"))
# Streams open at once in one server process (503 beyond), and for one user in it (429 beyond: a tab each).
EVENTS_STREAMS_PER_WORKER = get_int_from_env("EVENTS_STREAMS_PER_WORKER", 5000)
EVENTS_STREAMS_PER_USER = get_int_from_env("EVENTS_STREAMS_PER_USER", 10)

# Background tasks (django-tasks, the backport of Django 6's Tasks API) in the database: no other
# service, and several workers share the queue on PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Webhooks (the webhooks app): the worker POSTs each event to the user's webhooks, WEBHOOK_DELIVERY_THREADS
# at a time, each attempt given WEBHOOK_TIMEOUT_SECONDS; a failed one is retried after
# WEBHOOK_BACKOFF_SECONDS * 4^(n-1) (at most WEBHOOK_BACKOFF_CAP_SECONDS, ±25 %), WEBHOOK_MAX_ATTEMPTS
# in all: about 27 hours with the defaults. Targets on loopback or private addresses are refused unless
# WEBHOOK_ALLOW_PRIVATE_TARGETS (development, tests): never in production.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "5"))
WEBHOOK_BACKOFF_CAP_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_CAP_SECONDS", str(10 * 3600)))
WEBHOOK_MAX_ATTEMPTS = get_int_from_env("WEBHOOK_MAX_ATTEMPTS", 10)
WEBHOOK_DELIVERY_THREADS = get_int_from_env("WEBHOOK_DELIVERY_THREADS", 4)
WEBHOOK_ALLOW_PRIVATE_TARGETS = get_bool_from_env("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["todo_project.auth.BetterAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "todo_project.permissions.IsPathUser",
    ],
    "DEFAULT_PARSER_CLASSES": ["todo_project.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "todo_project.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["todo_project.throttling.ApiRateThrottle"],
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405 (CORS preflights are answered before the views)
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,  # ?format= is the export's parameter
    # Proxies in front that append to X-Forwarded-For; 0: the client's address is REMOTE_ADDR (a header
    # the client writes itself never decides it).
    "NUM_PROXIES": get_int_from_env("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Todo backend API",
    "DESCRIPTION": "Tasks and an AI assistant for a Better Auth frontend. "
    "Every route but /health needs `Authorization: Bearer <jwt>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["todo_project.schema.strip_optional_trailing_slash"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "todo_project.schema.describe_request_rules",
        "todo_project.schema.describe_links",
        "todo_project.schema.describe_events",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# JSON lines in production (one per request from todo_project.middleware), plain text in debug.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "todo_project.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # The request line says it all; Django's own 4xx warnings would repeat it.
        "django.request": {"level": "ERROR"},
        "todo.requests": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
        # Chatty libraries; the MCP SDK announces each /mcp request's session in three INFO lines, django-axes
        # its version at every start, django-tasks each task's enqueueing, start and end (webhooks.delivery
        # logs each attempt's outcome once).
        **{
            name: {"level": "WARNING"}
            for name in [
                "httpx",
                "httpx2",
                "openai",
                "openai.agents",
                "mcp.server",
                "axes.apps",
                "django_tasks",
                "django_tasks_db",
            ]
        },
    },
}

# Limits: bodies over MAX_REQUEST_BODY_BYTES are refused with 413 before anything reads them.
MAX_REQUEST_BODY_BYTES = get_int_from_env("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# An import (POST /api/<user_id>/tasks/import) may be larger: a whole export.
IMPORT_MAX_BYTES = get_int_from_env("IMPORT_MAX_BYTES", 10 * 1024 * 1024)
# ...and at most this many tasks (rows of a CSV, items of a JSON array): more is a 400, nothing imported.
IMPORT_MAX_ROWS = get_int_from_env("IMPORT_MAX_ROWS", 10_000)

# Quotas: what one user may keep. Beyond one, a write is refused with 409 and changes nothing.
MAX_TASKS_PER_USER = get_int_from_env("MAX_TASKS_PER_USER", 10_000)  # live and in the trash (until purged)
MAX_TAGS_PER_USER = get_int_from_env("MAX_TAGS_PER_USER", 1_000)
MAX_CONVERSATIONS_PER_USER = get_int_from_env("MAX_CONVERSATIONS_PER_USER", 1_000)
MAX_MESSAGES_PER_CONVERSATION = get_int_from_env("MAX_MESSAGES_PER_CONVERSATION", 2_000)
