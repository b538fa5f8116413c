"""Reading timestamps: psycopg's own loader (rivergen/db/postgresql/base.py) against Django's.

Not the benchmark (`make bench`): one statement of 100 rows x 5 timestamp columns, read
through Django's connection with each loader in turn, best of 30 rounds of 20, on the
data `bench/list_overhead.py` creates.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rivergen_overhead \\
        .venv/bin/python bench/timestamp_loader.py
"""

import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rivergen.settings")
os.environ.setdefault("SECRET_KEY", "timestamp-loader-benchmark-only-secret-key-0123456789")
os.environ.setdefault("JWT_SIGNING_KEY", "timestamp-loader-benchmark-only-signing-key-0123456789")
os.environ.setdefault("CREDENTIALS_ENCRYPTION_KEYS", "bGlzdC1vdmVyaGVhZC1iZW5jaG1hcmstb25seS1rZXk=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.backends.postgresql.psycopg_any import register_tzloader  # type: ignore[import-untyped]  # noqa: E402

from rivergen.db.postgresql.base import UTCTimestamptzLoader  # noqa: E402

STATEMENT = (
    "SELECT created_at, updated_at, last_tested_at, last_successful_connection_at, schema_discovered_at"
    " FROM datasources_datasource ORDER BY id LIMIT 100"
)


def microseconds_per_statement() -> float:
    rounds = []
    for _ in range(30):
        started = time.perf_counter()
        for _ in range(20):
            with connection.cursor() as cursor:
                cursor.execute(STATEMENT)
                cursor.fetchall()
        rounds.append((time.perf_counter() - started) / 20)
    return min(rounds) * 1e6


def main() -> None:
    connection.ensure_connection()
    adapters = connection.connection.adapters
    for _ in range(3):
        adapters.register_loader("timestamptz", UTCTimestamptzLoader)
        psycopgs = microseconds_per_statement()
        register_tzloader(datetime.UTC, connection.connection)  # Django's own
        djangos = microseconds_per_statement()
        print(f"100 rows x 5 timestamps: psycopg's loader {psycopgs:.0f} µs, Django's {djangos:.0f} µs per statement")


if __name__ == "__main__":
    main()
