"""PostgreSQL: the bucket counters (0006) also follow a row whose id changes.

0006 pairs a statement's old and new rows by id; a raw `UPDATE ... SET id = ...` left the
moved row unpaired and its bucket change uncounted. Unpaired rows now count as a delete
plus an insert, as 0007's tag counters do. The ORM never changes a primary key: this
keeps the counters exact for writes made around it.
"""

from django.db import migrations

COUNT_TABLE = "datasources_datasourcecount"
BUCKET = "organization_id, workspace_id, type, status"
_CHANGED = """(o.organization_id, o.workspace_id, o.type, o.status)
          IS DISTINCT FROM (n.organization_id, n.workspace_id, n.type, n.status)"""


def _updated_function(old_side: str, new_side: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION datasource_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT_TABLE} ({BUCKET}, count)
    SELECT {BUCKET}, SUM(delta) FROM (
        SELECT o.organization_id, o.workspace_id, o.type, o.status, -1 AS delta
          FROM {old_side}
        UNION ALL
        SELECT n.organization_id, n.workspace_id, n.type, n.status, 1 AS delta
          FROM {new_side}
    ) AS moves
    GROUP BY {BUCKET} HAVING SUM(delta) <> 0 ORDER BY {BUCKET}
    ON CONFLICT ({BUCKET}) DO UPDATE SET count = {COUNT_TABLE}.count + EXCLUDED.count;
    RETURN NULL;
END $$;
"""


FORWARD = _updated_function(
    f"old_rows AS o LEFT JOIN new_rows AS n ON n.id = o.id WHERE n.id IS NULL OR {_CHANGED}",
    f"new_rows AS n LEFT JOIN old_rows AS o ON o.id = n.id WHERE o.id IS NULL OR {_CHANGED}",
)
BACKWARD = _updated_function(
    f"old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE {_CHANGED}",
    f"old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE {_CHANGED}",
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("datasources", "0007_tag_counts")]

    operations = [migrations.RunPython(forward, backward)]
