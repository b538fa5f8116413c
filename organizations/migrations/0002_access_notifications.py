"""Notify the API's workers of every write that can change what a membership lookup answers.

The workers remember each user's membership row per database session
(`rivergen.db.postgresql.notifications`, `rivergen.api.tenancy.ACCESS_ROWS`) and forget
it when a notification arrives on the `rivergen_access` channel. These statement-level
triggers send one with every write of memberships and organizations, and of the users'
columns the lookup reads (id, is_active, password), whatever writes: the ORM, bulk
updates, raw SQL, TRUNCATE. PostgreSQL delivers it when the writer commits, once per
transaction (identical notifications are folded). Enabled ALWAYS, so that a replica
applying changes notifies too. SQLite has no LISTEN: nothing is remembered there, so
nothing is installed.
"""

from django.conf import settings
from django.db import migrations

CHANNEL = "rivergen_access"
TRIGGER = "rivergen_access_changed"


def _tables(apps):
    user = apps.get_model(settings.AUTH_USER_MODEL)
    read = ", ".join(user._meta.get_field(name).column for name in ("id", "is_active", "password"))
    return {
        apps.get_model("organizations", "Membership")._meta.db_table: "INSERT OR UPDATE OR DELETE OR TRUNCATE",
        apps.get_model("organizations", "Organization")._meta.db_table: "INSERT OR UPDATE OR DELETE OR TRUNCATE",
        user._meta.db_table: f"UPDATE OF {read} OR DELETE OR TRUNCATE",
    }


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$;"""
    )
    for table, events in _tables(apps).items():
        schema_editor.execute(
            f'CREATE TRIGGER {TRIGGER} AFTER {events} ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}();'
        )
        # ALWAYS: also when a replica applies changes (session_replication_role = replica).
        schema_editor.execute(f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER {TRIGGER};')


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(f'DROP TRIGGER {TRIGGER} ON "{table}";')
    schema_editor.execute(f"DROP FUNCTION {TRIGGER}();")
    # Listening sessions stop remembering at once (rivergen.db.postgresql.notifications).
    schema_editor.execute(f"SELECT pg_notify('{CHANNEL}', 'untrusted');")


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forward, backward)]
