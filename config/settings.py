"""Settings, all read from the environment (see README "Configuration").

The embedded default is a SQLite file in the project folder with Celery tasks run eagerly
in-process; set DATABASE_URL, CELERY_BROKER_URL and REDIS_URL for PostgreSQL, workers and a
shared cache.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_HASHES
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.mail import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "axes",
    "apps.accounts",
    "apps.products",
    "apps.rubrics",
    "apps.surveys",
    "apps.scoring",
    "apps.reminders",
    "apps.exchange",
    "apps.api",
    "apps.dashboards",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.BadInputMiddleware",  # a NUL byte or deep JSON: 400, before any view
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the login page's message
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo server read while a management command writes. Transactions take the
    # write lock when they begin (IMMEDIATE), so two concurrent saves wait for each other
    # (up to `timeout` seconds) instead of one failing with "database is locked" when it
    # tries to upgrade a read lock.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["init_command"] = "PRAGMA journal_mode=WAL;"
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("timeout", 20)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down or slow: a cache miss and a warning, never an error page.
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="maturity"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Single sign-on with OpenID Connect, off unless an operator turns it on.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
# django-axes first: it refuses a locked-out account or address before any backend checks.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(1, "apps.accounts.oidc.Backend")
    OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
    OIDC_RP_SCOPES = "openid email profile"
# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username, or
# from one address, logging in is refused for LOGIN_COOLOFF_MINUTES (each new failure starts
# the wait again). Superusers unlock early in the admin site (Axes > Access attempts: delete)
# or with `manage.py axes_reset_username USERNAME` / `axes_reset_ip ADDRESS`.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.addresses.client_address"
# The proxies whose X-Forwarded-For (and, for gunicorn, X-Forwarded-Proto) are believed:
# addresses or networks, comma-separated; empty (the default) believes none.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=[])
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Static files served from collectstatic's copy: hashed names cached for a year, gzip copies
# (WhiteNoise), as in production and in the demo (scripts/demo); otherwise, for development
# and the tests, straight from the app folders as they are edited.
STATIC_COLLECTED = env.bool("STATIC_COLLECTED", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "config.storage.CollectedStaticFilesStorage"
            if STATIC_COLLECTED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_AUTOREFRESH = not STATIC_COLLECTED
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED

# The organisation's goal line on the trend charts (MLOpsScore: above 2.0, "reasonably tested").
DASHBOARD_TARGET = env.float("DASHBOARD_TARGET", default=2.0)
# Closing a round that would shrink the continuous cohort by more than this share (or that
# has no scored response) needs an explicit confirmation.
CLOSE_CONFIRM_COHORT_DROP = env.float("CLOSE_CONFIRM_COHORT_DROP", default=0.2)

# Small groups (k-anonymity): a trend point resting on fewer products than this that a user may
# not read (outside their teams) is hidden from them; viewers and administrators see it all.
DASHBOARD_MIN_GROUP = env.int("DASHBOARD_MIN_GROUP", default=5)

# E-mail: printed on the console unless EMAIL_URL names a server (smtp://user:pass@host:587,
# smtp+tls://..., smtp+ssl://...). An EMAIL_URL that cannot be read fails each mail, with the
# reason in the reminder log, instead of stopping the app.
vars().update(email_settings(env.str("EMAIL_URL", default="consolemail://")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ML maturity <maturity@localhost>")
EMAIL_TIMEOUT = 30  # seconds: an unreachable server fails a run instead of hanging it
# Links in mails are absolute: the address people open the app at.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Open rounds remind the products not submitted yet this many days before their deadline.
REMINDER_DAYS = env.list("REMINDER_DAYS", cast=int, default=[7, 3, 1])

# Celery: without a broker every task runs eagerly in the calling process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "restart-stale-scoring-jobs": {
        "task": "apps.scoring.tasks.restart_stale_scoring_jobs",
        "schedule": 30.0,
    },
    # Once a day (in TIME_ZONE): the reminders due by REMINDER_DAYS, and the retries.
    "send-scheduled-reminders": {
        "task": "apps.reminders.tasks.send_scheduled_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
}
# Redis redelivers a task held by a killed worker after this; the sweep usually comes first.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A running scoring job's heartbeat; with none for SCORING_STALE_SECONDS its worker is taken
# for dead and the sweep above restarts the job (a killed job finishes within two minutes).
SCORING_HEARTBEAT_SECONDS = env.int("SCORING_HEARTBEAT_SECONDS", default=15)
SCORING_STALE_SECONDS = env.int("SCORING_STALE_SECONDS", default=60)

# API tokens stop working this many days after they were created (apps/api/tokens.py).
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
REST_FRAMEWORK = {
    # Token first: an anonymous call then gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.api.throttles.AnonThrottle",
        "apps.api.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ML maturity assessments API",
    "DESCRIPTION": "Products, rubrics, rounds, responses, answers, results and trends.",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from static/, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoundStateEnum": "apps.surveys.models.SurveyRound.State",
        "VersionStateEnum": "apps.rubrics.models.RubricVersion.State",
    },
}

# Content-Security-Policy (django-csp): everything from this site only, no inline script and
# no eval (pages hand data to static/js in <script type="application/json"> blocks and data-
# attributes), never framed. The only inline styles allowed are these exact <style> blocks,
# by hash (tests/test_csp.py derives each from the installed package):
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"  # the hash of ""
BOLD_STYLE = "'sha256-wkY2X5hecQzbhnFCqvTpwrUJ1f4X8LH5WFjYUzv1wmU='"  # "font-weight:bold"
INLINE_STYLE_HASHES = [
    EMPTY_STYLE,  # plotly.js: an empty <style> it fills through the CSSOM (chart, hover rules)
    # the admin site's change lists without actions (e.g. Tokens)
    "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='",
    # drf-spectacular's Swagger UI page (/api/docs/)
    "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='",
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, *INLINE_STYLE_HASHES],
        # plotly.js also writes empty style="" attributes (its real styles go through the CSSOM)
        # and style="font-weight:bold" for the <b> of a label (the heatmap's hover: its question)
        "style-src-attr": [UNSAFE_HASHES, EMPTY_STYLE, BOLD_STYLE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Production hardening: on whenever DEBUG is off (behind a TLS-terminating proxy).
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself; otherwise a client could claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
