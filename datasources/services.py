"""Writes to data sources. The API and the admin both come through here.

Each write validates the whole resulting object (`DataSource.clean`) and maps the
database's uniqueness rule to a ConflictError, including when two writes race.
"""

from typing import Any

from django.db import DatabaseError, IntegrityError, transaction

from datasources.models import NAME_UNIQUE_CONSTRAINT, DataSource
from organizations.models import Organization
from rivergen.errors import ConflictError, NotFoundError

# Server-owned fields (status, timestamps, organization) are not in this set.
WRITABLE_FIELDS = frozenset(
    {
        "workspace",
        "name",
        "type",
        "description",
        "host",
        "port",
        "database_name",
        "schema_name",
        "file_path",
        "use_ssh_tunnel",
        "ssh_host",
        "ssh_port",
        "schema_auto_refresh",
        "tags",
        *DataSource.CREDENTIAL_FIELDS,
    }
)
NAME_TAKEN_MESSAGE = "A data source with this name already exists in this organization."


def datasource_create(*, organization: Organization, **fields: Any) -> DataSource:
    _check_writable(fields)
    datasource = DataSource(organization=organization, **fields)
    return datasource_save(datasource=datasource)


def datasource_update(*, datasource: DataSource, **fields: Any) -> DataSource:
    """Apply `fields` to the data source as it is now; returns it as saved.

    The row is read again under its lock (SELECT ... FOR UPDATE) and changed in the same
    transaction: of two updates that race, the later one applies its fields to the
    earlier one's result, instead of writing back the other fields as it first loaded
    them (a lost update). The fields `datasource` left unloaded stay unloaded.
    """
    _check_writable(fields)
    with transaction.atomic():
        current = (
            DataSource.objects.select_for_update()
            .defer(*datasource.get_deferred_fields())
            .filter(pk=datasource.pk)
            .first()
        )
        if current is None:
            raise NotFoundError("Data source not found.")
        for field, value in fields.items():
            setattr(current, field, value)
        return datasource_save(datasource=current)


def datasource_save(*, datasource: DataSource) -> DataSource:
    """Validate the whole object and save it; the admin calls this after its form."""
    # Uniqueness is left to the database constraint, which also settles races.
    # Fields never loaded (credentials the update does not touch) are neither read back
    # (and decrypted) nor written.
    datasource.full_clean(exclude=datasource.get_deferred_fields(), validate_unique=False, validate_constraints=False)
    # An existing row is only ever updated: if a concurrent delete removed it, that is a
    # 404, never a re-insert of the deleted row (Django's UPDATE-then-INSERT) nor a 500.
    adding = datasource._state.adding
    try:
        with transaction.atomic():
            datasource.save(force_update=not adding)
    except IntegrityError as error:
        if NAME_UNIQUE_CONSTRAINT in str(error):
            raise ConflictError(NAME_TAKEN_MESSAGE, details={"name": [NAME_TAKEN_MESSAGE]}) from None
        raise
    except DatabaseError as error:
        # "Forced update / Save with update_fields did not affect any rows" (the exact
        # class: OperationalError and the other subclasses mean something else).
        if not adding and type(error) is DatabaseError:
            raise NotFoundError("Data source not found.") from None
        raise
    return datasource


def datasource_delete(*, datasource: DataSource) -> None:
    # Of two deletes that race, the one whose DELETE found the row gone answers 404, as
    # for any data source that is not there, rather than a second "deleted".
    _, deleted = datasource.delete()
    if not deleted.get(DataSource._meta.label):
        raise NotFoundError("Data source not found.")


def _check_writable(fields: dict[str, Any]) -> None:
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not writable: {', '.join(sorted(unknown))}")
