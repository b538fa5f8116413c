"""Reads of data sources that need more than a queryset."""

import re
from collections.abc import Collection

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from datasources.models import DataSource, DataSourceCount, DataSourceTagCount

# Plain SQL on purpose: these run on every list request, and the ORM's aggregate() spent
# ~0.5 ms of CPU compiling a one-table SUM (bench/list_overhead.py).
_COUNTS = connection.ops.quote_name(DataSourceCount._meta.db_table)
_TAG_COUNTS = connection.ops.quote_name(DataSourceTagCount._meta.db_table)
_DATA_SOURCES = connection.ops.quote_name(DataSource._meta.db_table)


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


# Terms the token index answers exactly (migration 0009): ASCII letters only or digits
# only, at most 200 characters (so any occurrence fits in one chunk of a long token).
_TOKEN_TERM = re.compile(r"[A-Za-z]{1,200}|[0-9]{1,200}")
# The term is upper-cased in SQL, as the ORM's icontains does, and must still be of one
# class: the proof needs it, and a Turkish collation's UPPER makes "i" an "İ".
_ANSWERABLE = "UPPER(%s) ~ '^([A-Z]+|[0-9]+)$'"
# Rows holding a token that contains the term; the term holds no LIKE wildcard.
_HAS_TOKEN = f"""{_DATA_SOURCES}.search_tokens && ARRAY(
    SELECT %s || token FROM datasources_searchtoken WHERE token LIKE '%%' || UPPER(%s) || '%%')"""
SEARCH_COUNT_SQL = f"SELECT CASE WHEN {_ANSWERABLE} THEN (SELECT count(*) FROM {_DATA_SOURCES} WHERE {_HAS_TOKEN}) END"


def datasource_search_count(
    *, organization_id: int, term: str, within: QuerySet[DataSource] | None = None
) -> int | None:
    """Exactly how many data sources of the organization contain `term` in their name or
    description (case-insensitively), from the token index; None when it cannot tell.

    `within`: count only those rows (the organization's, filtered but not searched); the
    token condition replaces the substring match there too (2-3 times faster at 500,000
    rows). Equal to counting the rows the `search` filter matches, for a term of ASCII
    letters only or digits only on PostgreSQL (migration 0009 proves it); for any other
    term, or another database, None: count the rows.

    Each matching row's table page is still read (PostgreSQL 15.20 reads every page of a
    bitmap scan, all-visible or not), so the cost grows with the number of matching pages.
    """
    if connection.vendor != "postgresql" or not _TOKEN_TERM.fullmatch(term):
        return None
    token_params = [f"{organization_id}:", term]
    if within is None:
        sql, params = SEARCH_COUNT_SQL, [term, *token_params]
    else:
        has_token = RawSQL(_HAS_TOKEN, token_params, output_field=BooleanField())
        rows_sql, rows_params = within.filter(has_token).order_by().values("pk").query.sql_with_params()
        sql = f"SELECT CASE WHEN {_ANSWERABLE} THEN (SELECT count(*) FROM ({rows_sql}) AS matching) END"
        params = [term, *rows_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count = cursor.fetchone()[0]
    return None if count is None else int(count)
