"""Settings of the keeps reference project.

Storage and uploads are configured by the library's own environment variables
(MEDIA_STORAGE_BACKEND, MEDIA_ROOT, MINIO_*, AWS_*, MAX_UPLOAD_SIZE,
MEDIA_QUEUE_BACKEND, MEDIA_STATE_DIR, ...): MEDIASTORE_CONFIG = None means
"read the environment".
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "keeps-example-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "false") == "true"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "keeps",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "keeps_project.urls"
WSGI_APPLICATION = "keeps_project.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("KEEPS_DB", str(BASE_DIR / "keeps.sqlite3")),
        # Worker threads write through the end hook while requests run: wait
        # for SQLite's write lock rather than fail at once.
        "OPTIONS": {"timeout": 30},
        # Tests: a file (KEEPS_TEST_DB) rather than a shared in-memory
        # database, whose table locks other threads' connections cannot wait on.
        "TEST": {"NAME": os.environ.get("KEEPS_TEST_DB") or None},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Files go through libmediastore (Django 3.2: DEFAULT_FILE_STORAGE).
DEFAULT_FILE_STORAGE = "mediastore.django.MediaStoreStorage"
MEDIASTORE_CONFIG = None  # the environment
MEDIASTORE_URL_EXPIRY = 3600
# Start upload workers inside the web process (needed with the in-memory
# queue; with sqlite/redis queues run `manage.py run_media_worker` instead).
KEEPS_START_WORKER = os.environ.get("KEEPS_START_WORKER", "false") == "true"
KEEPS_WORKER_THREADS = int(os.environ.get("KEEPS_WORKER_THREADS", "2"))

# The library logs into the "mediastore" logger; route it like any other.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "mediastore": {"handlers": ["console"], "level": os.environ.get("KEEPS_MEDIASTORE_LOG_LEVEL", "WARNING")},
        "keeps": {"handlers": ["console"], "level": "INFO"},
    },
}
