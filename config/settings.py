"""Settings. The environment is read here and only here (see config/env.py and .env.example)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    derived_dev_key,
    env,
    parse_encryption_keys,
    positive_float,
    positive_int,
    require,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Variables already in the environment win over the file. ENV_FILE names another file.
env_file = Path(env.str("ENV_FILE", default="") or BASE_DIR / ".env")
if env_file.exists():
    env.read_env(str(env_file))
elif "ENV_FILE" in env.ENVIRON:
    raise ImproperlyConfigured(f"ENV_FILE names a file that does not exist: {env_file}")

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("TESTING", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG or TESTING:
    SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
else:
    require("SECRET_KEY", SECRET_KEY, "a long random string; DEBUG is off")
    require("ALLOWED_HOSTS", ALLOWED_HOSTS, "comma-separated host names; DEBUG is off")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here instead of a CDN
    "channels",
    "frontend",  # before allauth: its templates give the sign-in pages the dashboard look
    "allauth",
    "allauth.account",
    "django_htmx",
    "assistants",
    "sessions.apps.VoiceSessionsConfig",
    "integrations",
    "voicebridge",
    "django_tasks",
    "django_tasks_db",
    "webhooks",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "frontend.context.dashboard",
            ],
        },
    },
]

# Database: SQLite unless DATABASE_URL is set.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every HTTP request runs its sync code on a thread of its own, so a persistent
    # connection (CONN_MAX_AGE > 0) is one more server connection per request until garbage
    # collection: 200 sessions created at once exhausted PostgreSQL's 100 (docs/PERFORMANCE.md).
    # A pool per process instead: a thread borrows a connection and gives it back at close.
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "CONN_MAX_AGE must be 0 with PostgreSQL: connections come from a pool per process"
            " (DB_POOL_MAX_SIZE)"
        )
    # A database that is down must surface in seconds (a 503, a storage_unavailable event),
    # not after a long wait for a connection that never comes.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "connect_timeout": positive_int("DB_CONNECT_TIMEOUT_SECONDS", 2),
        "pool": {
            "min_size": 1,
            "max_size": positive_int("DB_POOL_MAX_SIZE", 10),
            # seconds a thread waits for a free (or a new) connection before an error
            "timeout": positive_float("DB_POOL_TIMEOUT_SECONDS", 2.0),
        },
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis switches the channel layer and the cache; without it, both are in-process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # socket_timeout None: redis-py's default timeout drops idle consumers.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "capacity": 1500,
                "expiry": 60,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="vp"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="none")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"  # the dashboard (frontend/)
# Self-signup: off unless the operator opens it; owners get an account from create_organization.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)
ACCOUNT_ADAPTER = "assistants.accounts.AccountAdapter"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# For the SMTP backend (django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = env.str("EMAIL_HOST", default="") or "localhost"
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="") or "webmaster@localhost"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The server process serves static files (the admin's) itself; with DEBUG on WhiteNoise finds
# them in the apps, so development needs no collectstatic.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["assistants.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["assistants.api.permissions.HasOrganization"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "assistants.api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["assistants.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["assistants.api.throttling.OrganizationRateThrottle"],
    "EXCEPTION_HANDLER": "assistants.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "assistants.api.metadata.EndpointMetadata",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Voice Platform API",
    "DESCRIPTION": "Multi-tenant voice assistants: assistants, live sessions, transcripts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # /api/v1/docs/ loads Swagger UI from our own static files: it works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Fixed names for choice sets that share a field name, so none is renamed by another.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "assistants.models.ApiKey.Kind",
        "StatusEnum": "sessions.models.Session.Status",
        "NotionConnectionKindEnum": "integrations.models.NotionConnection.Kind",
        "NotionConnectionStatusEnum": "integrations.models.NotionConnection.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "assistants.api.schema.document_errors",
    ],
}

# Secrets at rest.
_keys = parse_encryption_keys(env.str("FIELD_ENCRYPTION_KEY", default=""))
if not _keys:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set when DEBUG is off; make one with "
            "`python manage.py generate_field_key`"
        )
    _keys = [derived_dev_key(SECRET_KEY)]
FIELD_ENCRYPTION_KEYS: list[bytes] = _keys

# Providers: organization credentials override these; base URLs allow OpenAI-compatible servers.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="")
ELEVENLABS_BASE_URL = env.str("ELEVENLABS_BASE_URL", default="")
NOTION_CLIENT_ID = env.str("NOTION_CLIENT_ID", default="")
NOTION_CLIENT_SECRET = env.str("NOTION_CLIENT_SECRET", default="")
NOTION_REDIRECT_URI = env.str("NOTION_REDIRECT_URI", default="")
NOTION_API_BASE_URL = env.str("NOTION_API_BASE_URL", default="")
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=30.0)
# An organization's own base URL (set by a superuser) may point at loopback, private or
# link-local addresses only when this is on (integrations/credentials.py: SSRF).
PROVIDER_BASE_URLS_ALLOW_PRIVATE = env.bool("PROVIDER_BASE_URLS_ALLOW_PRIVATE", default=False)
# An assistant's custom tools run on its organization's server (integrations/tools/custom.py):
# their URLs may reach loopback, private or link-local addresses only when this is on.
CUSTOM_TOOLS_ALLOW_PRIVATE_URLS = env.bool("CUSTOM_TOOLS_ALLOW_PRIVATE_URLS", default=False)
CUSTOM_TOOL_MAX_TIMEOUT_SECONDS = positive_int("CUSTOM_TOOL_MAX_TIMEOUT_SECONDS", 30)
# Set by `python -m config.server --simulate-missing-providers` (make run) for the providers
# its local simulators stand in for; every session's `connected` event says so.
SIMULATED_PROVIDERS: list[str] = env.list("SIMULATED_PROVIDERS", default=[])
if not set(SIMULATED_PROVIDERS) <= {"openai", "elevenlabs"}:
    raise ImproperlyConfigured("SIMULATED_PROVIDERS may name only openai and elevenlabs")

# API keys: active keys an organization may hold (its rate limit is shared by all of them).
MAX_ACTIVE_API_KEYS_PER_ORGANIZATION = positive_int("MAX_ACTIVE_API_KEYS_PER_ORGANIZATION", 20)

# Live sessions.
WS_TOKEN_TTL_SECONDS = positive_int("WS_TOKEN_TTL_SECONDS", 300)
WS_MESSAGES_PER_SECOND = positive_int("WS_MESSAGES_PER_SECOND", 50)
# From a reply's request to the model's first token, retries included: past it the turn fails
# with provider_unavailable (the user's message is kept) instead of hanging.
LLM_FIRST_TOKEN_TIMEOUT_SECONDS = positive_float("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", 10.0)

# Sessions left alone end on their own (sessions/expiry.py): "expired-unused" when created and
# never used, "expired-idle" when used and then idle. A new session's token must not outlive
# it, and a live connection marks its session used every 30 s, so neither limit may be short.
SESSION_UNUSED_TTL_SECONDS = positive_int("SESSION_UNUSED_TTL_SECONDS", 3600)
if SESSION_UNUSED_TTL_SECONDS < WS_TOKEN_TTL_SECONDS:
    raise ImproperlyConfigured(
        "SESSION_UNUSED_TTL_SECONDS must be at least WS_TOKEN_TTL_SECONDS"
        f" ({WS_TOKEN_TTL_SECONDS}), got {SESSION_UNUSED_TTL_SECONDS}"
    )
SESSION_IDLE_TTL_SECONDS = positive_int("SESSION_IDLE_TTL_SECONDS", 900)
if SESSION_IDLE_TTL_SECONDS < 120:
    raise ImproperlyConfigured(
        "SESSION_IDLE_TTL_SECONDS must be at least 120 (a live connection marks its session"
        f" used every 30 s), got {SESSION_IDLE_TTL_SECONDS}"
    )
# List prices in US dollars (strings: exact Decimals) that turn each stored message's usage into
# its cost (integrations/pricing.py). LLM: per 1M input and output tokens; TTS: per 1M characters;
# STT: per minute of audio. A model not listed costs its kind's "default". Operators override any
# row in the admin (Integrations > Prices) without a deploy.
PRICES: dict[str, dict[str, dict[str, str]]] = {
    "llm": {
        "gpt-4o-mini": {"input": "0.15", "output": "0.60"},
        "gpt-4o": {"input": "2.50", "output": "10.00"},
        "gpt-4.1-mini": {"input": "0.40", "output": "1.60"},
        "default": {"input": "2.50", "output": "10.00"},
    },
    "tts": {
        "eleven_flash_v2_5": {"input": "50.00"},
        "eleven_turbo_v2_5": {"input": "50.00"},
        "eleven_multilingual_v2": {"input": "100.00"},
        "default": {"input": "100.00"},
    },
    "stt": {
        "gpt-4o-mini-transcribe": {"input": "0.003"},
        "whisper-1": {"input": "0.006"},
        "scribe_v1": {"input": "0.006667"},
        # Scribe v2 Realtime (streaming transcription): $0.39 an hour pay-as-you-go, as reported
        # at its launch (November 2025); billed per minute of audio streamed, like the others.
        "scribe_v2_realtime": {"input": "0.0065"},
        "default": {"input": "0.006"},
    },
}
# How often each server process ends expired sessions; 0: never (run `manage.py
# expire_sessions` from a scheduler instead).
SESSION_EXPIRY_INTERVAL_SECONDS = env.int("SESSION_EXPIRY_INTERVAL_SECONDS", default=60)
if SESSION_EXPIRY_INTERVAL_SECONDS < 0:
    raise ImproperlyConfigured(
        "SESSION_EXPIRY_INTERVAL_SECONDS must be 0 (off) or a positive number of seconds,"
        f" got {SESSION_EXPIRY_INTERVAL_SECONDS}"
    )

METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "config.logs.ContextFilter"},
        "redact": {"()": "config.logs.RedactingFilter"},
    },
    "formatters": {
        "text": {
            "()": "config.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
# Background tasks (Django's task framework, the django-tasks backport): stored in the database
# by django-tasks-db, so a task enqueued in a transaction commits or rolls back with it. The
# worker is `manage.py db_worker` (make run starts one; docker-compose has a `worker` service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Webhooks (webhooks/, docs/WEBHOOKS.md). Retry delays in seconds, each the cap of a fully
# jittered wait (uniform between 0 and it); a delivery is tried once plus once per delay.
_schedule = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS",
    default=["5", "30", "120", "600", "1800", "3600", "10800", "21600", "43200"],
)
try:
    WEBHOOK_RETRY_SCHEDULE_SECONDS: list[float] = [float(v) for v in _schedule]
except ValueError:
    raise ImproperlyConfigured(
        f"WEBHOOK_RETRY_SCHEDULE_SECONDS must be comma-separated seconds, got {_schedule!r}"
    ) from None
if any(v < 0 for v in WEBHOOK_RETRY_SCHEDULE_SECONDS):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE_SECONDS must not be negative")
WEBHOOK_TIMEOUT_SECONDS = positive_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
# An endpoint whose deliveries have all failed for this long is disabled when a delivery has
# used up its retries (its owners get an email).
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=24 * 3600)
if WEBHOOK_DISABLE_AFTER_SECONDS < 0:
    raise ImproperlyConfigured("WEBHOOK_DISABLE_AFTER_SECONDS must not be negative")
# Tenant-set webhook URLs never reach loopback, private or link-local addresses unless this is on.
WEBHOOK_URLS_ALLOW_PRIVATE = env.bool("WEBHOOK_URLS_ALLOW_PRIVATE", default=False)
# Several server processes on one host share their metrics through this directory.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR must be an existing directory")

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Probes and scrapers talk plain HTTP to the process, behind the TLS-terminating proxy.
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
