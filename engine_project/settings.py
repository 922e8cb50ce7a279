"""The engine's only settings module: every knob comes from the environment.

Readers in ``engine_project.env`` refuse bad values at start-up. The public knobs are
listed in the README ("Configuration") and docs/API.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from engine_project.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_range_ms,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
# Production mode refuses to start without a real secret; development (make run, tests)
# gets a fixed, clearly-labelled one.
PRODUCTION = env_bool("ENGINE_PRODUCTION", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when ENGINE_PRODUCTION=1")
    SECRET_KEY = "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "engine_project.urls"
ASGI_APPLICATION = "engine_project.asgi.application"
APPEND_SLASH = False

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

DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/engine")
try:
    # Pooled, not persistent, connections: under ASGI every request runs in its own
    # thread, and a connection kept by a finished thread is never reused or closed
    # (400 concurrent POSTs used up PostgreSQL's 100 slots), while opening one per
    # request or task costs ~9 ms. Closing a pooled connection returns it to the pool.
    # Health checks: one round trip on checkout, so a connection broken by a database
    # restart is replaced instead of failing the request or task that gets it.
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgresql://...)")
_database.setdefault("OPTIONS", {})["connect_timeout"] = env_int(
    "DATABASE_CONNECT_TIMEOUT_S", 5, minimum=1
)
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 20, minimum=0, maximum=500)
if DATABASE_POOL_SIZE:
    _database["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        # Fail fast while the database is down: a waiting caller holds a thread.
        "timeout": 5,
        # psycopg_pool backs off exponentially while it cannot connect (1, 2, 4, 8 s...)
        # and a pending attempt blocks new ones: after a long outage the process would
        # wait up to the last back-off once PostgreSQL is back. Giving up after 3 s lets
        # the next request start a fresh attempt at once.
        "reconnect_timeout": 3,
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Engines that share one Redis are told apart by their queue; their live events too.
ORDER_QUEUE = env_str("ORDER_QUEUE", "orders")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # socket_timeout above the layer's 5 s blocking read: redis-py's default (5 s)
            # drops idle consumers with "Timeout reading"; its async pool's default cap of
            # 100 connections makes the 101st socket fail with MaxConnectionsError.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "max_connections": 1000}],
            "capacity": 1000,
            "expiry": 60,
            "prefix": "engine:ws" if ORDER_QUEUE == "orders" else f"engine:ws:{ORDER_QUEUE}",
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "engine:cache",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Bodies are small JSON objects; anything large is hostile.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ENGINE_MAX_BODY_BYTES", 16 * 1024, minimum=1024)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orders.api.parsers.StrictJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "orders.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # 0, never None: with None DRF would believe a client-set X-Forwarded-For. The client
    # address is settled once for HTTP and WebSocket alike (engine_project/proxy.py).
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Order execution engine",
    "DESCRIPTION": (
        "Market orders for token swaps, routed to the better of Raydium and Meteora, "
        "executed by a queue of workers. Live status over WebSocket: see docs/API.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets come from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TokenSymbolEnum": "dex.tokens.SUPPORTED_SYMBOLS",
        "OrderTypeEnum": "orders.models.Order.OrderType",
        "OrderStatusEnum": "orders.models.Order.Status",
    },
}

# --- Abuse limits ------------------------------------------------------------------
# Reverse proxies in front of daphne whose X-Forwarded-For entries are trusted; 0 means
# the client is the socket's peer and X-Forwarded-For is ignored.
ENGINE_NUM_PROXIES = env_int("ENGINE_NUM_PROXIES", 0, minimum=0, maximum=10)
# Order submissions per client, e.g. "6000/min", counted over HTTP and the execute socket
# together (429 with Retry-After, or close code 4429, beyond).
ORDER_SUBMIT_RATE = env_str("ORDER_SUBMIT_RATE", "6000/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", ORDER_SUBMIT_RATE):
    raise ImproperlyConfigured(f"ORDER_SUBMIT_RATE={ORDER_SUBMIT_RATE!r}: use e.g. 6000/min")
# Open WebSockets per client IP, counted across all web processes in Redis.
WS_MAX_SOCKETS_PER_CLIENT = env_int("WS_MAX_SOCKETS_PER_CLIENT", 256, minimum=1)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600, minimum=0)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health and metrics are scraped over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^livez$", r"^metrics$"]

# --- Order execution (contract knobs) ---------------------------------------------
ORDER_CONCURRENCY = env_int("ORDER_CONCURRENCY", 10, minimum=1, maximum=512)
ORDER_MAX_ATTEMPTS = env_int("ORDER_MAX_ATTEMPTS", 3, minimum=1, maximum=20)
ORDER_RETRY_BACKOFF_S = env_float("ORDER_RETRY_BACKOFF_S", 1.0, minimum=0, maximum=3600)
# A pending order that no worker picked up for this long is queued again by the sweep.
ORDER_STUCK_AFTER_S = env_float("ORDER_STUCK_AFTER_S", 30.0, minimum=1)
# A message that keeps killing its worker ends `failed` after this many deliveries.
ORDER_MAX_DELIVERIES = env_int("ORDER_MAX_DELIVERIES", 10, minimum=1)

DEX_QUOTE_LATENCY_MS = env_float("DEX_QUOTE_LATENCY_MS", 200, minimum=0, maximum=60_000)
DEX_EXECUTE_LATENCY_MS = env_range_ms("DEX_EXECUTE_LATENCY_MS", (2000.0, 3000.0))
# A quote not answered in time fails the attempt transiently (retried like one).
DEX_QUOTE_TIMEOUT_S = env_float(
    "DEX_QUOTE_TIMEOUT_S", DEX_QUOTE_LATENCY_MS / 1000 + 2, minimum=0.1, maximum=600
)
# How long a delivery holds an order it executes unless it renews (every third of it):
# after a worker dies its orders are taken over this soon (at once on the same host).
# A delivery does not renew while it waits for quotes, so the lease must outlast them.
ORDER_LEASE_S = env_float("ORDER_LEASE_S", max(5.0, 2 * DEX_QUOTE_TIMEOUT_S), minimum=1)
if DEX_QUOTE_TIMEOUT_S >= ORDER_LEASE_S:
    raise ImproperlyConfigured(
        f"DEX_QUOTE_TIMEOUT_S={DEX_QUOTE_TIMEOUT_S:g} must be shorter than "
        f"ORDER_LEASE_S={ORDER_LEASE_S:g}: a slow quote would outlive its order's lease"
    )
DEX_FAILURE_RATE = env_float("DEX_FAILURE_RATE", 0.0, minimum=0.0, maximum=1.0)
_dex_seed = os.environ.get("DEX_SEED", "").strip()
DEX_SEED: int | None = env_int("DEX_SEED", 0) if _dex_seed else None
# How long a signed transaction's blockhash stays valid (Solana: ~150 slots, ~60 s).
DEX_BLOCKHASH_TTL_S = env_float("DEX_BLOCKHASH_TTL_S", 60.0, minimum=1)

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with one client per channel instead of one per message
# (engine_project/broker.py); other schemes (rediss://, unix://) keep kombu's own.
if REDIS_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "engine_project.broker:Transport"
CELERY_RESULT_BACKEND = None
# Cache the (disabled) result backend app-wide. Otherwise every new thread, and daphne
# runs each request in a new one, resolves it again by scanning installed packages'
# entry points on disk: the largest single cost of POST /api/orders/execute (py-spy).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_IGNORE_RESULT = True
# Workers of one deployment share a queue; a separate name isolates test runs.
CELERY_TASK_DEFAULT_QUEUE = ORDER_QUEUE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
# Keep each worker process's connection pool across tasks (engine_project/celery.py returns
# the connection to it after each task): without this Celery closes the pool per task.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = ORDER_CONCURRENCY
# Orders are almost all waiting: threads in one process (engine_project/worker_pool.py)
# cost the workers a third less CPU per order than prefork children, and a tenth of the
# memory. prefork isolates each order in a child process and enforces the time limits.
ORDER_WORKER_POOL = env_choice("ORDER_WORKER_POOL", "threads", ("threads", "prefork"))
CELERY_WORKER_POOL = {
    "threads": "engine_project.worker_pool:WakingThreadPool",
    "prefork": "prefork",
}[ORDER_WORKER_POOL]
# Enforced by prefork only (a thread cannot be interrupted). With threads, the waits on
# Redis and the DEXes have their own timeouts; a delivery stuck elsewhere stops renewing
# its lease and the sweep hands its order on, but its thread stays taken until a restart.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
ORDER_SWEEP_INTERVAL_S = env_float("ORDER_SWEEP_INTERVAL_S", 2.0, minimum=0.5)
# The page's and the API's controls of the simulated market (move a price, launch a
# pool): on for demos, off in production, where anyone could move what others trade on.
MARKET_CONTROLS = env_bool("ENGINE_MARKET_CONTROLS", not PRODUCTION)
# How often the price monitor looks at prices, launches and expiries.
MONITOR_TICK_MS = env_float("MONITOR_TICK_MS", 50.0, minimum=5, maximum=5000)
CELERY_BEAT_SCHEDULE = {
    "recover-stuck-orders": {
        "task": "orders.tasks.recover_orders",
        "schedule": ORDER_SWEEP_INTERVAL_S,
        # Sweeps share the orders' queue: behind a long backlog, one that waited a minute
        # is discarded (later ones are on their way) instead of piling up. Not shorter:
        # expiry is judged by the worker's clock against beat's.
        "options": {"expires": max(60.0, ORDER_SWEEP_INTERVAL_S)},
    },
    "expire-resting-orders": {
        "task": "orders.tasks.expire_orders",
        "schedule": ORDER_SWEEP_INTERVAL_S,
        "options": {"expires": max(60.0, ORDER_SWEEP_INTERVAL_S)},
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "engine_project.logformat.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "engine_project.logformat.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# Live events a process holds for a slow Redis before it drops new ones (counted in /metrics).
ENGINE_PUBLISH_BACKLOG = env_int("ENGINE_PUBLISH_BACKLOG", 10000, minimum=1)
# Events the Redis stream keeps for firehose clients resuming after a cursor (about a
# minute at 300 orders/s, ~60 MB of Redis); older cursors are told their events are gone.
ENGINE_EVENTS_RETAINED = env_int("ENGINE_EVENTS_RETAINED", 100_000, minimum=1000)
# Events a firehose socket may fall behind before it is told so and closed (4410).
ENGINE_FIREHOSE_MAX_BEHIND = env_int("ENGINE_FIREHOSE_MAX_BEHIND", 10_000, minimum=10)
