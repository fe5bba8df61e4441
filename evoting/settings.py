"""Settings for the e-voting site, driven entirely by the environment.

With no environment at all the site runs for development on SQLite. With
``DEBUG`` off every value that protects a real election must be given
explicitly, and a missing or weak one stops the process at start-up rather
than serving an unsafe site. Every variable is listed in README.md.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets generic classes such as ModelForm[User] be subscripted at run time, for typing.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)


def _development_secret_key() -> str:
    """A random key kept in var/ (never committed) so sessions survive restarts."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def _production_secret_key() -> str:
    key: str = env.str("SECRET_KEY", default="")
    if not key:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # The same thresholds as Django's security.W009 check, enforced instead of warned.
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak: use at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    return key


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    SECRET_KEY = _production_secret_key()
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "evoting.admin_site.ElectionAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "accounts",
    "elections",
]

MIDDLEWARE = [
    # First, so that a view's lost database connection is a 503, whatever else ran.
    "evoting.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (where set_language may keep the choice) and before
    # CommonMiddleware, as Django requires: the language cookie, then Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires, so it sees the outcome of every login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "evoting.urls"
WSGI_APPLICATION = "evoting.wsgi.application"

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

# --- Database -------------------------------------------------------------
DATABASE_URL = env.str("MONGODB_URI", default="") or env.str(
    "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
)
USE_MONGODB = DATABASE_URL.startswith(("mongodb://", "mongodb+srv://"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if USE_MONGODB:
    # === MongoDB: every backend-specific setting lives in this block ============
    # The official django-mongodb-backend. The project's models use UUID primary
    # keys and share their migrations with SQLite; the contrib and third-party apps
    # with integer AutoFields get ObjectIdAutoField AppConfigs and migration modules
    # of their own. Transactions (replica sets) are used when available, but
    # correctness of the cast path does not depend on them (elections/ballot_box.py).
    from pymongo.uri_parser import parse_uri as _parse_mongodb_uri

    DATABASES = {
        "default": {
            "ENGINE": "django_mongodb_backend",
            "HOST": DATABASE_URL,
            "NAME": env.str("MONGODB_NAME", default="")
            or _parse_mongodb_uri(DATABASE_URL)["database"]
            or "evoting",
        }
    }
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
    _MONGODB_APP_CONFIGS = {
        "evoting.admin_site.ElectionAdminConfig": "evoting.mongo_apps.MongoAdminConfig",
        "django.contrib.auth": "evoting.mongo_apps.MongoAuthConfig",
        "django.contrib.contenttypes": "evoting.mongo_apps.MongoContentTypesConfig",
        "axes": "evoting.mongo_apps.MongoAxesConfig",
    }
    INSTALLED_APPS = [
        "django_mongodb_backend",
        *(_MONGODB_APP_CONFIGS.get(app, app) for app in INSTALLED_APPS),
    ]
    MIGRATION_MODULES = {
        "admin": "evoting.mongo_migrations.admin",
        "auth": "evoting.mongo_migrations.auth",
        "contenttypes": "evoting.mongo_migrations.contenttypes",
        "axes": "evoting.mongo_migrations.axes",
    }
    # =============================================================================
else:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock when a transaction starts, so concurrent
            # read-modify-write transactions queue instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # WAL lets readers (turnout, results) proceed while a ballot is being written.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Each thread keeps its connection between requests: opening one (and running the
    # pragmas above) on every request cost a cast about a tenth of its web work.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # DATABASE_URL=postgres://user:password@host:port/name (psycopg 3). Anything given in
    # the URL's query string (?conn_max_age=0, ?sslmode=require) takes precedence.
    from psycopg import IsolationLevel

    # Each gunicorn worker thread keeps its connection between requests instead of
    # paying for a new one (TCP, SCRAM authentication) on every request; so the
    # server's max_connections must exceed workers x threads of every web process,
    # plus management commands. The health check replaces a connection the server
    # dropped (restart, failover) before a request uses it, rather than failing it.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    _postgres_options = DATABASES["default"].setdefault("OPTIONS", {})
    # A database that cannot be reached fails the request, instead of hanging the thread.
    _postgres_options.setdefault("connect_timeout", 10)
    # Read committed (PostgreSQL's default, pinned against a server configured
    # otherwise): a compare-and-swap that waited for a concurrent update of the tally
    # re-reads the row and finds the version moved, so the cast retries from fresh
    # reads (elections/ballot_box.py) instead of failing with a serialization error.
    _postgres_options.setdefault("isolation_level", IsolationLevel.READ_COMMITTED)

# --- Accounts and authentication -----------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
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
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes). Failures are counted per (username, client address)
# pair, so a guesser elsewhere cannot lock a voter out of their own machine.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_ip"
AXES_USERNAME_CALLABLE = "accounts.network.lockout_username"
AXES_ALLOWED_CORS_ORIGINS = "null"
AXES_VERBOSE = False
# Password-reset emails: at most this many per address and per client address in
# each window (accounts/views.py); the page answers the same whatever happens.
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env.int("PASSWORD_RESET_LIMIT_PER_CLIENT", default=10)
PASSWORD_RESET_WINDOW = env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60) * 60
# Number of reverse proxies in front of the site that append to X-Forwarded-For;
# 0 means the header is ignored entirely, so it cannot be spoofed.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Elections ------------------------------------------------------------
# Most ballots verified together by one process (see elections/verification.py);
# 1 checks every ballot on its own with the strict verifier.
BALLOT_VERIFY_BATCH = env.int("BALLOT_VERIFY_BATCH", default=64)
# Worker processes each web process checks its batches in, one batch per worker at
# a time; 0 checks them in a thread of the web process itself, which stalls its
# requests while a batch is checked (gmpy2 holds the GIL).
BALLOT_VERIFY_PROCESSES = env.int("BALLOT_VERIFY_PROCESSES", default=1)
# Worker processes for the full check of the board that runs before every decryption
# (elections/record.py, verify_board); 0 means one per core.
TALLY_CHECK_PROCESSES = env.int("TALLY_CHECK_PROCESSES", default=0)
# Ballot boxes a new election gets (its own field once created; see README, "Choosing
# workers and boxes"): each box has its own running tally and hash chain.
BALLOT_BOXES = env.int("BALLOT_BOXES", default=1)
# Most checked ballots one web process stores together, in one insert and one
# compare-and-swap of their box's tally (elections/ballot_box.py).
BALLOT_STORE_BATCH = env.int("BALLOT_STORE_BATCH", default=64)

# --- Security headers and cookies ----------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=False):
    # Only safe when the proxy overwrites X-Forwarded-Proto on every request.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "worker-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Static files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
if DEBUG:
    # WhiteNoise expects the collected directory to exist; in development it stays empty
    # because runserver serves static files from the apps directly.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Internationalisation -------------------------------------------------
# The language of emails sent outside a request to accounts that chose none, and of
# pages whose visitor's browser asks for none of LANGUAGES.
LANGUAGE_CODE = "en-gb"
# A visitor's language is the one they chose with the switcher (Django's language
# cookie), else the first of their browser's Accept-Language that the site has.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: to stderr, never with secrets (requests bodies are not logged) ---
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "evoting.security": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# --- Email: set-password links for voters put on a roll, password resets ----------
# EMAIL_URL (e.g. smtp+tls://user:password@mail.example.org:587) configures SMTP;
# without it development prints messages to the console.
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND",
        default=(
            "django.core.mail.backends.console.EmailBackend"
            if DEBUG
            else "django.core.mail.backends.smtp.EmailBackend"
        ),
    )
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="E-voting <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Notifications (accounts/notifications.py, elections/notifications.py): the same email
# about the same thing goes to the same person at most once in this window, and an
# invitation or reminder run finished within it is not repeated.
EMAIL_REPEAT_WINDOW = env.int("EMAIL_REPEAT_WINDOW_HOURS", default=24) * 60 * 60
# Single notifications (approval, cast confirmation, candidacy decisions) are sent by a
# thread of each web process (accounts/background_mail.py), so no request waits for the
# mail server: at most EMAIL_QUEUE_SIZE wait (more are dropped and logged), and at exit
# the process waits up to EMAIL_DRAIN_SECONDS for them. The tests send them at once.
EMAIL_IN_BACKGROUND = env.bool("EMAIL_IN_BACKGROUND", default=True)
EMAIL_QUEUE_SIZE = env.int("EMAIL_QUEUE_SIZE", default=10_000)
EMAIL_DRAIN_SECONDS = env.int("EMAIL_DRAIN_SECONDS", default=10)
# The address of the site as voters reach it, for the links in every email (those sent
# by commands and those sent after a commit have no request to take it from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")
