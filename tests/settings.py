"""Test settings: the project's settings with a test-only secret and fast hashing.

Everything else, DATABASE_URL included, comes from the environment as in production.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key-not-for-production-use")

from rivergen.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
