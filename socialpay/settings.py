"""SocialPay settings, read from the environment (django-environ).

Profiles (``SOCIALPAY_PROFILE``): ``development`` (default), ``test`` and ``production``.
Production refuses to start without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on
every transport-security setting so that ``manage.py check --deploy`` is clean.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is convenient for operators; the real environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PROFILE = env.str("SOCIALPAY_PROFILE", default="development")
if PROFILE not in {"development", "test", "production"}:
    raise ValueError(f"SOCIALPAY_PROFILE must be development, test or production, not {PROFILE!r}")
PRODUCTION = PROFILE == "production"

DEBUG = env.bool("DEBUG", default=PROFILE == "development")

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key must stop the deploy
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef")
    ALLOWED_HOSTS = env.list(
        "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "pgtrigger",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "accounts",
    "ledger",
    "posts",
    # Money, in dependency order (see payments/__init__.py). ``payments`` itself holds no
    # models any more: it keeps the migration history of the single app these grew out of.
    "payments.webhooks",
    "payments.wallets",
    "payments.fx",
    "payments.creators",
    "payments.payouts",
    "payments.disputes",
    "payments.processors.sandbox.apps.SandboxProcessorConfig",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers are gzipped for browsers that accept it (a timeline page: 35 KB
    # of HTML, 3 KB gzipped). Below WhiteNoise, which serves its own pre-compressed static
    # files; Django pads each gzipped body with random bytes against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Sessions, the session user and messages are skipped for API requests that carry
    # a Bearer token (core/api_middleware.py); everything else gets the stock middleware.
    "core.api_middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.api_middleware.AuthenticationMiddleware",
    # A signed-in person's saved language outranks the browser's (after Locale and Auth).
    "accounts.language.UserLanguageMiddleware",
    "core.api_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Axes must come last so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "socialpay.urls"
WSGI_APPLICATION = "socialpay.wsgi.application"
ASGI_APPLICATION = "socialpay.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/socialpay")
}
# Money services open their own short transactions (transaction.atomic(durable=True));
# a request-wide transaction would hold row locks for the whole view.
# A Unix-socket directory arrives URL-quoted in the host part (postgres://user@%2Fpath/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: a new connection per request costs about five times the work of
# a primary-key read (see PERFORMANCE.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker --------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="sp"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

if PROFILE == "test":
    # Hashing is deliberately slow; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "handle"
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION

# --- Accounts: allauth, MFA, axes (owned by the accounts app) ------------------------------
# The web sign-up runs the same handle rules as the API (accounts.adapter).
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm", "login": "accounts.forms.LoginForm"}
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SocialPay] "
ACCOUNT_PREVENT_ENUMERATION = True
MFA_TOTP_ISSUER = "SocialPay"
# Failed logins are counted per canonical handle / e-mail, whatever form the name came in.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"

# --- E-mail ---------------------------------------------------------------------------------
# Django 6.1 configures mail through MAILERS; EMAIL_URL (django-environ's syntax) fills it.
# Production must name a real mail server: receipts and password resets depend on it.
_email = (
    env.email_url("EMAIL_URL")
    if PRODUCTION
    else env.email_url("EMAIL_URL", default="consolemail://")
)
_email_options = {
    option: _email[key]
    for key, option in (
        ("EMAIL_HOST", "host"),
        ("EMAIL_PORT", "port"),
        ("EMAIL_HOST_USER", "username"),
        ("EMAIL_HOST_PASSWORD", "password"),
        ("EMAIL_USE_TLS", "use_tls"),
        ("EMAIL_USE_SSL", "use_ssl"),
        ("EMAIL_TIMEOUT", "timeout"),
    )
    if _email.get(key) not in (None, "")
}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _email_options.setdefault("timeout", 10)
else:
    _email_options = {}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="SocialPay <no-reply@socialpay.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# Each language named in itself, so that a person finds theirs whatever page they are on.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, static files are served straight from the app folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "auth": env.str("THROTTLE_AUTH", default="10/min"),
        "money": env.str("THROTTLE_MONEY", default="120/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SocialPay API",
    "DESCRIPTION": (
        "Amounts are integer minor units with an uppercase ISO 4217 currency. "
        "Every POST that moves money requires an Idempotency-Key header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Assets served by us, not a CDN: the machine may have no internet and the CSP allows 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The domain row is the source of truth and every task is idempotent, so a task is
# acknowledged only after it ran: a killed worker's task is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the
# longest task plus its countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = False
# Tests give their worker a queue of its own so that no other worker on the same Redis
# (a developer's `make run`) takes their tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".data" / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "core.tasks.heartbeat",
        "schedule": timedelta(minutes=1),
    },
    "idempotency-purge": {
        "task": "core.tasks.idempotency_purge",
        "schedule": timedelta(hours=1),
    },
}

# --- Payments -------------------------------------------------------------------------------
PAYMENTS_PROCESSOR = env.str("PAYMENTS_PROCESSOR", default="sandbox")
if PAYMENTS_PROCESSOR not in {"sandbox", "stripe"}:
    raise ValueError(f"PAYMENTS_PROCESSOR must be sandbox or stripe, not {PAYMENTS_PROCESSOR!r}")
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
SANDBOX_DEFAULT_WEBHOOK_SECRET = "whsec_sandbox_local_only"
SANDBOX_WEBHOOK_SECRET = env.str("SANDBOX_WEBHOOK_SECRET", default=SANDBOX_DEFAULT_WEBHOOK_SECRET)
# The sandbox credits wallets from webhooks signed with this secret; the default is public
# (it is in this file), so a production server using it would accept forged top-ups.
if (
    PRODUCTION
    and PAYMENTS_PROCESSOR == "sandbox"
    and (SANDBOX_WEBHOOK_SECRET == SANDBOX_DEFAULT_WEBHOOK_SECRET)
):
    raise ValueError(
        "PAYMENTS_PROCESSOR=sandbox in production needs its own SANDBOX_WEBHOOK_SECRET "
        "(the default one is public); set it, or use PAYMENTS_PROCESSOR=stripe"
    )

# Currencies the platform holds balances in. Exponents come from one table (core.money).
SUPPORTED_CURRENCIES = env.list(
    "SUPPORTED_CURRENCIES", default=["USD", "EUR", "GBP", "CHF", "JPY", "BRL", "INR", "KWD"]
)
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")
# Where mid-market FX rates come from: "sandbox" (deterministic, offline) or "ecb".
FX_RATE_SOURCE = env.str("FX_RATE_SOURCE", default="sandbox")
FX_ECB_URL = env.str(
    "FX_ECB_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
)

# --- Payments processors --------------------------------------------------------------------
# Webhook signatures older or newer than this (seconds) are refused as stale_webhook;
# de-duplication on the event id is the real replay defence, this only bounds it.
WEBHOOK_TOLERANCE_SECONDS = env.int("WEBHOOK_TOLERANCE_SECONDS", default=300)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=256 * 1024)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=5)
# A claim on an event expires after this long (a killed worker); keep it above the task
# time limit so that a slow but live handler is never run twice at once.
WEBHOOK_PROCESSING_LEASE_SECONDS = env.int("WEBHOOK_PROCESSING_LEASE_SECONDS", default=300)
WEBHOOK_STUCK_AFTER_SECONDS = env.int("WEBHOOK_STUCK_AFTER_SECONDS", default=120)
# Extra modules that register webhook handlers (besides every app's webhook_handlers.py).
PAYMENTS_WEBHOOK_HANDLER_MODULES = env.list(
    "PAYMENTS_WEBHOOK_HANDLER_MODULES",
    default=["payments.webhooks.tests.probe"] if PROFILE == "test" else [],
)
# The sandbox delivers its webhooks by calling the intake in-process, or over HTTP here.
SANDBOX_WEBHOOK_URL = env.str("SANDBOX_WEBHOOK_URL", default="")
# Without a URL the sandbox hands its webhooks to this intake function in-process.
SANDBOX_WEBHOOK_RECEIVER = "payments.webhooks.services.webhook_receive"
SANDBOX_PAYOUT_SETTLE_SECONDS = env.float("SANDBOX_PAYOUT_SETTLE_SECONDS", default=0.0)
# Connect events (payouts of connected accounts) come from a second Stripe endpoint.
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=0)
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=30)
# Rejected and duplicate deliveries are kept this long for forensics, then deleted.
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["payments-webhooks-redrive"] = {
    "task": "payments.webhook_events_redrive",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["payments-webhook-deliveries-prune"] = {
    "task": "payments.webhook_deliveries_prune",
    "schedule": timedelta(hours=6),
}

# --- Ledger ---------------------------------------------------------------------------------
# ledger_verify reports holds still pending after this many hours.
LEDGER_HOLD_MAX_AGE_HOURS = env.int("LEDGER_HOLD_MAX_AGE_HOURS", default=7 * 24)
CELERY_BEAT_SCHEDULE.update(
    {
        # Folds appended credits into cached balances (see ledger.services, "Hot accounts").
        "ledger-fold-balance-deltas": {
            "task": "ledger.tasks.balance_deltas_fold",
            "schedule": timedelta(seconds=10),
        },
        "ledger-verify": {
            "task": "ledger.tasks.ledger_verify",
            "schedule": crontab(hour=3, minute=17),
        },
    }
)
# --- Logging (structlog, one JSON object per line in production) ---------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=PRODUCTION)

from core.logging import configure_logging  # noqa: E402  (needs the values above)

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, json=LOG_JSON)

# --- Wallet: top-ups, P2P transfers, requests, limits ---------------------------------------
# Send limits are counted in one currency; other currencies are converted with the fixed,
# deliberately round rates below (units of WALLET_LIMITS_CURRENCY per unit), rounded up.
WALLET_LIMITS_CURRENCY = env.str("WALLET_LIMITS_CURRENCY", default="USD")
WALLET_LIMIT_RATES = {
    "USD": "1",
    "EUR": "1.10",
    "GBP": "1.30",
    "CHF": "1.15",
    "JPY": "0.0070",
    "BRL": "0.20",
    "INR": "0.012",
    "KWD": "3.30",
}
# Per tier, in minor units of WALLET_LIMITS_CURRENCY: what may be sent per week (Monday
# 00:00 UTC to Monday) and in one transfer.
WALLET_LIMITS = {
    "unverified": {
        "weekly_send": env.int("WALLET_UNVERIFIED_WEEKLY_SEND", default=50_000),
        "per_transfer": env.int("WALLET_UNVERIFIED_PER_TRANSFER", default=25_000),
    },
    "verified": {
        "weekly_send": env.int("WALLET_VERIFIED_WEEKLY_SEND", default=1_000_000),
        "per_transfer": env.int("WALLET_VERIFIED_PER_TRANSFER", default=500_000),
    },
}
# Transfers one person may start per minute (velocity limit, against scripted abuse).
WALLET_TRANSFERS_PER_MINUTE = env.int("WALLET_TRANSFERS_PER_MINUTE", default=20)
# Transfers above this (limits currency, minor units) need a recent re-authentication.
WALLET_REAUTH_ABOVE = env.int("WALLET_REAUTH_ABOVE", default=20_000)
# Largest single top-up (limits currency, minor units).
WALLET_TOPUP_MAX = env.int("WALLET_TOPUP_MAX", default=200_000)
# Test cards offered on the top-up page (processor tokens; no card number is ever typed).
WALLET_TEST_CARDS = [
    ("pm_card_visa", "Visa (succeeds)"),
    ("pm_card_mastercard", "Mastercard (succeeds)"),
    ("pm_card_authenticationRequired", "Card that asks for authentication"),
    ("pm_card_chargeDeclined", "Declined card"),
    ("pm_card_chargeDeclinedInsufficientFunds", "Declined: insufficient funds"),
    ("pm_card_chargeDeclinedExpiredCard", "Declined: expired card"),
]
# Transfers now commit in one transaction; rows left "pending" by the older two-step flow
# (or by transfer_finish) for longer than this are finished or released by Celery beat.
WALLET_PENDING_TRANSFER_SECONDS = env.int("WALLET_PENDING_TRANSFER_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["wallet-transfers-redrive"] = {
    "task": "payments.wallet_transfers_redrive",
    "schedule": timedelta(minutes=1),
}
# Receipts wait in an outbox written with the payment (payments.wallets.receipts). A web
# process wakes the worker at most once per this many seconds; beat drains every second,
# which bounds the wait of a receipt whose wake-up was folded into an earlier one.
# 0 wakes the worker after every payment (the test suite, which runs no beat).
RECEIPTS_KICK_SECONDS = env.float("RECEIPTS_KICK_SECONDS", default=0 if PROFILE == "test" else 0.25)
CELERY_BEAT_SCHEDULE["receipts-outbox-drain"] = {
    "task": "payments.receipts_outbox_drain",
    "schedule": timedelta(seconds=1),
}

# --- Creators (tips, paid posts, orders with escrow, memberships) -------------------------
# Platform fee per kind of creator payment: basis points of the gross amount plus a fixed
# part in minor units per currency. fee = round_half_up(gross * bps / 10000) + fixed,
# capped at the gross (the creator's net is never negative). See payments/creators/fees.py.
CREATOR_FEE_SCHEDULE = {
    "tip": {"bps": env.int("CREATOR_FEE_TIP_BPS", default=1000), "fixed": {}},
    "unlock": {"bps": env.int("CREATOR_FEE_UNLOCK_BPS", default=1000), "fixed": {}},
    "sale": {"bps": env.int("CREATOR_FEE_SALE_BPS", default=1000), "fixed": {}},
    "membership": {"bps": env.int("CREATOR_FEE_MEMBERSHIP_BPS", default=1000), "fixed": {}},
}
# Tip presets offered on the tip form, in minor units (the custom amount is always there).
CREATOR_TIP_PRESETS = [200, 500, 1000]
# Escrow is released to the seller this long after delivery (digital: payment; physical:
# shipping) unless the buyer confirms earlier or the seller refunds.
CREATOR_ESCROW_RELEASE_HOURS = env.int("CREATOR_ESCROW_RELEASE_HOURS", default=14 * 24)
# A membership whose renewal cannot be paid stays usable (past_due) this long, then ends.
CREATOR_MEMBERSHIP_PERIOD_DAYS = env.int("CREATOR_MEMBERSHIP_PERIOD_DAYS", default=30)
CREATOR_MEMBERSHIP_GRACE_DAYS = env.int("CREATOR_MEMBERSHIP_GRACE_DAYS", default=3)
# Card tips still waiting for the processor's webhook after this many seconds are looked
# up at the processor by the sweeper (every other creator flow commits in one transaction).
CREATOR_STUCK_AFTER_SECONDS = env.int("CREATOR_STUCK_AFTER_SECONDS", default=300)
CELERY_BEAT_SCHEDULE.update(
    {
        "creators-escrow-release-due": {
            "task": "creators.orders_release_due",
            "schedule": timedelta(minutes=10),
        },
        "creators-memberships-renew-due": {
            "task": "creators.memberships_renew_due",
            "schedule": timedelta(minutes=15),
        },
        "creators-sweep-stuck": {
            "task": "creators.sweep_stuck",
            "schedule": timedelta(minutes=5),
        },
    }
)

# --- Money across borders (FX) --------------------------------------------------------------
# Our fee on every conversion, in basis points of the mid-market value (50 = 0.5%).
FX_FEE_BPS = env.int("FX_FEE_BPS", default=50)
# How long a quote can be executed after it was given.
FX_QUOTE_TTL_SECONDS = env.int("FX_QUOTE_TTL_SECONDS", default=30)
# A stored rate older than this (per source) is refused with rate_stale, never quoted from.
# The ECB publishes once per working day, so its age allows for weekends and holidays.
FX_RATE_MAX_AGE_SECONDS = {
    "sandbox": env.int("FX_SANDBOX_MAX_AGE_SECONDS", default=300),
    "ecb": env.int("FX_ECB_MAX_AGE_SECONDS", default=4 * 24 * 3600),
}
CELERY_BEAT_SCHEDULE["payments-fx-rates-refresh"] = {
    "task": "payments.fx_rates_refresh",
    "schedule": timedelta(seconds=env.int("FX_RATES_REFRESH_SECONDS", default=60)),
}

# --- Payouts, disputes and reconciliation ---------------------------------------------------
# A new or changed payout destination blocks payouts for this long (account-takeover defence).
PAYOUT_DESTINATION_HOLD_HOURS = env.int("PAYOUT_DESTINATION_HOLD_HOURS", default=72)
# Instant payouts cost a fee: basis points of the amount, rounded up, at least the minimum
# (minor units of the payout's currency). Standard payouts are free.
PAYOUT_INSTANT_FEE_BPS = env.int("PAYOUT_INSTANT_FEE_BPS", default=150)
PAYOUT_INSTANT_FEE_MIN = env.int("PAYOUT_INSTANT_FEE_MIN", default=50)
PAYOUT_STANDARD_ARRIVAL_DAYS = env.int("PAYOUT_STANDARD_ARRIVAL_DAYS", default=2)
# Transient processor errors are retried with exponential backoff, then left to the sweeper.
PAYOUT_SUBMIT_MAX_ATTEMPTS = env.int("PAYOUT_SUBMIT_MAX_ATTEMPTS", default=8)
PAYOUT_RETRY_BASE_SECONDS = env.int("PAYOUT_RETRY_BASE_SECONDS", default=5)
# The sweeper re-drives payouts untouched for this long in requested/submitting, asks the
# processor about payouts pending for PAYOUT_PENDING_CHECK_SECONDS, and voids payout holds
# whose request died before its payout row was written.
PAYOUT_STUCK_AFTER_SECONDS = env.int("PAYOUT_STUCK_AFTER_SECONDS", default=120)
PAYOUT_PENDING_CHECK_SECONDS = env.int("PAYOUT_PENDING_CHECK_SECONDS", default=6 * 3600)
PAYOUT_ORPHAN_HOLD_SECONDS = env.int("PAYOUT_ORPHAN_HOLD_SECONDS", default=600)
PAYOUT_SWEEP_BATCH = env.int("PAYOUT_SWEEP_BATCH", default=500)
# Queue for payout submission tasks (empty: the default queue).
PAYOUTS_QUEUE = env.str("PAYOUTS_QUEUE", default="")
# Fault injection for chaos tests only: seconds to pause after the processor accepted a
# payout and before we record it (the window in which a killed worker hurts most).
PAYOUTS_CHAOS_PAUSE_SECONDS = env.float("PAYOUTS_CHAOS_PAUSE_SECONDS", default=0.0)
# Who owns a disputed payment: dotted paths of functions (processor, payment_id) -> user id
# or None, asked in order.
PAYMENTS_DISPUTE_OWNER_RESOLVERS = env.list(
    "PAYMENTS_DISPUTE_OWNER_RESOLVERS",
    default=[
        "payments.disputes.services.owner_from_topup",
        "payments.disputes.services.owner_from_payment_metadata",
    ],
)
CELERY_BEAT_SCHEDULE["payouts-sweep"] = {
    "task": "payouts.sweep",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["payouts-weekly"] = {
    "task": "payouts.scheduled",
    "schedule": crontab(day_of_week="mon", hour=6, minute=0),
}
CELERY_BEAT_SCHEDULE["payouts-reconcile-nightly"] = {
    "task": "payouts.reconcile",
    "schedule": crontab(hour=3, minute=15),
}
