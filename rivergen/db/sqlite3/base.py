"""Django's SQLite backend, with a LOWER() that folds every letter, as PostgreSQL's does.

SQLite's own LOWER() folds ASCII letters only, so the data sources' case-insensitive
name rule (a unique index on LOWER(name)) let "ÄBC" and "äbc" into one organization on
SQLite, and not on PostgreSQL. Each connection replaces it with Python's `str.lower`,
deterministic as an index expression needs; migration datasources 0010 rebuilds the
indexes a database made with the old one.
"""

from typing import Any

from django.db.backends.sqlite3 import base


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.create_function("LOWER", 1, _lower, deterministic=True)
        return connection
