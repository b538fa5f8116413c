"""Reads of data sources that need more than a queryset."""

import hashlib
import logging
from collections.abc import Collection
from typing import Any

from django.core.cache import caches
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from redis.exceptions import RedisError

from datasources.models import DataSource, DataSourceCount, DataSourceTagCount, DataSourceVersion

logger = logging.getLogger(__name__)

# Plain SQL on purpose: these run on every list request, and the ORM's aggregate() spent
# ~0.5 ms of CPU compiling a one-table SUM (bench/list_overhead.py).
_COUNTS = connection.ops.quote_name(DataSourceCount._meta.db_table)
_TAG_COUNTS = connection.ops.quote_name(DataSourceTagCount._meta.db_table)
_VERSIONS = connection.ops.quote_name(DataSourceVersion._meta.db_table)
_TABLE = DataSource._meta.db_table


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


def remembered_count(queryset: QuerySet[DataSource], *, organization_id: int) -> int:
    """Exactly how many rows `queryset` (one organization's data sources) matches.

    Counted once per version of the organization's data sources (`DataSourceVersion`),
    and remembered in the "counts" cache with the version it was counted under. One
    statement either way, run where the COUNT would be: it reads the current version
    and counts only if that is not the remembered one, so a write that committed after
    the count makes it count again. The version and the count come from one statement,
    hence one snapshot: the count remembered is exactly the version's.
    """
    query = queryset.order_by().values("pk").query
    try:
        sql, params = query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        return 0
    if {query.alias_map[alias].table_name for alias, uses in query.alias_refcount.items() if uses} != {_TABLE}:
        return queryset.count()  # it reads another table, whose writes the version does not follow
    digest = hashlib.blake2b(repr((sql, params)).encode(), digest_size=16).hexdigest()
    key = f"datasource-count:{organization_id}:{digest}"
    remembered = _cache_get(key)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_version, CASE WHEN current_version = %s THEN NULL"
            f" ELSE (SELECT COUNT(*) FROM ({sql}) AS matched) END AS counted"
            f" FROM (SELECT (SELECT version FROM {_VERSIONS} WHERE organization_id = %s) AS current_version) AS v",
            [remembered[0] if remembered else None, *params, organization_id],
        )
        version, count = cursor.fetchone()
    if count is None:
        return int(remembered[1])  # NULL only when the remembered version is current
    if version is not None:
        _cache_set(key, (str(version), int(count)))
    return int(count)


def _cache_get(key: str) -> Any:
    try:
        return caches["counts"].get(key)
    except RedisError as error:  # counting without it is slower, not wrong
        logger.warning("Count cache unavailable, counting: %s", error)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        caches["counts"].set(key, value)
    except RedisError as error:
        logger.warning("Count cache unavailable, not remembering: %s", error)
