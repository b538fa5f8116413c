"""The database cache table that holds throttle counters when REDIS_URL is not set.

Created here rather than by `createcachetable`, so that every `migrate` (`make run`, the
image's migrate step, compose, CI) makes it, whichever store the settings name today.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "rivergen_throttle_cache"


def create_table(apps, schema_editor):
    # createcachetable's own DDL (cache_key primary key, value, indexed expires); a no-op
    # if the table already exists.
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [migrations.RunPython(create_table, drop_table, elidable=False)]
