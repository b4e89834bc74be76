"""The test suite: the same services as configured, fast hashing."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-secret-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests enqueue in-process; the worker test switches this off around its own run.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Any port: the local test servers take a free one each run. An operator names the port.
NEWSROOM_FETCH_ALLOWED_HOSTS = ["127.0.0.1:*", "localhost:*"]
NEWSROOM_FETCH_TIMEOUT_SECONDS = 5.0
# Politeness in-process and without a pause, unless a test asks for them.
NEWSROOM_POLITENESS_REDIS_URL = ""
NEWSROOM_HOST_DELAY_SECONDS = 0.0
NEWSROOM_HOST_CONCURRENCY = 8
# Threads the tests start must not leave connections open past the test database's teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
NEWSROOM_SITE_URL = "http://testserver"
# Tests load the encoder where they use it; a web process loads it at start (newsroom.wsgi).
NEWSROOM_WARM_MODELS = False
# A test reads what it just wrote (tests/test_pages_versions.py sets it to see the versions kept).
NEWSROOM_VERSION_SECONDS = env.float("NEWSROOM_VERSION_SECONDS", default=0.0)
