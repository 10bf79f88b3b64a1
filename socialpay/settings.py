"""SocialPay settings, read from the environment (django-environ).

Profiles (``SOCIALPAY_PROFILE``): ``development`` (default), ``test`` and ``production``.
Production refuses to start without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on
every transport-security setting so that ``manage.py check --deploy`` is clean. Production
reads the process environment only: a ``.env`` file is a development convenience, and one
left in a deployed folder (or image) must not silently supply secrets.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_noop

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is convenient in development; the real environment always wins. Production
# takes its settings from the process environment alone (see the module docstring).
# (read_env copies the file's values into os.environ, so the real value is noted first.)
# SOCIALPAY_ENV_FILE names another file than the checkout's .env (the settings tests use
# one of their own, so that processes started beside them never read it).
_PROFILE_IN_ENVIRONMENT = os.environ.get("SOCIALPAY_PROFILE")
_ENV_FILE = Path(os.environ.get("SOCIALPAY_ENV_FILE") or BASE_DIR / ".env")
if _PROFILE_IN_ENVIRONMENT != "production" and _ENV_FILE.is_file():
    environ.Env.read_env(_ENV_FILE, overwrite=False)

PROFILE = env.str("SOCIALPAY_PROFILE", default="development")
if PROFILE not in {"development", "test", "production"}:
    raise ValueError(f"SOCIALPAY_PROFILE must be development, test or production, not {PROFILE!r}")
PRODUCTION = PROFILE == "production"
if PRODUCTION and _PROFILE_IN_ENVIRONMENT != "production":
    raise ImproperlyConfigured(
        "SOCIALPAY_PROFILE=production came from .env; production reads only the process "
        "environment, so set it (and every other setting) there"
    )

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
# Key rotation: put the old key here when setting a new SECRET_KEY, so sessions, password
# reset links and signed values made with it stay valid; remove it once they have expired
# (two weeks for sessions, PASSWORD_RESET_TIMEOUT for reset links).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Who receives error reports and the nightly checks' findings (comma-separated addresses).
ADMINS = env.list("ADMINS", default=[])

INSTALLED_APPS = [
    # Django's admin, behind allauth's login and a second factor (accounts.admin_site).
    "accounts.admin_site.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
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
    "payments.links",
    "payments.payouts",
    "payments.disputes",
    "payments.hooks",
    "payments.processors.sandbox.apps.SandboxProcessorConfig",
    "payments",
]

MIDDLEWARE = [
    # API requests that carry a Bearer token go down a chain of their own: this list without
    # the middleware only a browser needs (core/api_middleware.py: BROWSER_ONLY_MIDDLEWARE).
    "core.api_middleware.BearerApiDispatch",
    # Outermost in both chains: counts and times every answer, other middlewares' included.
    "core.middleware.MetricsMiddleware",
    # Next, so that every answer (static files and redirects too) carries a request id.
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers are gzipped for browsers that accept it (a timeline page: 35 KB
    # of HTML, 3 KB gzipped). Below WhiteNoise, which serves its own pre-compressed static
    # files; Django pads each gzipped body with random bytes against BREACH. Answers under
    # 1 KB are sent as they are (core/middleware.py: SizedGZipMiddleware).
    "core.middleware.SizedGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # /api/ answers carry SocialPay-Version; a request may pin one (core/api/versioning.py).
    "core.api.versioning.ApiVersionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's saved language outranks the browser's (after Locale and Auth).
    "accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
# Django's PostgreSQL backend, with that health check (a SELECT 1 round trip) at most once
# per interval per connection instead of before every request (core/postgresql/base.py);
# 0 checks before every request, as Django does.
DATABASES["default"]["ENGINE"] = "core.postgresql"
DATABASES["default"]["HEALTH_CHECK_INTERVAL_SECONDS"] = env.float(
    "DB_HEALTH_CHECK_INTERVAL_SECONDS", default=1.0
)
# Behind PgBouncer in transaction mode (see also LEDGER_PREPARED_STATEMENTS).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# While PostgreSQL cannot be reached, requests answer 503 with this Retry-After (core.views).
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int(
    "DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=10
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas (core.db_router; docs/scaling.md): off unless DATABASE_REPLICA_URLS names
# streaming replicas of DATABASE_URL's server (comma-separated). Then the timeline,
# profiles, search and feeds may read posts and accounts from a replica; money, limits,
# authentication and every write stay on the primary.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASE_REPLICAS: list[str] = []
for _n, _url in enumerate(DATABASE_REPLICA_URLS):
    _replica = env.db_url_config(_url)
    _replica["HOST"] = unquote(_replica.get("HOST", ""))
    for _key in (
        "ENGINE",
        "ATOMIC_REQUESTS",
        "CONN_MAX_AGE",
        "CONN_HEALTH_CHECKS",
        "HEALTH_CHECK_INTERVAL_SECONDS",
    ):
        _replica[_key] = DATABASES["default"][_key]
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # The test runner makes no test database on a replica: it mirrors the primary's.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_n}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_n}")
# A connection that is one PostgreSQL session for its whole life, for the idempotency
# claims of views that call a processor (core.idempotency): set it when DATABASE_URL is a
# transaction-mode pooler (to the primary itself, or a session-mode pool). Closed after
# each request, so it holds a backend only while such a view runs.
DATABASE_SESSION_URL = env.str("DATABASE_SESSION_URL", default="")
if DATABASE_SESSION_URL:
    _session = env.db_url_config(DATABASE_SESSION_URL)
    _session["HOST"] = unquote(_session.get("HOST", ""))
    _session.update(ATOMIC_REQUESTS=False, CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
    _session.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    _session["TEST"] = {"MIRROR": "default"}
    DATABASES["session"] = _session
IDEMPOTENCY_LOCK_DATABASE = "session" if DATABASE_SESSION_URL else "default"
# A replica further behind than either bound takes no reads until it has caught up.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=2.0)
DATABASE_REPLICA_MAX_LAG_BYTES = env.int("DATABASE_REPLICA_MAX_LAG_BYTES", default=16 * 2**20)
# Each process measures a replica's lag at most this often.
DATABASE_REPLICA_LAG_CHECK_SECONDS = env.float("DATABASE_REPLICA_LAG_CHECK_SECONDS", default=1.0)
# After a successful write, a person's reads stay on the primary this long.
READ_YOUR_WRITES_SECONDS = env.int("READ_YOUR_WRITES_SECONDS", default=5)
# The views (URL names, GET and HEAD) whose reads of DATABASE_REPLICA_APPS may go to a
# replica, and the models of those apps that never do.
DATABASE_REPLICA_VIEWS = frozenset(
    {
        "home",
        "posts:profile",
        "posts:feed",
        "posts:search",
        "posts:detail",
        "api-timeline",
        "api-posts",
        "api-post",
        "api-post-replies",
        "api-user-posts",
        "api-user",
        "api-user-search",
    }
)
DATABASE_REPLICA_APPS = frozenset({"posts", "accounts"})
DATABASE_PRIMARY_MODELS = frozenset({"accounts.User", "accounts.ApiToken"})
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"] if DATABASE_REPLICAS else []
if DATABASE_REPLICAS:
    # After authentication (it reads the person's cookies and headers), before the views.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "core.db_router.ReplicaReadsMiddleware",
    )

# --- Redis: cache and Celery broker --------------------------------------------------------
# REDIS_URL holds the cache, the API rate limits and the beat heartbeat, all of which may be
# lost (an LRU-evicting server is right for it). CELERY_BROKER_URL holds queued tasks, which
# must not be evicted: in production give it its own server (or at least its own database
# on a server) with maxmemory-policy noeviction.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# A Redis Cluster instead, for the cache, the API rate limits and the home timelines (not
# the broker, which stays on CELERY_BROKER_URL): some of its nodes, comma-separated
# (redis://host:port); the client discovers the rest (core.redis_clients).
REDIS_CLUSTER_URLS = env.list("REDIS_CLUSTER_URLS", default=[])
# While Redis is unreachable the cache answers "not found" and rate limits count in each
# process (core.redis_fallback); after a failure Redis is left alone this many seconds.
# On a cluster a failure is usually one master in failover (a few seconds), and failing
# fast costs little: try again sooner, so reads come back soon after the promotion.
REDIS_RETRY_AFTER_SECONDS = env.float(
    "REDIS_RETRY_AFTER_SECONDS", default=1.0 if REDIS_CLUSTER_URLS else 5.0
)
CACHES = {
    "default": {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="sp"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
if REDIS_CLUSTER_URLS:
    CACHES["default"].update(
        BACKEND="core.cache.ResilientRedisClusterCache", LOCATION=REDIS_CLUSTER_URLS
    )

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
# Adding, removing or choosing the primary e-mail address and changing the password need a
# fresh proof of identity; each change is mailed to the person (an address that stops
# being the account's gets the notice, with an undo link: accounts.adapter).
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
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
# Wrong codes count towards the login lockout; a locked identity may not try one.
MFA_FORMS = {
    "authenticate": "accounts.forms.MfaAuthenticateForm",
    "reauthenticate": "accounts.forms.MfaReauthenticateForm",
}
# Failed logins (wrong passwords and wrong second-factor codes alike) are counted per
# person — the account behind any spelling of the handle or the e-mail address — and
# client address (accounts.lockout; the address from core.client_ip). Only a complete
# login resets the count.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"
# Login records (django-axes) older than this are deleted nightly (core.tasks).
AUTH_LOG_RETENTION_DAYS = env.int("AUTH_LOG_RETENTION_DAYS", default=90)
# A person's data export (accounts.exports) can be downloaded for this many days, then its
# file is deleted (accounts.exports_prune on the beat schedule).
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=3)

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
# E-mails are written by workers, outside any request: links in them start with SITE_URL.
SITE_NAME = env.str("SITE_NAME", default="SocialPay")
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# Where "Report a problem" on a payment writes to.
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@socialpay.localhost")

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
# Uploads (avatars, digital goods): the file system by default (one machine, MEDIA_ROOT,
# backed up by `make backup`); with MEDIA_S3_BUCKET set, an S3-compatible object store
# (AWS S3, MinIO, Ceph...), which every web server and worker shares, for more than one
# machine. Credentials come from the usual AWS_* variables or the instance's role.
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "custom_domain": env.str("MEDIA_S3_CUSTOM_DOMAIN", default="") or None,
            # Objects are private; pages link to them with signed, expiring URLs.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 3600,
            "file_overwrite": False,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
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
# Embeds (a tip button, a "support me" card, a post) are made to be framed by other sites:
# any site may frame them, and everything else is stricter than the pages' policy — no
# script at all, nothing fetched but our own styles and images, no forms, links only.
# Applied per view (``csp_override``); X-Frame-Options is lifted on those views alone.
EMBED_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": ["*"],
    "form-action": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and Prometheus talk plain HTTP to the container, past the TLS proxy.
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|livez|readyz|metrics)$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- The client's address behind proxies (core.client_ip) ---------------------------------
# Rate limits, the login lockout and the logs key on the client's address. X-Forwarded-For
# is ignored unless one of these says which proxies are ours: the number of proxies in
# front of the app (each appends to the header), or the networks they are in. Both empty:
# the direct peer's address (REMOTE_ADDR) is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_CIDRS = env.list("TRUSTED_PROXY_CIDRS", default=[])
if TRUSTED_PROXY_COUNT < 0:
    raise ValueError("TRUSTED_PROXY_COUNT must be 0 or more")
for _cidr in TRUSTED_PROXY_CIDRS:
    ipaddress.ip_network(_cidr, strict=False)  # a typo must stop the start, not trust all
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"

# --- API tokens (accounts.authentication) --------------------------------------------------
# New tokens expire after this many days unless their creator picks 1..API_TOKEN_MAX_DAYS.
# Tokens issued before expiry existed have none (and all scopes) until revoked.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)

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
        # POST /webhooks/{processor}, per client address; the processor retries a 429.
        # The test suite posts many signed events from one address (its own test sets it).
        "webhook": env.str(
            "THROTTLE_WEBHOOK", default="100000/min" if PROFILE == "test" else "300/min"
        ),
        # Payment links' pages and API, per person or address (payments.links.throttle).
        "links": env.str("THROTTLE_LINKS", default="60/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Serializers hand datetimes to the renderer, which writes every one as RFC 3339 UTC
    # with ``Z`` (core.api.timestamps): one choice for every answer.
    "DATETIME_FORMAT": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SocialPay API",
    "DESCRIPTION": (
        "Amounts are integer minor units with an uppercase ISO 4217 currency. "
        "Every POST that moves money requires an Idempotency-Key header. Lists are "
        "{object: list, data, has_more, next_cursor}, paged with ?cursor= and ?limit=. "
        "Times are RFC 3339 in UTC with Z. Every answer carries SocialPay-Version (the dated "
        "contract version; see the API changelog); send the same header to pin one."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Assets served by us, not a CDN: the machine may have no internet and the CSP allows 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Relative: the schema describes the server that serves it.
    "SERVERS": [{"url": "/", "description": "This server"}],
    "ENUM_NAME_OVERRIDES": {
        "ProductKindEnum": "payments.creators.models.Product.Kind",
        "PaymentLinkKindEnum": "payments.links.models.PaymentLink.Kind",
        # The ``object`` types used by more than one component (core.api.objects).
        "ListObjectEnum": ["list"],
        "TipObjectEnum": ["tip"],
        "PaymentLinkObjectEnum": ["payment_link"],
        "LinkPaymentObjectEnum": ["link_payment"],
        "PostObjectEnum": ["post"],
        "UserObjectEnum": ["user"],
        "WebhookEndpointObjectEnum": ["webhook_endpoint"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.contract_hook",
    ],
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
# The nightly checks (ledger_verify, reconciliation) read everything and grow with the data,
# so they have limits of their own (set on the tasks from these values).
NIGHTLY_TASK_SOFT_TIME_LIMIT = env.int("NIGHTLY_TASK_SOFT_TIME_LIMIT", default=45 * 60)
NIGHTLY_TASK_TIME_LIMIT = env.int("NIGHTLY_TASK_TIME_LIMIT", default=50 * 60)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the
# longest task (the nightly limit) plus its countdown, or a slow task runs twice at once.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= NIGHTLY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed NIGHTLY_TASK_TIME_LIMIT "
        "(a task still running at the visibility timeout is delivered a second time)"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # A broker that does not answer must not hold a web request for long (kombu's default
    # is to wait for the operating system's TCP timeout).
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# Publishing a task when the broker is down: give up after about a second (the callers log
# it, and a sweeper or beat re-drives the work from the database) instead of blocking.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Stopping a worker (SIGTERM, e.g. `docker compose stop`; the worker runs with
# REMAP_SIGTERM=SIGQUIT): it stops taking tasks and, if any is running, waits this long
# (Celery's soft shutdown: a fixed wait), then cancels what is still running, which goes
# back to the queue at once (acks_late; every task is idempotent). Just above the hard
# limit of ordinary tasks, so that only a nightly check is ever cut short; an idle worker
# stops at once. The container's stop grace period must be longer (docker-compose.yml).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float(
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5
)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = False
# Our own logging configuration (JSON in production) applies to the worker and beat too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False
# Tests give their worker a queue of its own so that no other worker on the same Redis
# (a developer's `make run`) takes their tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Queues by kind of work for workers on several hosts (core.celery_queues); off: one queue.
CELERY_SPLIT_QUEUES = env.bool("CELERY_SPLIT_QUEUES", default=False)
if CELERY_SPLIT_QUEUES:
    from core.celery_queues import task_routes, work_queues

    CELERY_WORK_QUEUES = work_queues(CELERY_TASK_DEFAULT_QUEUE)
    CELERY_TASK_ROUTES = task_routes(CELERY_TASK_DEFAULT_QUEUE)
else:
    CELERY_WORK_QUEUES = {}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".data" / "celerybeat-schedule")
)
# Beat records that it is alive (``beat:last``) for its health probe (core.beat).
CELERY_BEAT_SCHEDULER = "core.beat.HeartbeatScheduler"
# The beat probe (manage.py probe beat) fails when beat:last is older than this.
BEAT_PROBE_MAX_AGE_SECONDS = env.int("BEAT_PROBE_MAX_AGE_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "core.tasks.heartbeat",
        "schedule": timedelta(minutes=1),
    },
    "idempotency-purge": {
        "task": "core.tasks.idempotency_purge",
        "schedule": timedelta(hours=1),
    },
    # Expired sessions are never deleted by Django itself.
    "sessions-clear-expired": {
        "task": "core.tasks.sessions_clear_expired",
        "schedule": crontab(hour=4, minute=5),
    },
    # Expired data exports (their ZIPs) and exports a dead worker left behind.
    "accounts-exports-prune": {
        "task": "accounts.exports_prune",
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
    "SUPPORTED_CURRENCIES",
    default=["USD", "EUR", "GBP", "CHF", "JPY", "BRL", "INR", "KWD", "CAD", "AUD"],
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
PAYMENTS_WEBHOOK_HANDLER_MODULES = env.list("PAYMENTS_WEBHOOK_HANDLER_MODULES", default=[])
# The sandbox delivers its webhooks by calling the intake in-process, or over HTTP here.
SANDBOX_WEBHOOK_URL = env.str("SANDBOX_WEBHOOK_URL", default="")
# Without a URL the sandbox hands its webhooks to this intake function in-process.
SANDBOX_WEBHOOK_RECEIVER = "payments.webhooks.services.webhook_receive"
SANDBOX_PAYOUT_SETTLE_SECONDS = env.float("SANDBOX_PAYOUT_SETTLE_SECONDS", default=0.0)
# Connect events (payouts of connected accounts) come from a second Stripe endpoint.
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=0)
# A web request that calls Stripe must get its answer (or give up) before gunicorn kills the
# worker process serving it (GUNICORN_TIMEOUT, read by deploy/gunicorn.conf.py too).
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
GUNICORN_TIMEOUT = env.int("GUNICORN_TIMEOUT", default=30)
if STRIPE_TIMEOUT_SECONDS * (STRIPE_MAX_NETWORK_RETRIES + 1) >= GUNICORN_TIMEOUT:
    raise ImproperlyConfigured(
        "STRIPE_TIMEOUT_SECONDS (times 1 + STRIPE_MAX_NETWORK_RETRIES) must stay below "
        "GUNICORN_TIMEOUT, or gunicorn kills a request that is still waiting for Stripe"
    )
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

# --- Outgoing webhooks (payments.hooks) -----------------------------------------------------
# Deliveries are retried with exponential backoff (base * 2^attempt, capped) until this long
# after the event, then marked failed; the person can still redeliver by hand.
HOOKS_RETRY_FOR = timedelta(seconds=env.int("HOOKS_RETRY_FOR_SECONDS", default=3 * 24 * 3600))
HOOKS_RETRY_BASE_SECONDS = env.float(
    "HOOKS_RETRY_BASE_SECONDS", default=0.2 if PROFILE == "test" else 30.0
)
HOOKS_RETRY_MAX_SECONDS = env.float(
    "HOOKS_RETRY_MAX_SECONDS", default=2.0 if PROFILE == "test" else 6 * 3600.0
)
# One request's connect + read budget; a receiver that takes longer is retried later.
HOOKS_TIMEOUT_SECONDS = env.float(
    "HOOKS_TIMEOUT_SECONDS", default=1.0 if PROFILE == "test" else 10.0
)
# Endpoints on loopback or private addresses are refused (SSRF) unless this is on; it is
# never on in production, where it would let anyone probe the internal network.
HOOKS_ALLOW_PRIVATE_ADDRESSES = (
    False if PRODUCTION else env.bool("HOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
)
# A worker holds the deliveries it claimed this long: a killed worker's are posted again
# (under the same event ids) once it has passed. Must exceed a request's timeout.
HOOKS_CLAIM_SECONDS = env.int("HOOKS_CLAIM_SECONDS", default=120)
if HOOKS_CLAIM_SECONDS <= 2 * HOOKS_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("HOOKS_CLAIM_SECONDS must exceed twice HOOKS_TIMEOUT_SECONDS")
HOOKS_ENDPOINTS_PER_USER_MAX = env.int("HOOKS_ENDPOINTS_PER_USER_MAX", default=10)
# After a rotation the old secret keeps signing (a second v1) this long.
HOOKS_SECRET_OVERLAP = timedelta(hours=env.int("HOOKS_SECRET_OVERLAP_HOURS", default=24))
HOOKS_KICK_SECONDS = env.float("HOOKS_KICK_SECONDS", default=0.0 if PROFILE == "test" else 0.5)
HOOKS_DELIVERY_RETENTION_DAYS = env.int("HOOKS_DELIVERY_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["hooks-events-dispatch"] = {
    "task": "hooks.events_dispatch",
    "schedule": timedelta(seconds=5),
}
CELERY_BEAT_SCHEDULE["hooks-deliveries-due"] = {
    "task": "hooks.deliveries_due",
    "schedule": timedelta(seconds=30),
}
CELERY_BEAT_SCHEDULE["hooks-prune"] = {
    "task": "hooks.prune",
    "schedule": timedelta(hours=6),
}

# --- Home timelines: fan-out on write into Redis (posts.timeline_cache) --------------------
# On: a published post's id is pushed (by a Celery task after commit) to the cached timeline
# of each follower; reads page through the cache and merge in the posts of "celebrities"
# (authors with more than TIMELINE_CELEBRITY_FOLLOWERS followers, never fanned out). Off, or
# whenever Redis misses or is down: the timeline is read from PostgreSQL as before.
TIMELINE_FANOUT = env.bool("TIMELINE_FANOUT", default=PRODUCTION)
# Post ids kept per cached timeline (older pages are read from PostgreSQL).
TIMELINE_CACHE_SIZE = env.int("TIMELINE_CACHE_SIZE", default=800)
TIMELINE_CELEBRITY_FOLLOWERS = env.int("TIMELINE_CELEBRITY_FOLLOWERS", default=10_000)
# A cached timeline is rebuilt from PostgreSQL this long after it was built, whatever
# happened meanwhile: any drift (a fan-out lost with Redis or the broker) lasts no longer.
TIMELINE_CACHE_TTL_SECONDS = env.int("TIMELINE_CACHE_TTL_SECONDS", default=24 * 3600)

# --- Ledger ---------------------------------------------------------------------------------
# ledger_verify reports holds still pending after this many hours.
LEDGER_HOLD_MAX_AGE_HOURS = env.int("LEDGER_HOLD_MAX_AGE_HOURS", default=7 * 24)
# The ledger's hot path runs prepared statements, prepared once per database session (about
# half the database CPU of a transfer). Turn this off behind a transaction-mode pooler
# (PgBouncer pool_mode=transaction), where a session's prepared statements are not there
# for its next transaction; the same SQL is then sent in full each time.
LEDGER_PREPARED_STATEMENTS = env.bool("LEDGER_PREPARED_STATEMENTS", default=True)
# The nightly ledger_verify runs incrementally (from the newest checkpoint) and in full when
# the newest full run is older than this many days.
LEDGER_VERIFY_FULL_EVERY_DAYS = env.int("LEDGER_VERIFY_FULL_EVERY_DAYS", default=7)
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
        # Posting partitions three million ids ahead (see ledger migration 0004).
        "ledger-posting-partitions-ensure": {
            "task": "ledger.tasks.posting_partitions_ensure",
            "schedule": timedelta(minutes=1),
        },
    }
)
# --- Logging (structlog, one JSON object per line in production) ---------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=PRODUCTION)

from core.logging import configure_logging  # noqa: E402  (needs the values above)

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, json=LOG_JSON)

# --- Metrics and error tracking -------------------------------------------------------------
# /metrics (Prometheus) answers only requests with "Authorization: Bearer <METRICS_TOKEN>";
# without a token it does not exist. Workers serve their task metrics on
# CELERY_METRICS_PORT (0: off), a port for the internal network only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)
# Error tracking with Sentry (or a compatible service) for Django and Celery, when set.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=PROFILE),
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        # No personal data (user e-mail, IP, cookies, bodies) leaves for the error tracker.
        send_default_pii=False,
        max_request_body_size="never",
    )

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
    "CAD": "0.75",
    "AUD": "0.70",
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
# Payments to someone else or out above this (limits currency, minor units) need a recent
# re-authentication: transfers, request payments, tips, unlocks, orders, memberships, FX
# sends and payouts (the one step-up rule, ``payments.wallets.payer``).
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
# Receipts wait in an outbox written with the payment (payments.wallets.receipts). A web
# process wakes the worker at most once per this many seconds; beat drains every second,
# which bounds the wait of a receipt whose wake-up was folded into an earlier one.
# 0 wakes the worker after every payment (the test suite, which runs no beat).
RECEIPTS_KICK_SECONDS = env.float("RECEIPTS_KICK_SECONDS", default=0 if PROFILE == "test" else 0.25)
# Tasks a worker publishes each time it (re)connects to the broker (socialpay.celery): the
# drains of the outboxes whose wake-ups a broker restart can lose (webhook retries wait in
# the broker as delayed wake-ups of the delivery dispatcher).
CELERY_ON_CONNECT_TASKS = [
    "payments.receipts_outbox_drain",
    "hooks.events_dispatch",
    "hooks.deliveries_dispatch",
]
CELERY_BEAT_SCHEDULE["receipts-outbox-drain"] = {
    "task": "payments.receipts_outbox_drain",
    "schedule": timedelta(seconds=1),
}
# A receipt's e-mail not recorded as sent this long after its receipt was written (its
# worker died after the batch's commit) is sent by the sweep. Above the drain's run (30 s)
# plus a batch's sending, so a live worker's e-mails are not sent a second time.
RECEIPT_EMAIL_RETRY_AFTER_SECONDS = env.int("RECEIPT_EMAIL_RETRY_AFTER_SECONDS", default=120)
CELERY_BEAT_SCHEDULE["receipt-emails-sweep"] = {
    "task": "payments.receipt_emails_sweep",
    "schedule": timedelta(seconds=60),
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
# Guest payments by card (no account): abuse limits counted over a sliding window, per card
# fingerprint and per client IP, every attempt counted (declines too: card testing is
# what they stop); and a cap on what one card may tip as a guest in a day (limits
# currency, minor units).
GUEST_WINDOW_SECONDS = env.int("GUEST_WINDOW_SECONDS", default=3600)
GUEST_PAYMENTS_PER_CARD = env.int("GUEST_PAYMENTS_PER_CARD", default=5)
GUEST_PAYMENTS_PER_IP = env.int("GUEST_PAYMENTS_PER_IP", default=20)
GUEST_TIP_CAP = env.int("GUEST_TIP_CAP", default=10_000)
GUEST_TIP_CAP_WINDOW_SECONDS = env.int("GUEST_TIP_CAP_WINDOW_SECONDS", default=24 * 3600)
# How long the signed access link of a guest's unlock or digital product works.
GUEST_ACCESS_MAX_AGE_SECONDS = env.int("GUEST_ACCESS_MAX_AGE_SECONDS", default=30 * 24 * 3600)
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
# Instant payouts (to a debit card) cost a fee: basis points of the amount, rounded up, at
# least the minimum. The minimum is in minor units of WALLET_LIMITS_CURRENCY (50: $0.50),
# worth the same in every currency through WALLET_LIMIT_RATES, rounded up (CAD 0.67,
# JPY 72, KWD 0.152). The fee is platform revenue. Standard payouts are free.
PAYOUT_INSTANT_FEE_BPS = env.int("PAYOUT_INSTANT_FEE_BPS", default=150)
PAYOUT_INSTANT_FEE_MIN = env.int("PAYOUT_INSTANT_FEE_MIN", default=50)
# Debit cards offered on the payout settings page (processor tokens, Stripe's test vocabulary;
# no card number is ever typed here).
# Marked with gettext_noop so that `make messages` keeps their translations (the page
# translates them when it shows them).
PAYOUT_TEST_DEBIT_CARDS = [
    ("tok_visa_debit", gettext_noop("Visa debit (instant payouts)")),
    ("tok_mastercard_debit", gettext_noop("Mastercard debit (instant payouts)")),
    ("tok_visa_debit_transferFail", gettext_noop("Visa debit whose payouts fail")),
    ("tok_visa", gettext_noop("Visa credit card (refused: not a debit card)")),
]
PAYOUT_STANDARD_ARRIVAL_DAYS = env.int("PAYOUT_STANDARD_ARRIVAL_DAYS", default=2)
# Transient processor errors are retried with exponential backoff, then left to the sweeper.
PAYOUT_SUBMIT_MAX_ATTEMPTS = env.int("PAYOUT_SUBMIT_MAX_ATTEMPTS", default=8)
PAYOUT_RETRY_BASE_SECONDS = env.int("PAYOUT_RETRY_BASE_SECONDS", default=5)
# The sweeper re-drives payouts untouched for this long in requested/submitting and asks the
# processor about payouts pending for PAYOUT_PENDING_CHECK_SECONDS.
PAYOUT_STUCK_AFTER_SECONDS = env.int("PAYOUT_STUCK_AFTER_SECONDS", default=120)
PAYOUT_PENDING_CHECK_SECONDS = env.int("PAYOUT_PENDING_CHECK_SECONDS", default=6 * 3600)
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
