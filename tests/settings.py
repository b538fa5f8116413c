"""Test settings: the project's settings with a test-only secret and fast hashing.

Everything else, DATABASE_URL included, comes from the environment as in production.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key-not-for-production-use")

from rivergen.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client speaks plain HTTP with DEBUG off: no HTTPS redirect (production keeps it),
# and static files straight from the apps, without a collectstatic manifest.
SECURE_SSL_REDIRECT = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
