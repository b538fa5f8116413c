"""Keep every data source in its workspace's organization, in the database itself.

PostgreSQL: a composite foreign key (workspace_id, organization_id) onto the
workspace's (id, organization_id) unique constraint. SQLite cannot add foreign keys
to an existing table, so triggers refuse the same writes there.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
ALTER TABLE datasources_datasource
    ADD CONSTRAINT datasource_workspace_same_organization
    FOREIGN KEY (workspace_id, organization_id)
    REFERENCES organizations_workspace (id, organization_id);
"""
POSTGRESQL_BACKWARD = """
ALTER TABLE datasources_datasource DROP CONSTRAINT datasource_workspace_same_organization;
"""

_SQLITE_CHECK = """
    WHEN (SELECT organization_id FROM organizations_workspace WHERE id = NEW.workspace_id)
         IS NOT NEW.organization_id
    BEGIN SELECT RAISE(ABORT, 'datasource_workspace_same_organization'); END;
"""
SQLITE_FORWARD = [
    "CREATE TRIGGER datasource_workspace_same_organization_insert BEFORE INSERT ON datasources_datasource"
    + _SQLITE_CHECK,
    "CREATE TRIGGER datasource_workspace_same_organization_update"
    " BEFORE UPDATE OF workspace_id, organization_id ON datasources_datasource" + _SQLITE_CHECK,
    """CREATE TRIGGER workspace_keeps_organization BEFORE UPDATE OF organization_id ON organizations_workspace
    WHEN NEW.organization_id IS NOT OLD.organization_id
         AND EXISTS (SELECT 1 FROM datasources_datasource WHERE workspace_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'datasource_workspace_same_organization'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER datasource_workspace_same_organization_insert",
    "DROP TRIGGER datasource_workspace_same_organization_update",
    "DROP TRIGGER workspace_keeps_organization",
]


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_BACKWARD, SQLITE_BACKWARD)


def _run(schema_editor, postgresql_sql, sqlite_statements):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql_sql)
    elif vendor == "sqlite":
        for statement in sqlite_statements:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("datasources", "0001_initial"),
        ("organizations", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
