"""On SQLite, rebuild the indexes on LOWER(...) with the connection's Unicode LOWER().

rivergen.db.sqlite3 replaces SQLite's ASCII-only LOWER(); an index a database built with
the old one would not match it for names with other capital letters. PostgreSQL: nothing.
"""

from typing import Any

from django.db import migrations


def reindex_on_sqlite(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("REINDEX")


class Migration(migrations.Migration):
    dependencies = [("datasources", "0009_datasource_versions")]

    operations = [migrations.RunPython(reindex_on_sqlite, migrations.RunPython.noop)]
