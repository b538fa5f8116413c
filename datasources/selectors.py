"""Reads of data sources that need more than a queryset."""

import hashlib
import logging
from collections.abc import Collection, Hashable
from typing import Any

from django.core.cache import caches
from django.db import connection
from django.db.models import QuerySet
from django.db.models.sql.query import Query

from datasources.models import DataSource, DataSourceCount, DataSourceTagCount, DataSourceVersion
from rivergen.db.statements import STATEMENTS, CompiledStatement

logger = logging.getLogger(__name__)

# Plain SQL on purpose: these run on every list request, and the ORM's aggregate() spent
# ~0.5 ms of CPU compiling a one-table SUM (bench/list_overhead.py).
_COUNTS = connection.ops.quote_name(DataSourceCount._meta.db_table)
_TAG_COUNTS = connection.ops.quote_name(DataSourceTagCount._meta.db_table)
_VERSIONS = connection.ops.quote_name(DataSourceVersion._meta.db_table)
_DATASOURCE_TABLE = DataSource._meta.db_table


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


#: The statement of `remembered_count`, by its opening (bench/capture_sql.py tells it apart by it).
REMEMBERED_COUNT_SQL = "SELECT current_version, CASE WHEN current_version = %s THEN NULL"


def remembered_count(
    queryset: QuerySet[DataSource], *, organization_id: int, statement_key: Hashable | None = None
) -> int:
    """Exactly how many of the organization's data sources `queryset` matches.

    Counted once per version of the organization's data sources (`DataSourceVersion`),
    and remembered in the "counts" cache with the version it was counted under. One
    statement either way, run where the COUNT would be: it reads the current version
    and counts only if that is not the remembered one, so a write that committed after
    the count makes it count again. The version and the count come from one statement,
    hence one snapshot: the count remembered is exactly the version's.

    `statement_key`, when given, names everything `queryset` was built from: the
    statement and its cache key are then worked out once (rivergen/db/statements.py).
    """

    def matched() -> QuerySet[DataSource, Any]:
        return queryset.filter(organization_id=organization_id).order_by().values("pk")

    # Built only when compiled: with a key seen before, not at all (~0.1 ms of CPU).
    statement = STATEMENTS.compiled_from(
        None if statement_key is None else (statement_key, "remembered count"), matched, using=queryset.db
    )
    if statement is None:
        return 0  # the ORM found that nothing can match
    if "cache_key" not in statement.derived:
        statement.derived["cache_key"] = _count_cache_key(statement.compiler.query, statement, organization_id)
    key = statement.derived["cache_key"]
    if key is None:
        return queryset.filter(organization_id=organization_id).count()
    sql, params = statement.sql, statement.params
    remembered = _remembered(key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{REMEMBERED_COUNT_SQL} ELSE (SELECT COUNT(*) FROM ({sql}) AS matched) END AS counted"
            f" FROM (SELECT (SELECT version FROM {_VERSIONS} WHERE organization_id = %s) AS current_version) AS v",
            [remembered[0] if remembered else None, *params, organization_id],
        )
        version, count = cursor.fetchone()
    if count is None and remembered:
        return remembered[1]  # NULL: the remembered version is current
    if version is not None:
        _remember(key, (str(version), int(count)))
    return int(count)


def _count_cache_key(query: Query, statement: CompiledStatement, organization_id: int) -> str | None:
    """Where the count of `statement` is remembered; None if a version cannot vouch for it."""
    if not _reads_data_sources_alone(query):
        return None
    # The statement as the database gets it: a parameter's repr may be shortened (psycopg's
    # Jsonb shows 35 characters), and two tag lists must never share an entry.
    sql, params = statement.sql, list(statement.params)
    postgresql = connection.vendor == "postgresql"
    sent = connection.ops.compose_sql(sql, params) if postgresql else repr((sql, params))  # type: ignore[attr-defined]
    return f"datasource-count:{organization_id}:{hashlib.blake2b(sent.encode(), digest_size=16).hexdigest()}"


def _reads_data_sources_alone(query: Query) -> bool:
    """Whether the query reads no table but the data sources: the version follows only their writes."""
    tables = {query.alias_map[alias].table_name for alias, uses in query.alias_refcount.items() if uses}
    return tables == {_DATASOURCE_TABLE} and not _holds_a_subquery(query.where)


def _holds_a_subquery(node: Any) -> bool:
    """Whether a condition, or any of its operands, is a query of its own (`__in=`, Exists)."""
    if isinstance(node, Query):
        return True
    operands = getattr(node, "children", None)
    if operands is None:
        operands = node.get_source_expressions() if hasattr(node, "get_source_expressions") else []
    return any(_holds_a_subquery(operand) for operand in operands)


def _remembered(key: str) -> tuple[str, int] | None:
    try:
        value = caches["counts"].get(key)
    except Exception as error:  # a cache that fails costs a count, never the request
        logger.warning("Count cache unavailable, counting: %s", type(error).__name__)
        return None
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and type(value[1]) is int:
        return value
    return None


def _remember(key: str, value: tuple[str, int]) -> None:
    try:
        caches["counts"].set(key, value)
    except Exception as error:
        logger.warning("Count cache unavailable, not remembering: %s", type(error).__name__)
