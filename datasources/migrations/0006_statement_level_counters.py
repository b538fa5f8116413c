"""PostgreSQL: keep the data-source counters with statement-level triggers.

0004's row-level triggers upsert a counter row once per written row: a bulk load of a
million rows updates the same few counter rows a million times (`seed_bench` took 8
minutes instead of 90 s). Statement-level triggers with transition tables apply each
statement's rows grouped by bucket, one upsert per bucket, in bucket order (so
concurrent writers lock counter rows in the same order). Updates count only the rows
whose bucket changed. SQLite has no statement-level triggers and keeps 0004's.
"""

from django.db import migrations

COUNT_TABLE = "datasources_datasourcecount"
BUCKET = "organization_id, workspace_id, type, status"
_BUCKET_CHANGED = """(o.organization_id, o.workspace_id, o.type, o.status)
          IS DISTINCT FROM (n.organization_id, n.workspace_id, n.type, n.status)"""

FORWARD = f"""
DROP TRIGGER datasource_count_insert_delete ON datasources_datasource;
DROP TRIGGER datasource_count_update ON datasources_datasource;
DROP FUNCTION datasource_count_maintain();

CREATE FUNCTION datasource_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT_TABLE} ({BUCKET}, count)
    SELECT {BUCKET}, COUNT(*) FROM inserted_rows GROUP BY {BUCKET} ORDER BY {BUCKET}
    ON CONFLICT ({BUCKET}) DO UPDATE SET count = {COUNT_TABLE}.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION datasource_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT_TABLE} ({BUCKET}, count)
    SELECT {BUCKET}, -COUNT(*) FROM deleted_rows GROUP BY {BUCKET} ORDER BY {BUCKET}
    ON CONFLICT ({BUCKET}) DO UPDATE SET count = {COUNT_TABLE}.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION datasource_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT_TABLE} ({BUCKET}, count)
    SELECT {BUCKET}, SUM(delta) FROM (
        SELECT o.organization_id, o.workspace_id, o.type, o.status, -1 AS delta
          FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE {_BUCKET_CHANGED}
        UNION ALL
        SELECT n.organization_id, n.workspace_id, n.type, n.status, 1 AS delta
          FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE {_BUCKET_CHANGED}
    ) AS moves
    GROUP BY {BUCKET} ORDER BY {BUCKET}
    ON CONFLICT ({BUCKET}) DO UPDATE SET count = {COUNT_TABLE}.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE TRIGGER datasource_count_insert AFTER INSERT ON datasources_datasource
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_count_inserted();
CREATE TRIGGER datasource_count_delete AFTER DELETE ON datasources_datasource
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_count_deleted();
-- Transition tables cannot go with a column list (UPDATE OF ...): the function keeps
-- only the rows whose bucket changed.
CREATE TRIGGER datasource_count_update AFTER UPDATE ON datasources_datasource
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_count_updated();
"""

BACKWARD = f"""
DROP TRIGGER datasource_count_insert ON datasources_datasource;
DROP TRIGGER datasource_count_delete ON datasources_datasource;
DROP TRIGGER datasource_count_update ON datasources_datasource;
DROP FUNCTION datasource_count_inserted();
DROP FUNCTION datasource_count_deleted();
DROP FUNCTION datasource_count_updated();

CREATE FUNCTION datasource_count_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {COUNT_TABLE} SET count = count - 1
         WHERE organization_id = OLD.organization_id AND workspace_id = OLD.workspace_id
           AND type = OLD.type AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO {COUNT_TABLE} ({BUCKET}, count)
        VALUES (NEW.organization_id, NEW.workspace_id, NEW.type, NEW.status, 1)
        ON CONFLICT ({BUCKET}) DO UPDATE SET count = {COUNT_TABLE}.count + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER datasource_count_insert_delete AFTER INSERT OR DELETE ON datasources_datasource
    FOR EACH ROW EXECUTE FUNCTION datasource_count_maintain();
CREATE TRIGGER datasource_count_update
    AFTER UPDATE OF organization_id, workspace_id, type, status ON datasources_datasource
    FOR EACH ROW WHEN ((OLD.organization_id, OLD.workspace_id, OLD.type, OLD.status)
                       IS DISTINCT FROM (NEW.organization_id, NEW.workspace_id, NEW.type, NEW.status))
    EXECUTE FUNCTION datasource_count_maintain();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("datasources", "0005_list_sort_indexes")]

    operations = [migrations.RunPython(forward, backward)]
