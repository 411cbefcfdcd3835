"""Settings shared by every environment. Values that differ per machine come from the environment."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent  # src/civicgrid
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("CIVICGRID_VAR_DIR", PROJECT_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "civicgrid.core",
    "civicgrid.audit",
    "civicgrid.geo",
    "civicgrid.accounts",
    "civicgrid.cases",
    "civicgrid.open311",
    "civicgrid.web",
    "civicgrid.notify",
    "civicgrid.hotspots",
    "civicgrid.metrics",
    "civicgrid.ingest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "civicgrid.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "civicgrid.core.middleware.RateLimitMiddleware",
    "civicgrid.core.middleware.ApiInputGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "civicgrid.urls"
WSGI_APPLICATION = "civicgrid.wsgi.application"

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
            ],
        },
    },
]


def _database_from_env() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        db: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
        )
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "civicgrid.sqlite3")}
    if db["ENGINE"].endswith("sqlite3"):
        # IMMEDIATE takes the write lock at BEGIN, so two writers serialise instead of one
        # failing mid-transaction; WAL lets readers go on while one writes.
        db.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    return db


DATABASES = {"default": _database_from_env()}
# A read replica (docs/deploy.md): reads marked replica-safe (case lists and details) go there
# when outside a transaction; writes and all other reads go to the primary. Tests mirror it.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **dj_database_url.parse(
            os.environ["DATABASE_REPLICA_URL"],
            conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        ),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["civicgrid.core.routers.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes): a username+IP pair is locked out after AXES_FAILURE_LIMIT
# failed sign-ins, for AXES_COOLOFF_TIME hours. docs/security.md.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("CIVICGRID_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_COOLOFF_MESSAGE = _("Too many failed sign-ins. Wait a quarter of an hour and try again.")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = PROJECT_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("CIVICGRID_MEDIA_ROOT", VAR_DIR / "media"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Domain settings, each overridable per deployment.
CIVICGRID: dict[str, Any] = {
    # Duplicate suggestions: same category, within this distance and time.
    "DUPLICATE_RADIUS_M": 100,
    "DUPLICATE_WINDOW_HOURS": 24 * 7,
    # How long after closure the reporter may reopen a case that is not really fixed.
    "REOPEN_WINDOW_DAYS": 7,
    # A case is "near due" when less than this share of its SLA time is left.
    "NEAR_DUE_FRACTION": 0.2,
    # Working hours for SLA policies counted in working hours (local time).
    "WORKDAY_START": "09:00",
    "WORKDAY_END": "17:00",
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "UPLOAD_MAX_PIXELS": 40_000_000,
    # How often the scheduler sweeps deadlines.
    "DEADLINE_SWEEP_SECONDS": 60,
    # A task RUNNING longer than this lost its worker (killed, out of memory, machine gone):
    # the requeue_stale_tasks job runs it again, up to TASK_MAX_ATTEMPTS claims in all, then
    # marks it failed. Keep it well above the longest task.
    "TASK_RUNNING_LIMIT_SECONDS": 600,
    "TASK_MAX_ATTEMPTS": 3,
    # Basemap for maps; empty means no tiles (offline).
    "BASEMAP_TILE_URL": os.environ.get("CIVICGRID_BASEMAP_TILE_URL", ""),
    # More periodic jobs, (name, task path, every seconds), read by civicgrid.core.scheduler.jobs().
    "EXTRA_JOBS": [
        ("retry_notifications", "civicgrid.notify.tasks.retry_notifications", 60),
        ("refresh_hotspots", "civicgrid.hotspots.tasks.refresh_hotspots", 3600),
        ("flag_missed_rechecks", "civicgrid.hotspots.tasks.flag_missed_rechecks", 3600),
        ("reconcile_rollups", "civicgrid.metrics.tasks.reconcile_rollups", 600),
        ("requeue_stale_tasks", "civicgrid.core.tasks.requeue_stale_tasks", 60),
    ],
    # Public doors: limit requests per window per client (civicgrid.core.ratelimit).
    "RATE_LIMITS": {
        "ENABLED": os.environ.get("CIVICGRID_RATE_LIMITS", "1") == "1",
        "RULES": {
            "report": {"limit": 20, "window": 600},  # new cases from one client
            "upload": {"limit": 60, "window": 600},
            "public_action": {"limit": 30, "window": 600},  # support, feedback, reopen
            "public_read": {"limit": 300, "window": 60},  # tracking, Open311 reads, QR pages
        },
        # (view name or URL route pattern, methods, rule); first match wins.
        "ROUTES": [
            ("api/cases", "POST", "report"),
            ("report/", "POST", "report"),
            ("open311/v2/requests*", "POST", "report"),
            ("api/cases/uploads", "POST", "upload"),
            ("api/public/*", "POST", "public_action"),
            ("track/*", "POST", "public_action"),
            ("api/public/*", "GET", "public_read"),
            ("track/*", "GET", "public_read"),
            ("open311:*", "GET", "public_read"),
            ("shops:*", "POST", "report"),
            ("shops:*", "GET", "public_read"),
            ("qr:*", "POST", "report"),
            ("qr:*", "GET", "public_read"),
        ],
        "STAFF_FACTOR": 20,
        # Reverse proxies in front that append to X-Forwarded-For (0: trust REMOTE_ADDR only).
        "PROXY_COUNT": int(os.environ.get("CIVICGRID_PROXY_COUNT", "0")),
    },
    # Content-Security-Policy (civicgrid.core.middleware); "'nonce'" becomes the request's nonce.
    "CSP": {
        "ENABLED": True,
        "REPORT_ONLY": False,
        "DIRECTIVES": {
            "default-src": ["'self'"],
            "script-src": ["'self'", "'nonce'"],
            # htmx and MapLibre set inline styles; scripts stay nonce-only.
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:", "blob:"],
            "connect-src": ["'self'"],
            "worker-src": ["'self'", "blob:"],
            "child-src": ["blob:"],
            "font-src": ["'self'", "data:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        },
        # The API's Swagger page loads its own scripts; it holds no data.
        "EXEMPT_PATHS": ["/api/docs"],
        "PERMISSIONS_POLICY": "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()",
    },
}
# Notifications (docs/notifications.md): a backend per channel; the console backend prints.
CIVICGRID_NOTIFY: dict[str, Any] = {
    "BACKENDS": {
        "sms": os.environ.get("CIVICGRID_NOTIFY_SMS", "civicgrid.notify.backends.ConsoleBackend"),
        "wecom": os.environ.get(
            "CIVICGRID_NOTIFY_WECOM", "civicgrid.notify.backends.ConsoleBackend"
        ),
        "email": os.environ.get(
            "CIVICGRID_NOTIFY_EMAIL", "civicgrid.notify.backends.ConsoleBackend"
        ),
    },
    "OPTIONS": {
        "sms": {
            "endpoint": os.environ.get("CIVICGRID_SMS_ENDPOINT", ""),
            "token": os.environ.get("CIVICGRID_SMS_TOKEN", ""),
            "sign": os.environ.get("CIVICGRID_SMS_SIGN", ""),
        },
        "wecom": {
            "webhook_url": os.environ.get("CIVICGRID_WECOM_WEBHOOK_URL", ""),
            "corp_id": os.environ.get("CIVICGRID_WECOM_CORP_ID", ""),
            "secret": os.environ.get("CIVICGRID_WECOM_SECRET", ""),
            "agent_id": os.environ.get("CIVICGRID_WECOM_AGENT_ID", ""),
        },
    },
    "SITE_URL": os.environ.get("CIVICGRID_SITE_URL", ""),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
