"""Test settings: the project's settings with a test-only secret and fast hashing.

Everything else, DATABASE_URL included, comes from the environment as in production.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key-not-for-production-use")
os.environ.setdefault("JWT_SIGNING_KEY", "insecure-test-only-jwt-signing-key-not-for-production-use")
# A fixed, test-only Fernet key (the bytes "rivergen-test-only-credential-k!"): settings
# refuse to load without CREDENTIALS_ENCRYPTION_KEYS when DEBUG is off, as tests run.
os.environ.setdefault("CREDENTIALS_ENCRYPTION_KEYS", "cml2ZXJnZW4tdGVzdC1vbmx5LWNyZWRlbnRpYWwtayE=")

from rivergen.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client speaks plain HTTP with DEBUG off: no HTTPS redirect (production keeps it),
# and static files straight from the apps, without a collectstatic manifest.
SECURE_SSL_REDIRECT = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Throttle counters in this process's memory: a request makes no statement for them, so the
# list stays at 3 (the production default, a database table, adds 6 each time a worker
# takes counts). tests/api/test_throttling.py exercises the shared stores themselves.
# Remembered counts too (tests/datasources/test_remembered_counts.py reads them back).
CACHES = {
    **CACHES,  # noqa: F405
    "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
    "counts": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "counts"},
}

# Every reuse of a compiled list statement compiles again and must match
# (rivergen/db/statements.py): the whole suite checks the statement keys are complete.
STATEMENT_CACHE_VERIFY = True
