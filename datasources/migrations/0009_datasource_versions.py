"""A version per organization's data sources, renewed by triggers with every write.

A search's `total_items` counts rows one by one: 70,000 matches of a 500,000-row
organization take 300 ms on PostgreSQL. Counted once, the total stays exact for as long
as nothing of the organization changed; the version says whether anything did
(`datasources.selectors.remembered_count`). Like the counters (0004, 0006, 0007), the
triggers run in the writer's transaction whatever writes: the ORM, bulk updates, raw SQL,
COPY. Any change of a row renews its organization's version, whichever column changed,
so a count cannot depend on a column the version does not follow.
"""

from django.db import migrations, models

VERSION_TABLE = "datasources_datasourceversion"


def _renew_postgresql(organizations: str) -> str:
    # One random version per organization written; upserted in id order, so that
    # concurrent writers take the version rows' locks in the same order.
    return f"""
    INSERT INTO {VERSION_TABLE} (organization_id, version)
    SELECT organization_id, gen_random_uuid() FROM ({organizations}) AS written ORDER BY organization_id
    ON CONFLICT (organization_id) DO UPDATE SET version = EXCLUDED.version;"""


POSTGRESQL_FORWARD = f"""
CREATE FUNCTION datasource_version_renew_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_renew_postgresql("SELECT DISTINCT organization_id FROM written_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION datasource_version_renew_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_renew_postgresql("SELECT organization_id FROM old_rows UNION SELECT organization_id FROM new_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION datasource_version_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {VERSION_TABLE};
    RETURN NULL;
END $$;

CREATE TRIGGER datasource_version_insert AFTER INSERT ON datasources_datasource
    REFERENCING NEW TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_version_renew_written();
CREATE TRIGGER datasource_version_delete AFTER DELETE ON datasources_datasource
    REFERENCING OLD TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_version_renew_written();
CREATE TRIGGER datasource_version_update AFTER UPDATE ON datasources_datasource
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_version_renew_updated();
CREATE TRIGGER datasource_version_truncate AFTER TRUNCATE ON datasources_datasource
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_version_clear();
"""
POSTGRESQL_BACKWARD = """
DROP TRIGGER datasource_version_insert ON datasources_datasource;
DROP TRIGGER datasource_version_delete ON datasources_datasource;
DROP TRIGGER datasource_version_update ON datasources_datasource;
DROP TRIGGER datasource_version_truncate ON datasources_datasource;
DROP FUNCTION datasource_version_renew_written();
DROP FUNCTION datasource_version_renew_updated();
DROP FUNCTION datasource_version_clear();
"""
POSTGRESQL_BACKFILL = f"""
INSERT INTO {VERSION_TABLE} (organization_id, version)
SELECT organization_id, gen_random_uuid() FROM (SELECT DISTINCT organization_id FROM datasources_datasource) AS o
"""

# SQLite: row-level triggers; a UUIDField is 32 hex digits there.
_SQLITE_VERSION = "lower(hex(randomblob(16)))"


def _renew_sqlite(row: str) -> str:
    return f"""
    INSERT INTO {VERSION_TABLE} (organization_id, version) VALUES ({row}.organization_id, {_SQLITE_VERSION})
    ON CONFLICT (organization_id) DO UPDATE SET version = excluded.version;"""


SQLITE_FORWARD = [
    f"CREATE TRIGGER datasource_version_insert AFTER INSERT ON datasources_datasource BEGIN {_renew_sqlite('NEW')} END;",
    f"CREATE TRIGGER datasource_version_delete AFTER DELETE ON datasources_datasource BEGIN {_renew_sqlite('OLD')} END;",
    "CREATE TRIGGER datasource_version_update AFTER UPDATE ON datasources_datasource"
    f" BEGIN {_renew_sqlite('OLD')} {_renew_sqlite('NEW')} END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER datasource_version_insert",
    "DROP TRIGGER datasource_version_delete",
    "DROP TRIGGER datasource_version_update",
]
SQLITE_BACKFILL = f"""
INSERT INTO {VERSION_TABLE} (organization_id, version)
SELECT organization_id, {_SQLITE_VERSION} FROM (SELECT DISTINCT organization_id FROM datasources_datasource)
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
        schema_editor.execute(POSTGRESQL_BACKFILL)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
        schema_editor.execute(SQLITE_BACKFILL)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("datasources", "0008_counters_follow_id_changes"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataSourceVersion",
            fields=[
                ("organization_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("version", models.UUIDField()),
            ],
        ),
        migrations.RunPython(forward, backward),
    ]
