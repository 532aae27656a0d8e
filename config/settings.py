"""Arbiter settings: one file, every value read from the environment (twelve-factor).

A `.env` file in the project root is read if present. With nothing set, Arbiter runs for development:
SQLite under `var/`, files under `var/media`, Celery tasks in-process, development mode and a generated secret.
Every variable is listed, with its default, in README's configuration table.
"""

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _dev_secret_key() -> str:
    """A random key kept in var/ so sessions survive restarts of the development server."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


# Development mode unless DEBUG=0: a generated secret, local host names, static files from the source tree, no
# HTTPS-only cookies. Django's debug pages (tracebacks, the URL list on a 404) only when DEBUG=1 is set
# explicitly: `make run` shows the app's own 404 and 500 pages, as production does.
DEVELOPMENT = env.bool("DEBUG", default=True)
DEBUG = env.bool("DEBUG", default=False)

if DEVELOPMENT:
    SECRET_KEY = env("SECRET_KEY", default=None) or _dev_secret_key()
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not SECRET_KEY:
        raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a long random value.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG is off: set ALLOWED_HOSTS to the host names Arbiter is served on.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "csp",
    "health_check",
    "django_prometheus",
    "registry",
    "governance",
    "governance.sso",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "registry.middleware.NulCharacterMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "governance.audit.RequestContextMiddleware",
    "config.logs.RequestLogMiddleware",
    "registry.middleware.DomainErrorMiddleware",
    "registry.middleware.UnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
                "csp.context_processors.nonce",
                "registry.context_processors.navigation",
                "governance.context_processors.governance_navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'arbiter.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's PostgreSQL backend, counting queries, their durations and errors for /metrics.
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# The few statements every API request runs (token lookup, roles, alias and model reads) are prepared once per
# connection (registry/rawsql.py). Turn off behind a transaction-pooling proxy without prepared-statement support.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication and permissions ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "governance.sso.backends.PasswordBackend",
    "governance.sso.provider.OidcBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "registry:catalog"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None  # no anonymous guardian user: every read needs a signed-in user

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False

# Single sign-on with an OpenID Connect provider (docs/sso.md): off unless OIDC_ISSUER is set. The provider's
# endpoints come from its discovery document; the ID token's signature (JWKS), issuer, audience, expiry and
# nonce are checked, and the flow uses PKCE and state.
OIDC_ISSUER = env("OIDC_ISSUER", default="").rstrip("/")
OIDC_RP_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env("OIDC_SIGN_ALGO", default="RS256")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_USERNAME_CLAIM = env("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="your organisation")
# JSON, {"provider group": {"roles": [...], "teams": [team slugs], "committees": [committee slugs]}}, loaded
# by `manage.py sso_group_map` into the mapping administrators manage on the Sign-in page.
OIDC_GROUP_MAP = env.json("OIDC_GROUP_MAP", default={})
OIDC_REQUIRE_MAPPED_GROUP = env.bool("OIDC_REQUIRE_MAPPED_GROUP", default=False)
OIDC_USE_PKCE = True
OIDC_TOKEN_USE_BASIC_AUTH = True  # client_secret_basic, every provider's default
OIDC_STORE_ID_TOKEN = True  # the hint for the provider's sign-out (RP-initiated logout)
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:oidc-callback"
# Local passwords: with 0 only break-glass administrators (flagged on the Sign-in page) may use one.
PASSWORD_LOGIN = env.bool("PASSWORD_LOGIN", default=True)

# API tokens
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
# The longest lifetime anyone but an administrator may give a token (never-expiring: service accounts only).
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
# Longest Markdown field (model and version descriptions), in characters: a bounded cost to render at save.
MARKDOWN_MAX_CHARS = env.int("MARKDOWN_MAX_CHARS", default=50_000)

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even before collectstatic
WHITENOISE_USE_FINDERS = DEVELOPMENT
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Uploads stream to temporary files in 4 MiB chunks, never into memory, and stop at ARTIFACT_MAX_BYTES.
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR", default=None)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_HANDLERS = ["registry.uploads.SizeLimitedUploadHandler"]
ARTIFACT_MAX_BYTES = env.int("ARTIFACT_MAX_BYTES", default=50 * 1024**3)
ARTIFACT_UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024
ARTIFACT_MAX_ATTEMPTS = env.int("ARTIFACT_MAX_ATTEMPTS", default=3)
# Artifacts still pending (broker down at upload) or stuck validating are re-enqueued after these delays.
ARTIFACT_REQUEUE_AFTER_SECONDS = env.int("ARTIFACT_REQUEUE_AFTER_SECONDS", default=180)
ARTIFACT_STALE_VALIDATION_SECONDS = env.int("ARTIFACT_STALE_VALIDATION_SECONDS", default=3600)

# Where artifact blobs live. Empty: the local filesystem under MEDIA_ROOT. `s3://bucket/prefix`: S3
# (credentials from the usual AWS_* variables, AWS_S3_ENDPOINT_URL for S3-compatible stores).
STORAGE_URL = env("STORAGE_URL", default="")
_artifact_storage = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(MEDIA_ROOT)},
}
if STORAGE_URL:
    _parsed = urlparse(STORAGE_URL)
    if _parsed.scheme != "s3" or not _parsed.netloc:
        raise ImproperlyConfigured("STORAGE_URL must look like s3://bucket/optional/prefix")
    _artifact_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _parsed.netloc,
            "location": _parsed.path.strip("/"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_expire": env.int("ARTIFACT_PRESIGNED_SECONDS", default=300),
        },
    }
# Stores whose files Arbiter imports when a version's `source` lies under them (MLflow pipelines register by
# source and upload nothing): comma-separated `s3://bucket/prefix/` entries. Empty: no source is ever fetched.
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
ARTIFACT_IMPORT_SOURCES = []
for _prefix in env.list("ARTIFACT_IMPORT_SOURCES", default=[]):
    _parsed = urlparse(_prefix.strip())
    if _parsed.scheme != "s3" or not _parsed.netloc:
        raise ImproperlyConfigured(
            f"ARTIFACT_IMPORT_SOURCES entries must look like s3://bucket/prefix/, not {_prefix!r}"
        )
    ARTIFACT_IMPORT_SOURCES.append(_prefix.strip().rstrip("/") + "/")
ARTIFACT_IMPORT_ENDPOINT_URL = env("ARTIFACT_IMPORT_ENDPOINT_URL", default=env("AWS_S3_ENDPOINT_URL", default=""))

STORAGES = {
    "default": _artifact_storage,
    "artifacts": _artifact_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEVELOPMENT
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Celery --------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below (LOG_FORMAT=json included)
# Unacknowledged tasks of a worker that died are redelivered after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
    "max_retries": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TIMEZONE = TIME_ZONE
# Queues: artifact work that can take minutes (validation, scrubbing) goes to its own queue, so a long scan never
# delays a notification or a webhook; everything else goes to the default queue (config.celery.route_task).
# Run one worker pool per queue: `make worker` (validation) and `make worker-default`.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="default")
CELERY_VALIDATION_QUEUE = env("CELERY_VALIDATION_QUEUE", default="validation")
CELERY_TASK_ROUTES = ["config.celery.route_task"]
# How often the audit chain is recomputed: the beat task's period, and the age beyond which the audit page
# starts a verification itself when someone opens it (no beat runs under `make run`).
AUDIT_VERIFY_EVERY_MINUTES = env.int("AUDIT_VERIFY_EVERY_MINUTES", default=360)
# An auditor's *Verify now* is accepted at most once per this many seconds.
AUDIT_VERIFY_NOW_SECONDS = env.int("AUDIT_VERIFY_NOW_SECONDS", default=60)
# Periodic jobs, run by `celery beat` (`make worker` starts one). Each task is idempotent.
CELERY_BEAT_SCHEDULE = {
    "artifacts-requeue": {
        "task": "registry.tasks.requeue_stale_artifacts",
        "schedule": env.int("ARTIFACT_REQUEUE_EVERY_SECONDS", default=60),
    },
    "approvals-expire": {
        "task": "governance.tasks.expire_approvals",
        "schedule": env.int("APPROVAL_EXPIRY_EVERY_SECONDS", default=3600),
    },
    "artifacts-scrub": {
        "task": "registry.tasks.scrub_artifacts",
        "schedule": env.int("ARTIFACT_SCRUB_EVERY_SECONDS", default=24 * 3600),
    },
    # Audit trail: checkpoint the chain head to the artifact storage; recompute the chain and its checkpoints.
    "audit-checkpoint": {
        "task": "governance.tasks.audit_checkpoint",
        "schedule": timedelta(minutes=env.int("AUDIT_CHECKPOINT_EVERY_MINUTES", default=60)),
    },
    "audit-verify": {
        "task": "governance.tasks.audit_verify",
        "schedule": timedelta(minutes=AUDIT_VERIFY_EVERY_MINUTES),
    },
    # Expire risk assessments past their validity and send "re-review due soon" reminders.
    "assessments-review": {
        "task": "governance.tasks.assessments_review",
        "schedule": timedelta(minutes=env.int("ASSESSMENT_REVIEW_INTERVAL_MINUTES", default=60)),
    },
    # Unreferenced files in the artifact storage (leftovers of crashes) are deleted past a grace period.
    **(
        {"blobs-gc": {"task": "registry.tasks.blobs_gc", "schedule": timedelta(hours=_BLOBS_GC_EVERY_HOURS)}}
        if (_BLOBS_GC_EVERY_HOURS := env.int("BLOBS_GC_EVERY_HOURS", default=0))
        else {}
    ),
    # Webhook deliveries whose task was lost (broker down when enqueued, worker killed) are sent again.
    "webhooks-requeue": {
        "task": "governance.tasks.webhooks_requeue",
        "schedule": env.int("WEBHOOK_REQUEUE_EVERY_SECONDS", default=300),
    },
}

# `manage.py blobs gc` and its beat task keep unreferenced files younger than this (uploads being registered).
BLOBS_GC_GRACE_HOURS = env.int("BLOBS_GC_GRACE_HOURS", default=24)

# --- Cache ---------------------------------------------------------------------------------------
# API throttle counters live here, so every process must share it: Redis (Django's built-in backend) when
# CACHE_URL or REDIS_URL is set, this process's memory otherwise (fine for one development server).
CACHE_URL = env("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",  # Django's, reusing its Redis client (config/cache.py)
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "arbiter",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "arbiter"}}

# --- Email ---------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="arbiter@localhost")

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["registry.api.throttling.ThrottledIsAuthenticated"],
    # Per token (or per signed-in user), per address for anonymous requests and failed tokens. Upload views
    # use registry.api.throttling.UPLOAD_THROTTLES instead: the tighter `uploads` rate.
    "DEFAULT_THROTTLE_CLASSES": [
        "registry.api.throttling.AnonymousThrottle",
        "registry.api.throttling.ClientThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="60/minute"),
        "user": env("THROTTLE_USER", default="1200/minute"),
        "uploads": env("THROTTLE_UPLOADS", default="120/hour"),
    },
    # Client addresses come from REMOTE_ADDR only: X-Forwarded-For is client-controlled (see client_ip).
    "NUM_PROXIES": 0,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "registry.api.parsers.JSONParser",  # DRF's, refusing NUL characters anywhere in the document
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 25,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Arbiter API",
    "DESCRIPTION": "The model registry with governance built in: catalog, versions, artifacts, approvals, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "registry.choices.Stage",
        "RiskTierEnum": "registry.choices.RiskTier",
        "FrameworkEnum": "registry.choices.Framework",
        "TaskTypeEnum": "registry.choices.TaskType",
        "VisibilityEnum": "registry.choices.Visibility",
        "TokenScopeEnum": "registry.choices.TokenScope",
        "AssessmentStatusEnum": "governance.choices.AssessmentStatus",
        "AssessmentFrameworkEnum": "governance.choices.AssessmentFramework",
        "EvidenceKindEnum": "governance.choices.EvidenceKind",
        "ArtifactKindEnum": "registry.choices.ArtifactKind",
        "RiskCategoryEnum": "governance.choices.RiskCategory",
        "RiskStatusEnum": "governance.choices.RiskStatus",
    },
}

# --- Security headers ----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEVELOPMENT:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Signing out also ends the provider's session: the sign-out form's redirect goes there.
        "form-action": [SELF, *([urlparse(OIDC_ISSUER)._replace(path="").geturl()] if OIDC_ISSUER else [])],
        "frame-ancestors": [NONE],
    },
}

# --- Logging -------------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (config/logs.py); `text` otherwise. One console handler, on the root
# logger: Django's own `django` console handler is dropped (with DEBUG=1 it printed every line twice), and a
# refused request (4xx) is one warning line, without the traceback of the PermissionDenied or Http404 that
# produced it; server errors (5xx) keep theirs.
LOG_FORMAT = env("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be `text` or `json`.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "config.logs.RequestContextFilter"},
        "client_errors_without_traceback": {"()": "config.logfilters.ClientErrorsWithoutTraceback"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(user)s %(token_prefix)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        # runserver's request lines, as Django formats them (configuring `django` resets its children)
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["client_errors_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # a line per task run ("Task ... succeeded in 0.001s"): noise under `make run`, where tasks run in-process
        "celery.app.trace": {"level": "WARNING"},
    },
}

# --- Arbiter -------------------------------------------------------------------------------------
# An approval not used for a promotion within this many days expires; a promoted approval stays usable for
# a rollback to that version for as long.
APPROVAL_VALID_DAYS = env.int("APPROVAL_VALID_DAYS", default=30)
BREAK_GLASS_MIN_JUSTIFICATION = 30
ARBITER_PAGE_SIZES = (10, 25, 50, 100)
# The address people reach Arbiter at, for links in emails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Risk assessments: how long an approved assessment stays valid, by the tier it found (months), when
# reminders start, and the largest evidence file accepted.
ASSESSMENT_VALID_MONTHS = {
    "prohibited": env.int("ASSESSMENT_VALID_MONTHS_HIGH", default=12),
    "high": env.int("ASSESSMENT_VALID_MONTHS_HIGH", default=12),
    "limited": env.int("ASSESSMENT_VALID_MONTHS_LIMITED", default=24),
    "minimal": env.int("ASSESSMENT_VALID_MONTHS_MINIMAL", default=36),
    # Templates that do not classify a tier (NIST AI RMF, ISO/IEC 42001 checklists).
    "": env.int("ASSESSMENT_VALID_MONTHS_UNCLASSIFIED", default=12),
}
ASSESSMENT_DUE_SOON_DAYS = env.int("ASSESSMENT_DUE_SOON_DAYS", default=30)
ASSESSMENT_EVIDENCE_MAX_BYTES = env.int("ASSESSMENT_EVIDENCE_MAX_MB", default=50) * 1024 * 1024

# Webhooks: outgoing HTTP calls to subscribers' URLs (docs/webhooks.md). URLs whose host resolves to a
# loopback, private, link-local or otherwise internal address are refused unless the host is listed here
# by an administrator: host names (exact, case-insensitive), IP addresses or networks (CIDR), comma-separated.
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)  # seconds, connect and read each
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
# Retry n (1-based) waits WEBHOOK_BACKOFF_BASE * 2**(n-1) seconds: 30 s, 1, 2, 4, 8 min with the defaults.
WEBHOOK_BACKOFF_BASE = env.float("WEBHOOK_BACKOFF_BASE", default=30.0)

# Audit checkpoints are signed with this key (HMAC-SHA256), kept outside the database so that whoever can
# rewrite the trail cannot forge a matching checkpoint. Required when DEBUG is off (checkpoints are refused
# without it); in development a key is derived from SECRET_KEY.
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="")
if not AUDIT_HMAC_KEY and DEVELOPMENT:
    import hashlib

    AUDIT_HMAC_KEY = hashlib.sha256(f"arbiter-audit-checkpoints:{SECRET_KEY}".encode()).hexdigest()

# --- Operations ----------------------------------------------------------------------------------
# /metrics answers these networks (CIDR, comma-separated), and otherwise only an administrator's unrestricted
# API token with the `admin` scope; everyone else gets a 404. Empty by default: nothing is exposed by address.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# Under gunicorn (several processes), an empty directory where prometheus_client keeps each process's counters,
# so /metrics adds them up. prometheus_client reads it from the environment; it is created here if missing.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# A Celery worker serves its task counters on this port for Prometheus (0: off).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
# Health and metrics answer over plain HTTP too: container health checks and scrapers talk to the process directly.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
