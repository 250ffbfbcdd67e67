"""Settings: one module, read from the environment (see docs/CONFIGURATION.md).

With nothing configured the site runs on embedded defaults (a SQLite file and a
filesystem Celery broker under ``var/``) so that ``make run`` works on a bare machine.
``DJANGO_ENV=production`` refuses every default that is only fit for a laptop.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import Env

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DJANGO_ENV = env.choice("DJANGO_ENV", ("development", "production"), "development")
PRODUCTION = DJANGO_ENV == "production"

# Only ever used on a developer's machine: production refuses to start with it.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789"  # noqa: S105  # nosec B105
SECRET_KEY = env.secret("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
# Off unless a developer asks for it, the demo included: Django's debug page is in English,
# has no quick exit and shows the settings.  (`make run` serves the static files itself:
# runserver --insecure in the Procfile.)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- database ---------------------------------------------------------------------------

DATABASE_URL = env.secret("DATABASE_URL")
# The role that owns the tables, given to the migrate step alone (docs/DEPLOY.md): a
# process started with it connects as the owner, to migrate and then grant DATABASE_URL's
# role its rights (manage.py grant_site_role).  The site's processes never have it: their
# role can append to the audit log, and cannot rewrite, truncate or alter it.
DATABASE_OWNER_URL = env.secret("DATABASE_OWNER_URL")
if DATABASE_OWNER_URL is not None and DATABASE_URL is None:
    raise ImproperlyConfigured(
        "DATABASE_OWNER_URL is set without DATABASE_URL: set both (the site's role, and the "
        "owner's for the migrate step)"
    )
_EMBEDDED_DATABASE = DATABASE_URL is None
try:
    _database = dj_database_url.parse(
        DATABASE_OWNER_URL or DATABASE_URL or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as exc:
    which = "DATABASE_OWNER_URL" if DATABASE_OWNER_URL else "DATABASE_URL"
    raise ImproperlyConfigured(f"{which} is not a database URL Django knows: {exc}") from None
if _database["ENGINE"] == "django.db.backends.postgresql":
    # A stopped PostgreSQL must answer /healthz within seconds, not hang a worker.
    _database.setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", 5, minimum=1
    )
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, worker, beat and bundle builder all write to one file.
    # SQLite's defaults answered "database is locked" (a 500, a broken image) whenever
    # two of them wrote at once: a deferred transaction that read first cannot wait for
    # the write lock it then needs.  WAL lets readers run beside the one writer;
    # IMMEDIATE takes the write lock when a transaction starts, where the busy timeout
    # can wait for it.
    _database.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("DATABASE_SQLITE_TIMEOUT", 20, minimum=1),
        }
    )
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- applications -----------------------------------------------------------------------

INSTALLED_APPS = [
    "casework.apps.SiteAdminConfig",  # django.contrib.admin with a key-keeping password form
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Staff sign-in's second factor: TOTP devices, and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Our own apps, lowest first: evidence <- reporting <- casework <- {observatory, bundles}.
    "evidence",
    "web",  # the HTTP kernel any app may use; an app for its system checks
    "reporting",
    "casework",
    "observatory",
    "bundles",
    "demo",  # seed_demo and demo_code for a local run; nothing imports it
]

MIDDLEWARE = [
    # First: nothing after it sees a reporter's address, browser or referrer.
    "web.privacy.ForgetClientMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Django's, accepting the hidden origin that no-referrer makes (web/csrf.py).
    "web.csrf.HiddenOriginCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed its second factor?
    "django_otp.middleware.OTPMiddleware",
    "casework.auth.MemberKeyCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages (it says why she was signed out) and inside the key cookie's
    # middleware (which then clears the browser's half).
    "casework.auth.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Django's W003 looks for its own CSRF middleware by name and cannot see the subclass
# above; web/checks.py checks for that subclass instead.
SILENCED_SYSTEM_CHECKS = ["security.W003"]

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
                "web.context_processors.site",
            ],
        },
    },
]

# --- accounts ---------------------------------------------------------------------------

AUTH_USER_MODEL = "casework.User"
# Login also opens the member's key (casework/auth.py).
AUTHENTICATION_BACKENDS = ["casework.auth.KeyUnlockingBackend"]
# The browser's half of a member's key lives only as long as the browser session, so the
# login session ends with it rather than outliving the key it unlocked.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# ...and on the server after at most this long (a reporter's or a staff member's), when
# the hourly task deletes it (reporting.tasks.clear_expired_sessions).
SESSION_COOKIE_AGE = env.int("SESSION_HOURS", 12, minimum=1) * 3600
# Rows sealed to the cookie and named by a hash of it, expiry to the hour: a copy of the
# database neither reads nor dates a session (web/sessions.py).
SESSION_ENGINE = "web.sessions"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "casework:login"
# Staff sign-in (casework/auth.py): failed passwords or codes per account before it is
# refused for a while, and how long a signed-in page may sit idle before the session
# (and with it the open key) is dropped.
STAFF_LOGIN_FAILURES = env.int("STAFF_LOGIN_FAILURES", 5, minimum=1)
STAFF_LOGIN_LOCK_MINUTES = env.int("STAFF_LOGIN_LOCK_MINUTES", 15, minimum=1)
STAFF_IDLE_MINUTES = env.int("STAFF_IDLE_MINUTES", 30, minimum=1)
# How long a one-time password (an invitation, an operator's reset) opens the account
# before it must be used; after that an admin hands over a new one.
STAFF_ONE_TIME_PASSWORD_HOURS = env.int("STAFF_ONE_TIME_PASSWORD_HOURS", 72, minimum=1)
# A reporter's open report (her return visit) closes after this long without a request.
REPORTER_IDLE_MINUTES = env.int("REPORTER_IDLE_MINUTES", 15, minimum=1)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", "Safe Report")
# How long a new case may wait for someone to acknowledge it (issue 6 escalates after).
CASEWORK_SLA_URGENT_HOURS = env.int("CASEWORK_SLA_URGENT_HOURS", 4, minimum=1)
CASEWORK_SLA_HIGH_HOURS = env.int("CASEWORK_SLA_HIGH_HOURS", 24, minimum=1)
CASEWORK_SLA_HOURS = env.int("CASEWORK_SLA_HOURS", 48, minimum=1)
CASEWORK_QUEUE_PAGE_SIZE = env.int("CASEWORK_QUEUE_PAGE_SIZE", 50, minimum=5)
# The workflow (casework/workflow.py): how often beat sweeps the outbox (a step found
# pending by one sweep is re-sent by the next, so a step waits at most two sweeps after
# Redis comes back), how long a worker may hold a step before it counts as dead (above
# the task time limit, so a live worker is never overtaken), and how often to retry.
CASEWORK_OUTBOX_SWEEP_SECONDS = env.int("CASEWORK_OUTBOX_SWEEP_SECONDS", 15, minimum=1)
CASEWORK_STEP_LEASE_SECONDS = env.int("CASEWORK_STEP_LEASE_SECONDS", 420, minimum=1)
CASEWORK_STEP_MAX_ATTEMPTS = env.int("CASEWORK_STEP_MAX_ATTEMPTS", 8, minimum=1)
# Emails that follow her acts (a new case, her message or evidence, her answer) wait for
# the next full hour, so that no mail provider learns the minute she acted (her times
# are kept to the hour).  Off: they leave at once, and date her acts.
CASEWORK_NOTIFY_ON_THE_HOUR = env.bool("CASEWORK_NOTIFY_ON_THE_HOUR", default=True)
# Beat: escalations are checked every few minutes; assignees are reminded of open cases
# nobody touched for CASEWORK_REMINDER_DAYS; closed cases are crypto-erased after
# CASEWORK_RETENTION_DAYS.
CASEWORK_ESCALATION_CHECK_SECONDS = env.int("CASEWORK_ESCALATION_CHECK_SECONDS", 300, minimum=10)
CASEWORK_REMINDER_DAYS = env.int("CASEWORK_REMINDER_DAYS", 3, minimum=1)
CASEWORK_RETENTION_DAYS = env.int("CASEWORK_RETENTION_DAYS", 365, minimum=1)
# Evidence bundles: the queue a bundle builder consumes (run one worker with
# `-Q bundles`, see the Procfile), and how many days a built bundle may be downloaded.
CASEWORK_BUNDLE_QUEUE = env.str("CASEWORK_BUNDLE_QUEUE", "bundles")
CASEWORK_BUNDLE_DAYS = env.int("CASEWORK_BUNDLE_DAYS", 14, minimum=1)
CASEWORK_BUILDER_BEAT = env.int("CASEWORK_BUILDER_BEAT", 30, minimum=1)
# The address staff open from a notification ("https://signalement.example.ma").
SITE_URL = env.str("SITE_URL", "http://localhost:8000").rstrip("/")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- languages --------------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("ar", "العربية"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Africa/Casablanca"

# --- static files -----------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- security headers (the rest is in web.middleware) -----------------------------------

# A reporter's browser must not tell any site, this one included, where she came from.
# Browsers then send "Origin: null" on this site's own form posts; web/csrf.py checks
# those by Sec-Fetch-Site instead of the origin.
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# A browser-session cookie, not Django's year-long one: nothing on her phone should still
# say, weeks later, that it visited this site.
CSRF_COOKIE_AGE = None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
# The preload directive only makes the site eligible; nothing happens until the operator
# submits the domain to the browsers' list.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=PRODUCTION)
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No script, style, font or image from another host, and no inline script: a victim's
# browser talks to this site and nothing else.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # The Workers that seal and derive keys (static/frontend/), from this site only.
        "worker-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)

# Where the quick-exit control sends a visitor: a neutral page an onlooker expects.
QUICK_EXIT_URL = env.str("QUICK_EXIT_URL", "https://www.google.com/")
if urlsplit(QUICK_EXIT_URL).scheme != "https":
    raise ImproperlyConfigured(
        f"QUICK_EXIT_URL must be an https:// address, not {QUICK_EXIT_URL!r}"
    )
# The title of every page a reporter sees, as her browser's history and tabs show it.
# Empty: a neutral word in her language ("Information"); an NGO may choose another, as
# long as it does not say what this site is.
PAGE_TITLE = env.str("PAGE_TITLE", "")

# --- sealed storage (evidence/) ---------------------------------------------------------

# Payloads are ciphertext; their headers live in the database (docs/CRYPTO.md).
EVIDENCE_BLOB_STORE = env.str("EVIDENCE_BLOB_STORE", "evidence.blobstore.FileSystemBlobStore")
EVIDENCE_BLOB_ROOT = Path(env.str("EVIDENCE_BLOB_ROOT", str(VAR_DIR / "blobs"))).resolve()
# An age1... recipient whose identity the operator keeps offline (on paper): every
# organisation key is also sealed to it, so a team that lost all its members' passwords
# can be given access again.
EVIDENCE_RECOVERY_RECIPIENT = env.str("EVIDENCE_RECOVERY_RECIPIENT")
# The platform's Ed25519 key that signs evidence bundles (evidence/bundles.py): made on
# first use if missing.  It opens nothing (integrity, not secrecy); back it up.
EVIDENCE_SIGNING_KEY_FILE = Path(
    env.str("EVIDENCE_SIGNING_KEY_FILE", str(VAR_DIR / "signing-key.pem"))
).resolve()
# log2 of scrypt's N for a member's key under her password: 17 costs 128 MiB and about
# 0.3 s per login, and is what an attacker with a copy of the database pays per guess.
EVIDENCE_MEMBER_WORK_FACTOR = env.int("EVIDENCE_MEMBER_WORK_FACTOR", 17, minimum=10)
# log2 of scrypt's N over a receipt code (16 digits): 17 with r=8, p=1 is OWASP's minimum
# for scrypt.  Paid once per filing and per return visit (about 0.3 s and 128 MiB).
EVIDENCE_RECEIPT_WORK_FACTOR = env.int("EVIDENCE_RECEIPT_WORK_FACTOR", 17, minimum=10)

# Evidence uploads: limits stated on the page and enforced as the bytes arrive.
EVIDENCE_MAX_FILE_BYTES = env.int("EVIDENCE_MAX_FILE_MB", 200, minimum=1) * 1024 * 1024
EVIDENCE_MAX_REPORT_BYTES = env.int("EVIDENCE_MAX_REPORT_MB", 1024, minimum=1) * 1024 * 1024
# Images up to this size are also held in memory while the request runs, to make the
# sanitised working copy and the perceptual hash; larger ones are kept as originals only.
EVIDENCE_MAX_IMAGE_BYTES = env.int("EVIDENCE_MAX_IMAGE_MB", 40, minimum=1) * 1024 * 1024
# With scripts on, her phone seals her files itself; where that would take longer than
# this (a JIT-less browser: Tor Browser "safer" seals about 2 MB/s), the page tells her the
# time and offers to let the server seal them as they arrive instead.
INTAKE_SLOW_SEALING_SECONDS = env.int("INTAKE_SLOW_SEALING_SECONDS", 120, minimum=1)
# Never let Django spill an upload to a temporary file: views that take evidence use the
# sealing handler, and any other upload is held in memory (small by these limits).
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A file her browser sealed and sends in parts (evidence/resumable.py) may wait while
# her connection is lost, her phone sleeps, or she finds a better network: no part for
# this many hours, and the upload is swept, row and bytes, by the hourly sweep.  Until
# then its size and the hours it started and last moved are on the server's disk.
EVIDENCE_UPLOAD_ABANDONED_HOURS = env.int("EVIDENCE_UPLOAD_ABANDONED_HOURS", 24, minimum=1)

# --- cache and limits ------------------------------------------------------------------

# Redis when CACHE_URL names one (shared by every web worker); otherwise each process
# keeps its own counters in memory, which is enough on one machine.
CACHE_URL = env.secret("CACHE_URL")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A Redis that is down must cost a request milliseconds, not a hang: the
            # limits then fail open (web/ratelimit.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Rate limits (web/ratelimit.py, reporting/throttle.py): never by address, always per
# browser session and across the whole site.  Wrong receipt codes per session (15 min)
# and per minute site-wide; reports filed per session (hour) and per minute site-wide;
# failed staff sign-ins per minute site-wide (each account also locks on its own, above).
RECEIPT_FAILURES_PER_SESSION = env.int("RECEIPT_FAILURES_PER_SESSION", 5, minimum=1)
RECEIPT_FAILURES_PER_MINUTE = env.int("RECEIPT_FAILURES_PER_MINUTE", 120, minimum=1)
RATE_LIMIT_INTAKE_PER_SESSION = env.int("RATE_LIMIT_INTAKE_PER_SESSION", 10, minimum=1)
RATE_LIMIT_INTAKE_PER_MINUTE = env.int("RATE_LIMIT_INTAKE_PER_MINUTE", 30, minimum=1)
STAFF_LOGIN_FAILURES_PER_MINUTE = env.int("STAFF_LOGIN_FAILURES_PER_MINUTE", 60, minimum=1)

# --- Celery -----------------------------------------------------------------------------

CELERY_BROKER_URL = env.secret("CELERY_BROKER_URL")
_EMBEDDED_BROKER = CELERY_BROKER_URL is None
if _EMBEDDED_BROKER:
    # kombu's filesystem transport: a real worker and beat with no broker server.  The
    # messages hold ids only (never content), so files under var/ reveal nothing.
    _celery_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control", "results"):
        (_celery_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # exchange bindings; kombu would otherwise write them to the working directory
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
    _default_results = f"file://{_celery_dir / 'results'}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis: a publish must fail fast rather than hang a request when Redis is down
        # (the outbox keeps the step; casework/workflow.py).  Without max_retries kombu
        # retries the connection for 6 s before giving up, in her request; one immediate
        # retry covers a blip.
        "socket_connect_timeout": 5,
        "socket_timeout": 10,
        "max_retries": 1,
        "interval_start": 0,
    }
    _default_results = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env.secret("CELERY_RESULT_BACKEND", _default_results)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", "safe-report")
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 60)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-orphan-blobs": {"task": "evidence.tasks.sweep_orphan_blobs", "schedule": 3600.0},
    "sweep-workflow-outbox": {
        "task": "casework.tasks.sweep_outbox",
        "schedule": float(CASEWORK_OUTBOX_SWEEP_SECONDS),
    },
    "escalate-overdue-cases": {
        "task": "casework.tasks.escalate_overdue",
        "schedule": float(CASEWORK_ESCALATION_CHECK_SECONDS),
    },
    "remind-assignees": {"task": "casework.tasks.remind_assignees", "schedule": 3600.0},
    "apply-retention": {"task": "casework.tasks.apply_retention", "schedule": 3600.0},
    "expire-bundles": {"task": "bundles.tasks.expire_bundles", "schedule": 3600.0},
    "clear-expired-sessions": {
        "task": "reporting.tasks.clear_expired_sessions",
        "schedule": 3600.0,
    },
}

# --- logging ----------------------------------------------------------------------------

# No handler here writes a client address, user agent or referrer: the middleware
# removes them from reporter requests, and the filter masks any address in a message.
LOG_LEVEL = env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"scrub": {"()": "web.privacy.ScrubLogFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django writes a warning naming the path for every 4xx answer ("Bad Request:
    # /fr/report/your-words/" when her upload is cut): the journal dates it to the second.
    # Refusals are the site working as meant; 5xx answers, which need the operator, stay.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- REST framework ---------------------------------------------------------------------

REST_FRAMEWORK = {
    # JSON only: the browsable API needs inline scripts that the CSP forbids.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, with a bound on nesting (a 400, not a RecursionError's 500).
    "DEFAULT_PARSER_CLASSES": ["web.parsers.BoundedJSONParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Signed-in sessions only.  DRF's default also takes HTTP Basic, which would let
    # anyone try staff passwords on any API address without the sign-in page's locks.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Safe Report API",
    "DESCRIPTION": (
        "Anonymous intake of reports of technology-facilitated violence (reports), and "
        "the caseworkers' side (staff): a signed-in, second-factor-verified session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The answers DRF gives around the views (unreadable body, wrong media type, rate
    # limits) and the true shape of its validation errors (web/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "web.schema.document_error_answers",
    ],
    # One name for how a sealed object was sealed, wherever the staff API says it.
    "ENUM_NAME_OVERRIDES": {"SealedByEnum": "evidence.models.SealedObject.SealedBy"},
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "no-reply@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10

# --- production refuses laptop defaults -------------------------------------------------

if PRODUCTION:
    _problems = []
    if DEBUG:
        _problems.append("DJANGO_DEBUG is on; unset it or set it to false")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        _problems.append(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be a random value of 50+ "
            "characters, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not ALLOWED_HOSTS:
        _problems.append("DJANGO_ALLOWED_HOSTS must list the site's host name(s)")
    if _EMBEDDED_DATABASE:
        _problems.append(
            "DATABASE_URL must point at PostgreSQL (the SQLite default is for laptops)"
        )
    if _EMBEDDED_BROKER:
        _problems.append(
            "CELERY_BROKER_URL must point at Redis (the filesystem broker is for laptops)"
        )
    if not CACHE_URL:
        _problems.append(
            "CACHE_URL must point at Redis (e.g. redis://127.0.0.1:6379/1): rate limits and "
            "sign-in locks must be shared by every web worker"
        )
    if _problems:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production refuses to start:\n  - " + "\n  - ".join(_problems)
        )
