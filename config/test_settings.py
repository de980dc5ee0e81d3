"""Settings for the test suite: real PostgreSQL and Redis on this machine unless told otherwise."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maturity")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# The suite makes thousands of API calls a minute as a few users (and, on SQLite, user ids
# repeat from test to test); tests/api/test_throttles.py sets the rates it checks.
os.environ.setdefault("API_THROTTLE_ANON", "100000/minute")
os.environ.setdefault("API_THROTTLE_USER", "100000/minute")

from config.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's default in-memory test database: the browser tests' live server
    # answers requests on several threads, and an in-memory database would be one connection
    # shared by all of them; with a file each thread has its own, as in the demo.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test"}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
