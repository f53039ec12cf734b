"""Settings, all from the environment (django-environ); see README "Configuration"."""

import importlib.util
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import SimpleLazyObject

from blueprint.oidc import oidc_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".data" / "env"
if _env_file.exists():
    # Written by scripts/setup.sh; variables set in the real environment win.
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
try:
    SECRET_KEY = env.str("SECRET_KEY")
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(
        "Set SECRET_KEY (a long random string), e.g. "
        "`export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')`. "
        "`make run` writes one to .data/env for local use."
    ) from exc
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

try:
    # The service's own account: a non-superuser that cannot alter the audit log (blueprint/db_roles.py).
    DATABASE_APP = env.db_url("DATABASE_URL", engine="django.contrib.gis.db.backends.postgis")
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(
        "Set DATABASE_URL, e.g. postgis://user:password@host:5432/blueprint. "
        "`make run` starts the project's own PostGIS and writes it to .data/env."
    ) from exc
# Migrations and the test run connect to that database as the owner of the tables instead
# (DATABASE_AS_OWNER=true: the user and password of DATABASE_OWNER_URL); the app role is then
# granted its privileges after each migrate.
DATABASES = {"default": dict(DATABASE_APP)}
if env.bool("DATABASE_AS_OWNER", default=False):
    try:
        _owner = env.db_url("DATABASE_OWNER_URL")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "DATABASE_AS_OWNER=true needs DATABASE_OWNER_URL (the role owning the tables), e.g. "
            "postgis://blueprint_owner:password@host:5432/blueprint; scripts/pg.sh writes it to .data/env."
        ) from exc
    DATABASES["default"].update(USER=_owner["USER"], PASSWORD=_owner["PASSWORD"])
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# Off by default: the check is a `SELECT 1` on every request (4.6 % of a worker under load). A
# connection broken by a database restart then fails one request (answered 503) and is replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
# Bounded waits (issue 19): a connection attempt gives up after DB_CONNECT_TIMEOUT_S; a statement
# waiting for a lock after DB_LOCK_TIMEOUT_MS, any statement after DB_STATEMENT_TIMEOUT_MS (0: no
# limit). gunicorn (blueprint/gunicorn_conf.py) sets web defaults; imports and workers keep none.
# Past them the answer is a 503 with Retry-After (blueprint/boundary.py), never a hang.
_waits = {"lock_timeout": env.int("DB_LOCK_TIMEOUT_MS", default=0),
          "statement_timeout": env.int("DB_STATEMENT_TIMEOUT_MS", default=0)}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT_S", default=5)
if any(_waits.values()):
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(f"-c {k}={v}" for k, v in _waits.items() if v)
# A streaming replica (`make replica`) for reads that may be a little stale: OGC items and tiles,
# imagery tiles, map pages and statistics (blueprint/routers.py); empty: everything reads the
# primary. Past REPLICA_MAX_LAG_SECONDS of replay lag, or when it does not answer within its
# connect timeout (checked at most every REPLICA_CHECK_SECONDS per process), reads go to the primary.
# For failover, DATABASE_URL may name several hosts (postgis://…@h1:5432,h2:5432/blueprint
# ?target_session_attrs=read-write): libpq connects to whichever is the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=5.0)
# Not a check's or a project's page: one opens right after its check was stored.
REPLICA_READ_PATHS = env.list("REPLICA_READ_PATHS", default=[
    r"^/ogc/collections/[^/]+/(items|tiles|map|coverage)", r"^/tiles/imagery/",
    r"^/maps/($|data/|imagery|statistics)"])
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL,
                                             engine="django.contrib.gis.db.backends.postgis")
    # The primary's bounded waits, and a shorter connect timeout: a replica that is gone is skipped.
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], "connect_timeout": 2,
                                       **DATABASES["replica"].get("OPTIONS", {})}
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["blueprint.routers.ReplicaRouter"]
# Debian 12's GDAL 3.6 cannot block file access by spatial references; uploaded files are read by
# pyogrio's bundled GDAL (3.12), not by Django's GDAL bindings, so the warning is moot here.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "procrastinate.contrib.django",
    "blueprint",
    "layers",
    "compliance",
    "api",
    "maps",
    "exchange",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "blueprint.ops.requestlog.RequestMonitorMiddleware",  # first: times and logs every answer
    "django.middleware.security.SecurityMiddleware",
    "blueprint.middleware.ContentSecurityPolicyMiddleware",
    "blueprint.boundary.ErrorBoundaryMiddleware",
    "blueprint.routers.ReplicaReadsMiddleware",  # where a request's stale-tolerant reads go
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "blueprint.middleware.ResponsePolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "blueprint.middleware.AccessMiddleware",
    "blueprint.signin.SignInPolicyMiddleware",  # idle timeout, expired passwords, administrators' 2FA
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: answers a locked-out sign-in
]

ROOT_URLCONF = "blueprint.urls"
CSRF_FAILURE_VIEW = "blueprint.boundary.csrf_failure"  # the error boundary's form, not Django's page
WSGI_APPLICATION = "blueprint.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "blueprint" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# 等保三级 passwords: a minimum length, three of four character classes, not the user name, not one of
# the last PASSWORD_HISTORY, changed every PASSWORD_MAX_AGE_DAYS (blueprint/passwords.py).
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=10)
PASSWORD_HISTORY = env.int("PASSWORD_HISTORY", default=5)
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=90)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH}},
    {"NAME": "blueprint.passwords.CharacterClassesValidator"},
    {"NAME": "blueprint.passwords.NotUserNameValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "blueprint.passwords.HistoryValidator", "OPTIONS": {"history": PASSWORD_HISTORY}},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
# Serve app static files straight from the apps as well as from STATIC_ROOT, so that a page's
# vendored scripts are there even before (or without) collectstatic.
WHITENOISE_USE_FINDERS = True
# pygeoapi's own page assets (its CSS, script and logos), as /static/pygeoapi/… (api/ogc/html.py).
STATICFILES_DIRS = [("pygeoapi", Path(importlib.util.find_spec("pygeoapi").origin).parent / "static")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS=true when served over HTTPS (behind a proxy that sets X-Forwarded-Proto): redirects,
# HSTS and secure cookies. `manage.py check --deploy` is clean with it.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# A session ends after SESSION_IDLE_SECONDS without a request (blueprint.signin refreshes it at most
# once a minute, so a page's tiles do not each write the session).
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own probe speaks plain HTTP

# People sign in with a session (the Chinese login page); systems send Authorization: Bearer.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/maps/start"  # maps.views.start: where the person's work is
LOGOUT_REDIRECT_URL = "/"
# django-axes first: it refuses a sign-in while the (account, client address) pair is locked out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Optional OpenID Connect (统一认证), off unless OIDC_ENABLED=true; validated at start-up.
_OIDC = oidc_settings(env.ENVIRON)
OIDC_ENABLED = bool(_OIDC)
if OIDC_ENABLED:
    globals().update(_OIDC)
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("blueprint.oidc_backend.PortalOIDCBackend")

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.bodies.StrictJSONParser"],
    # Who may call what is decided once for every face by blueprint.middleware.AccessMiddleware
    # (rule table: blueprint/access_rules.py); DRF only learns who the caller is.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "一张蓝图 One Blueprint API",
    "DESCRIPTION": "合规性检查、受理闸口 — compliance checks and the acceptance gate. "
                   "Errors are RFC 9457 problem+json.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"CheckStatus": "compliance.models.Status"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.openapi.document_errors"],
}

# pygeoapi reads these when its URLs are imported; the real configuration is built per
# registry state by api/ogc/adapter.py. Lazy, so that loading settings does not import pygeoapi.
PYGEOAPI_CONFIG = {"server": {"url": "/ogc", "api_rules": {"strict_slashes": True}}}
OPENAPI_DOCUMENT: dict = {}


def _api_rules():
    from pygeoapi.util import get_api_rules

    return get_api_rules(PYGEOAPI_CONFIG)


API_RULES = SimpleLazyObject(_api_rules)

# The blueprint's own knobs.
BLUEPRINT = {
    # Where import staging, fixtures built at set-up and imagery live.
    "DATA_DIR": Path(env.str("BLUEPRINT_DATA_DIR", default=str(BASE_DIR / ".data"))),
    # Where imported scenes are kept as Cloud-Optimised GeoTIFFs (local disk).
    "IMAGERY_DIR": Path(env.str("IMAGERY_DIR", default=env.str("BLUEPRINT_DATA_DIR",
                                                              default=str(BASE_DIR / ".data")) + "/imagery")),
    # GDAL's raster block cache per process, in MiB (GDAL's default is 5 % of RAM per worker).
    "IMAGERY_GDAL_CACHE_MB": env.int("IMAGERY_GDAL_CACHE_MB", default=64),
    # Scene files (and their overview levels) each process keeps open for tiles.
    "IMAGERY_OPEN_SCENES": env.int("IMAGERY_OPEN_SCENES", default=32),
    # Features read from a source file per batch: bounds the importer's memory.
    "IMPORT_BATCH_SIZE": env.int("IMPORT_BATCH_SIZE", default=20_000),
    # Polygons with more vertices than this are cut into a subdivided copy for overlay work.
    "SUBDIVIDE_MAX_VERTICES": env.int("SUBDIVIDE_MAX_VERTICES", default=256),
    # Limits on a submitted site (compliance checks).
    "SITE_MAX_BYTES": env.int("SITE_MAX_BYTES", default=20 * 1024 * 1024),
    "SITE_MAX_VERTICES": env.int("SITE_MAX_VERTICES", default=200_000),
    "SITE_MAX_AREA_KM2": env.float("SITE_MAX_AREA_KM2", default=100.0),
    # Sites larger than this are checked by the background worker (202 + a job URL).
    "SITE_ASYNC_AREA_KM2": env.float("SITE_ASYNC_AREA_KM2", default=10.0),
    # A check's read is prepared once per database connection (turn off behind pgbouncer in
    # transaction mode, where a session's prepared statements do not follow it).
    "PREPARED_STATEMENTS": env.bool("DB_PREPARED_STATEMENTS", default=True),
    # A worker silent (no heartbeat) this long is dead: its running jobs are run again, and a job
    # whose workers died JOB_MAX_ATTEMPTS times is failed (blueprint/tasks.py).
    "JOB_STALE_SECONDS": env.int("JOB_STALE_SECONDS", default=60),
    "JOB_MAX_ATTEMPTS": env.int("JOB_MAX_ATTEMPTS", default=2),
    # Extra checks for unified project codes (dotted paths to callables taking the code).
    "PROJECT_CODE_CHECKS": env.list("PROJECT_CODE_CHECKS", default=[]),
    # Longest request URI (path and query) answered; longer is a 414 in the path's error form.
    # gunicorn's own request-line limit is lifted (scripts/run.sh) so that this one speaks.
    "MAX_URI_LENGTH": env.int("MAX_URI_LENGTH", default=8192),
    # Statement timeout of every OGC read (items, tiles, coverages …); past it the answer is a 503.
    "OGC_STATEMENT_TIMEOUT_MS": env.int("OGC_STATEMENT_TIMEOUT_MS", default=10_000),
    # The map pages' basemap: an XYZ tile URL, or a WMTS one in KVP form with {z}/{x}/{y} (the city's
    # own tiles, an intranet 天地图 node), with {s} for BASEMAP_SUBDOMAINS and {key} for BASEMAP_KEY.
    # Empty: the offline basemap this server draws from the data it carries (maps/basemap.py).
    "BASEMAP": {"URL": env.str("BASEMAP_URL", default=""), "KEY": env.str("BASEMAP_KEY", default=""),
                "ATTRIBUTION": env.str("BASEMAP_ATTRIBUTION", default=""),
                "SUBDOMAINS": env.str("BASEMAP_SUBDOMAINS", default=""),
                "MAX_ZOOM": env.int("BASEMAP_MAX_ZOOM", default=18),
                "TITLE_ZH": env.str("BASEMAP_TITLE_ZH", default="在线底图"),
                "TITLE_EN": env.str("BASEMAP_TITLE_EN", default="Online basemap")},
    # Largest layer file accepted by the admin's import form.
    "LAYER_UPLOAD_MAX_BYTES": env.int("LAYER_UPLOAD_MAX_BYTES", default=2 * 1024**3),
    # Requests per signed-in person, or per client address when anonymous, on the expensive
    # endpoints (blueprint/ratelimits.py): count/period (600/m, 100/10s) or off. Tokens have their own.
    # Generous: a map page pans through hundreds of tiles in seconds.
    "RATE_LIMITS": {
        "checks": env.str("RATE_LIMIT_CHECKS", default="60/m"),
        "items": env.str("RATE_LIMIT_ITEMS", default="1200/m"),
        "tiles": env.str("RATE_LIMIT_TILES", default="6000/m"),
        "coverages": env.str("RATE_LIMIT_COVERAGES", default="600/m"),
    },
    # Sharing with the province (exchange/): its front database (前置库); empty: nothing is sent
    # (the outbox still fills, and is sent once it is set).
    "EXCHANGE_DATABASE_URL": env.str("EXCHANGE_DATABASE_URL", default=""),
    # The city's prefix of 地方数据主键 (DFSJZJ), unique among the systems writing to the province.
    "EXCHANGE_KEY_PREFIX": env.str("EXCHANGE_KEY_PREFIX", default="YZLT"),
    # 办理单位 of the 前期意见 rows: the planning bureau (统一社会信用代码 and name).
    "EXCHANGE_BUREAU_CODE": env.str("EXCHANGE_BUREAU_CODE", default="11370800MB2856954X"),
    "EXCHANGE_BUREAU_NAME": env.str("EXCHANGE_BUREAU_NAME", default="济宁市自然资源和规划局"),
    # What the province's SJSCZT codes mean (provinces differ): code → sent | accepted | rejected.
    "EXCHANGE_STATUS_CODES": env.json("EXCHANGE_STATUS_CODES",
                                      default={"0": "sent", "1": "sent", "2": "accepted", "3": "rejected"}),
    # Rows per push.
    "EXCHANGE_BATCH": env.int("EXCHANGE_BATCH", default=500),
    # Seconds a statement on the front database may take (a slow province) before the push retries.
    "EXCHANGE_STATEMENT_TIMEOUT_S": env.int("EXCHANGE_STATEMENT_TIMEOUT_S", default=30),
}

# The task queue (procrastinate, on this database): every task kind is registered by one of
# these modules, the one list of them; `manage.py procrastinate worker` runs them.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""
PROCRASTINATE_IMPORT_PATHS = ["blueprint.tasks", "blueprint.ops.tasks", "compliance.tasks", "exchange.tasks",
                              "layers.tasks"]
PROCRASTINATE_WORKER_DEFAULTS = {
    # Several heartbeats within JOB_STALE_SECONDS, or a live worker would be taken for dead.
    "update_heartbeat_interval": min(10.0, BLUEPRINT["JOB_STALE_SECONDS"] / 4),
    "stalled_worker_timeout": float(BLUEPRINT["JOB_STALE_SECONDS"]),
}

# The audit log is kept at least this long (Cybersecurity Law art. 21: six months). Nothing in the
# service deletes audit rows at all (a trigger refuses it); this is the floor any archiving keeps.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=183)
if AUDIT_RETENTION_DAYS < 183:
    raise ImproperlyConfigured(
        f"AUDIT_RETENTION_DAYS={AUDIT_RETENTION_DAYS} is under six months: the audit log must be kept"
        " at least 183 days (Cybersecurity Law art. 21). Set 183 or more.")

# Failed sign-ins (django-axes): an (account, client address) pair is locked after
# LOGIN_MAX_FAILURES failures, first for LOGIN_COOLOFF_SECONDS, twice as long with every further
# failure (up to LOGIN_COOLOFF_MAX_SECONDS): a stranger elsewhere cannot lock a person out.
# The client address is REMOTE_ADDR unless a reverse proxy you trust sets TRUSTED_PROXY_HEADER
# (e.g. HTTP_X_FORWARDED_FOR; its right-most entry, the one the proxy appended, is taken).
# A security administrator unlocks in the admin (登录锁定), or `manage.py axes_reset_username NAME`.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_COOLOFF_SECONDS = env.int("LOGIN_COOLOFF_SECONDS", default=300)
LOGIN_COOLOFF_MAX_SECONDS = env.int("LOGIN_COOLOFF_MAX_SECONDS", default=24 * 3600)
TRUSTED_PROXY_HEADER = env.str("TRUSTED_PROXY_HEADER", default="")
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = "blueprint.signin.cool_off"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ADMIN = False  # blueprint/admin.py registers it under the access policy
AXES_IPWARE_META_PRECEDENCE_ORDER = (TRUSTED_PROXY_HEADER, "REMOTE_ADDR") if TRUSTED_PROXY_HEADER else (
    "REMOTE_ADDR",)
AXES_IPWARE_PROXY_ORDER = "right-most"
AXES_VERBOSE = False

# Two-factor sign-in (django-otp TOTP): required for the three administrators, offered to everyone.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="一张蓝图 One Blueprint")

# GDAL reads GDAL_CACHEMAX once, at its first raster block, so it is set here, before any. (Not
# through rasterio.Env: an integer there is taken as *bytes* by GDALSetCacheMax64 — 64 meant a
# 64-byte cache and 20–50 s tiles — and leaving the Env restores the 5 % default.) A GDAL_CACHEMAX
# in the real environment wins; a bare number below 100000 is MiB to GDAL.
os.environ.setdefault("GDAL_CACHEMAX", str(BLUEPRINT["IMAGERY_GDAL_CACHE_MB"]))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"},
                "axes": {"level": "WARNING"},
                # procrastinate logs every job's start and end at INFO; failures stay visible.
                "procrastinate": {"level": env.str("QUEUE_LOG_LEVEL", default="WARNING")},
                "pyogrio": {"level": "WARNING"}},  # a line per Shapefile written for the province
}

# Monitoring and alerts (blueprint/ops/, README "Monitoring and alerts"). Errors (ERROR and up) are
# also kept in the service log table beside the access log, for the admin's log browsing.
LOGGING["handlers"]["service_log"] = {"class": "blueprint.ops.requestlog.ServiceLogHandler", "level": "ERROR"}
LOGGING["root"]["handlers"].append("service_log")
MONITORING = {
    # /metrics answers an operator token (interface "metrics") or a client in these networks.
    "METRICS_NETWORKS": env.list("METRICS_NETWORKS", default=["127.0.0.0/8", "::1/128"]),
    # Request and error log rows: "buffered" (written in batches by a thread of each process, every
    # REQUEST_LOG_FLUSH_SECONDS), "direct" (in the request, as tests do) or "off"; kept LOG_RETENTION_DAYS.
    "REQUEST_LOG": env.str("REQUEST_LOG", default="buffered"),
    "REQUEST_LOG_FLUSH_SECONDS": env.float("REQUEST_LOG_FLUSH_SECONDS", default=1.0),
    "LOG_RETENTION_DAYS": env.int("LOG_RETENTION_DAYS", default=30),
    # pgBackRest's stanza of this cluster: empty, and the last backup is reported absent.
    "PGBACKREST_STANZA": env.str("PGBACKREST_STANZA", default=""),
    # The database alias of a streaming replica (its lag is measured when the alias exists).
    "REPLICA_ALIAS": env.str("DATABASE_REPLICA_ALIAS", default="replica"),
    # Alert thresholds (the same in the in-service rules and the Prometheus rules file).
    "WORKER_SILENT_SECONDS": env.int("ALERT_WORKER_SILENT_SECONDS", default=120),
    "QUEUE_STUCK_SECONDS": env.int("ALERT_QUEUE_STUCK_SECONDS", default=600),
    "ERROR_RATE": env.float("ALERT_ERROR_RATE", default=0.05),
    "ERROR_RATE_MIN_REQUESTS": env.int("ALERT_ERROR_RATE_MIN_REQUESTS", default=20),
    "DISK_FREE_RATIO": env.float("ALERT_DISK_FREE_RATIO", default=0.10),
    "BACKUP_MAX_AGE_SECONDS": env.int("ALERT_BACKUP_MAX_AGE_SECONDS", default=86_400),
    "REPLICA_LAG_SECONDS": env.int("ALERT_REPLICA_LAG_SECONDS", default=60),
    "SHARING_LAG_SECONDS": env.int("ALERT_SHARING_LAG_SECONDS", default=300),
    # Where alerts go: these addresses (empty: the system administrators' own) and a webhook
    # receiving Alertmanager's JSON (e.g. a DingTalk or WeCom bridge).
    "ALERT_EMAILS": env.list("ALERT_EMAILS", default=[]),
    "ALERT_WEBHOOK_URL": env.str("ALERT_WEBHOOK_URL", default=""),
}
# Django's mail (alerts by e-mail): EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="blueprint@localhost")
