"""Reads of data sources that need more than a queryset."""

from collections.abc import Collection

from django.db import connection

from datasources.models import DataSourceCount, DataSourceTagCount

# Plain SQL on purpose: these run on every list request, and the ORM's aggregate() spent
# ~0.5 ms of CPU compiling a one-table SUM (bench/list_overhead.py).
_COUNTS = connection.ops.quote_name(DataSourceCount._meta.db_table)
_TAG_COUNTS = connection.ops.quote_name(DataSourceTagCount._meta.db_table)


def datasource_count(
    *,
    organization_id: int,
    workspace_id: int | None = None,
    types: Collection[str] = (),
    statuses: Collection[str] = (),
) -> int:
    """Exactly how many data sources match, from the trigger-kept counters.

    Equal to counting the rows of the organization with those filters, at the cost of
    summing at most workspaces x types x statuses counter rows.
    """
    conditions: list[str] = ["organization_id = %s"]
    params: list[int | str] = [organization_id]
    if workspace_id is not None:
        conditions.append("workspace_id = %s")
        params.append(workspace_id)
    for column, values in (("type", list(types)), ("status", list(statuses))):
        if values:
            conditions.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(count), 0) FROM {_COUNTS} WHERE {' AND '.join(conditions)}", params)
        return int(cursor.fetchone()[0])


def datasource_tag_count(*, organization_id: int, tag: str) -> int:
    """Exactly how many data sources of the organization carry `tag`, from its counter.

    Equal to counting the rows the `contains_all` lookup matches for that one tag.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count FROM {_TAG_COUNTS} WHERE organization_id = %s AND tag = %s", [organization_id, tag]
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
