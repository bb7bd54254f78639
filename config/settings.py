"""Settings for community-grants: every value comes from the environment and a bad one stops start-up."""

from __future__ import annotations

import importlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the environment directly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "captcha",
    "viewflow",
    "viewflow.workflow",
    "grants",
    "workflows",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.bell",
            ],
        },
    },
]

# SQLite in the project folder is the embedded default; production and CI set PostgreSQL.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the demo database without lock errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    # Attachments are private: stored outside the static root and served only through a permission check.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        # Not the manifest variant: viewflow's bundled CSS names font files its wheel does not ship,
        # which makes manifest post-processing (collectstatic) fail.
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# Email: EMAIL_URL such as smtp://user:pass@host:587 or consolemail://; the console is the demo default.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="community-grants@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Text messages: a provider class; the console one logs (demo), the HTTP one posts JSON to SMS_HTTP_URL.
SMS_PROVIDER = env.str("SMS_PROVIDER", default="notifications.channels.ConsoleSmsProvider")
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")
if SMS_PROVIDER.endswith("HttpSmsProvider") and not SMS_HTTP_URL:
    raise ImproperlyConfigured("SMS_HTTP_URL must be set to use the HTTP text message provider.")

# Celery: the filesystem transport is the embedded broker that needs no server (demo); Redis elsewhere.
CELERY_DATA_DIR = env.path("CELERY_DATA_DIR", default=BASE_DIR / "var" / "celery")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        Path(CELERY_DATA_DIR, sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(Path(CELERY_DATA_DIR, "queue")),
        "data_folder_out": str(Path(CELERY_DATA_DIR, "queue")),
        "processed_folder": str(Path(CELERY_DATA_DIR, "processed")),
        # Broadcast (remote control) files; kombu's default is a relative "control" folder in the cwd.
        "control_folder": str(Path(CELERY_DATA_DIR, "control")),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "memory://")):
    raise ImproperlyConfigured(f"CELERY_BROKER_URL has an unsupported scheme: {CELERY_BROKER_URL!r}")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection for this many tasks instead of reconnecting around every task
# (bench/notifications_drain.py, 2 workers: 61 deliveries/s reconnecting, 115/s reusing).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Declared in one place; django-celery-beat copies them into the database, where admins may retime them.
CELERY_BEAT_SCHEDULE = importlib.import_module("notifications.schedules").BEAT_SCHEDULE

# Security: strict unless DEBUG. SECURE_SSL_REDIRECT can be turned off behind a TLS-terminating proxy.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Demo users' password (seed_demo); never used outside the demo command.
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")

# --- REST API (/api/v1/) ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Partner platforms send a token; people trying the API in the browser use their login session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies; the endpoints that take a file or a login form say so themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "grants.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "grants.api.errors.exception_handler",
    "DATE_INPUT_FORMATS": ["iso-8601"],
    # Token requests per address and username (password guessing); counted in the default cache.
    "DEFAULT_THROTTLE_RATES": {"auth_token": env.str("API_TOKEN_RATE", default="10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "community-grants API",
    "DESCRIPTION": "Applications, their actions and tasks, and fund statements, for partner platforms.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationState": "grants.states.State",
        "AttachmentKind": "grants.models.Attachment.Kind",
        "BeneficiaryKind": "grants.models.BeneficiaryGroup.Kind",
        "BudgetLineCategory": "grants.models.BudgetLine.Category",
        "LedgerEntryKind": "grants.models.LedgerEntry.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "grants.api.schema.add_error_responses",
    ],
}

# --- Public page (/public/) ------------------------------------------------------------------------------
# The cache holds the rate limits' counters. Several web processes must share one (CACHE_URL=redis://host:6379/1);
# the in-process default counts per process, so N processes allow N times the rate.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
RATELIMIT_USE_CACHE = "default"
# Behind a reverse proxy REMOTE_ADDR is the proxy: name the header that carries the client (e.g. HTTP_X_REAL_IP).
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="") or None
# Per client address, as django-ratelimit reads them ("5/h", "20/10m"): objections filed, donation look-ups.
PUBLIC_OBJECTION_RATE = env.str("PUBLIC_OBJECTION_RATE", default="5/h")
PUBLIC_TRACE_RATE = env.str("PUBLIC_TRACE_RATE", default="10/h")
for _name in ("PUBLIC_OBJECTION_RATE", "PUBLIC_TRACE_RATE"):
    _count, _slash, _period = vars()[_name].partition("/")
    if not (_count.isdigit() and int(_count) > 0 and _period[-1:] in ("s", "m", "h", "d")
            and (_period[:-1] == "" or _period[:-1].isdigit())):
        raise ImproperlyConfigured(f"{_name} must look like 5/h or 20/10m, not {vars()[_name]!r}.")
# Open data (360Giving): grant identifiers are 360G-<prefix>-<application id>; register the prefix with 360Giving.
OPEN_DATA_PREFIX = env.str("OPEN_DATA_PREFIX", default="cn-redcross")
if not (OPEN_DATA_PREFIX[:1].isalnum() and OPEN_DATA_PREFIX.isascii()
        and all(char.isalnum() or char in "-_" for char in OPEN_DATA_PREFIX)) or OPEN_DATA_PREFIX.startswith("360G"):
    raise ImproperlyConfigured(f"OPEN_DATA_PREFIX must be ASCII letters, digits, - or _ (without 360G-), not "
                               f"{OPEN_DATA_PREFIX!r}.")
OPEN_DATA_LICENSE = env.url("OPEN_DATA_LICENSE", default="https://creativecommons.org/licenses/by/4.0/").geturl()

# --- Attachments ------------------------------------------------------------------------------------------
# Size limits in bytes: per document, and for all the documents of one application together.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_TOTAL_BYTES = env.int("ATTACHMENT_MAX_TOTAL_BYTES", default=50 * 1024 * 1024)
if not 0 < ATTACHMENT_MAX_BYTES <= ATTACHMENT_MAX_TOTAL_BYTES < 2**31:
    raise ImproperlyConfigured("Need 0 < ATTACHMENT_MAX_BYTES <= ATTACHMENT_MAX_TOTAL_BYTES < 2 GiB.")
# Attachments are private: WhiteNoise serves everything under STATIC_ROOT, so the two folders must not nest.
_media, _static = Path(MEDIA_ROOT).resolve(), Path(STATIC_ROOT).resolve()
if _media.is_relative_to(_static) or _static.is_relative_to(_media):
    raise ImproperlyConfigured("MEDIA_ROOT and STATIC_ROOT must be separate folders: attachments are private.")

# --- Printable documents (PDF) ----------------------------------------------------------------------------
# A TrueType font with Chinese glyphs, embedded in the grant agreement and completion certificate; `run.py
# setup` installs the default (Debian's fonts-wqy-microhei). A .ttc collection is read at its first font.
# reportlab embeds TrueType outlines only: OpenType/CFF fonts such as Noto Sans CJK do not work.
PDF_FONT_PATH = env.str("PDF_FONT_PATH", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
