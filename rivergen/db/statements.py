"""Compiled SQL of `.values()` querysets, and the querysets themselves, reused by what they were built from.

Turning a queryset into SQL (joins, select list, ordering, WHERE) is the ORM's most
expensive step on the list path: ~0.4 ms of CPU per page on the bench's machine, a
seventh of a whole list request (bench/list_overhead.py). A list request builds the
same queryset every time it is made with the same inputs, so its compiled statement is
remembered under a key naming those inputs, and only executed again.

The caller owns the key, and it must name everything the queryset was built from
(for the API's lists: the viewset and its action, the organization, the query string,
and the page's slice; `OrganizationScopedViewSet.statement_key`). With `STATEMENT_CACHE_VERIFY` on
(the test settings) every reuse compiles again and fails loudly on any difference, so
the whole suite checks that the keys are complete.

Building the queryset (scope, filter form, search, sort: ~0.65 ms of a list request's CPU)
is skipped the same way: `StatementCache.queryset` keeps what a key built the first time,
and what building it worked out (the validated filters), and answers later requests with it.

Per thread, as Django's connections are: a gunicorn sync worker has one thread, and
under runserver each request's thread starts empty. At most `size` entries are kept, the
least recently used dropped first: a list's filters, search and sort keep one queryset
and a count's statement, and each page read one statement (~15-20 KB each with a short
query string, so at most ~10 MB per thread).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

State = TypeVar("State")


class ColumnRows(list[dict[str, Any]]):
    """The rows of one `.values()` statement, as dicts: each holds exactly `columns`, in order.

    Serializers trust `columns` instead of looking at each row (ColumnRepresentationMixin):
    never add a key to these rows.
    """

    def __init__(self, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
        super().__init__(rows)
        self.columns = columns


class CompiledStatement(NamedTuple):
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]  # the row dicts' keys, in column order
    compiler: SQLCompiler  # applies the backend's and the fields' converters
    converters: dict[int, Any]
    connection: BaseDatabaseWrapper
    derived: dict[str, Any]  # what callers work out from the statement, kept with it


class StatementCache:
    size = 512

    def __init__(self) -> None:
        self._local = threading.local()

    def _statements(self) -> OrderedDict[Hashable, Any]:
        """This thread's remembered statements and querysets (apart: their keys may be equal)."""
        statements = getattr(self._local, "statements", None)
        if statements is None:
            statements = self._local.statements = OrderedDict()
        return statements

    def _remember(self, key: Hashable, value: Any) -> None:
        statements = self._statements()
        statements[key] = value
        if len(statements) > self.size:
            statements.popitem(last=False)

    def queryset(self, key: Hashable, build: Callable[[], tuple[QuerySet[Any], State]]) -> tuple[QuerySet[Any], State]:
        """What `build()` returns (a queryset, and what building it worked out), built once per key.

        A reuse gets a clone of the queryset, never the remembered one, and the same state
        object: callers only read it. Nothing is remembered if `build` raises (a 400).
        """
        statements = self._statements()
        full_key = ("queryset", key)
        if full_key in statements:
            statements.move_to_end(full_key)
            remembered, state = statements[full_key]
            queryset = remembered.all()
            if getattr(settings, "STATEMENT_CACHE_VERIFY", False):
                fresh, fresh_state = build()
                connection = connections[fresh.db]
                _verify(_compile(queryset, connection), _compile(fresh, connection), key)
                if fresh_state != state:
                    raise AssertionError(f"Key {key!r} built two different states: its key is incomplete.")
            return queryset, state
        queryset, state = build()
        # Read nothing into the remembered queryset: only its clones are evaluated.
        self._remember(full_key, (queryset.all(), state))
        return queryset, state

    def values(self, key: Hashable, build: Callable[[], QuerySet[Any]], *, using: str) -> list[dict[str, Any]]:
        """The rows of `build()`, an unread `.values()` queryset, compiled once per key (ColumnRows).

        `build` is only called to compile the statement (or, with STATEMENT_CACHE_VERIFY,
        to check the key): a repeat request builds no queryset at all.
        """
        statement = self.compiled_from(key, build, using=using)
        if statement is None:
            return ColumnRows([], ())  # the ORM found that nothing can match (EmptyResultSet)
        with statement.connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            rows = cursor.fetchall()
        if statement.converters:
            rows = statement.compiler.apply_converters(rows, statement.converters)
        names = statement.names
        # Not strict: columns the ordering added after the selected ones (has_extra_select) are dropped.
        return ColumnRows([dict(zip(names, row, strict=False)) for row in rows], names)

    def compiled_from(
        self, key: Hashable | None, build: Callable[[], QuerySet[Any]], *, using: str
    ) -> CompiledStatement | None:
        """`build()`'s statement, compiled the first time `key` is seen (None: it matches nothing).

        `build` is called only to compile (or verify) it; with no key, it is compiled now
        and not remembered.
        """
        connection = connections[using]
        if key is None:
            return _compile(build(), connection)
        statements = self._statements()
        full_key = (using, key)
        if full_key in statements:
            statement = statements[full_key]
            if statement is None or statement.connection is connection:
                statements.move_to_end(full_key)
                if getattr(settings, "STATEMENT_CACHE_VERIFY", False):
                    _verify(statement, _compile(build(), connection), key)
                return statement
        statement = _compile(build(), connection)
        self._remember(full_key, statement)
        return statement

    def clear(self) -> None:
        self._statements().clear()


def _compile(queryset: QuerySet[Any], connection: BaseDatabaseWrapper) -> CompiledStatement | None:
    query = queryset.query
    compiler = query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    if not sql:
        return None
    # As ValuesIterable names a row's values, and results_iter finds their converters.
    names = (
        tuple(query.selected)
        if query.selected
        else (*query.extra_select, *query.values_select, *query.annotation_select)
    )
    converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
    return CompiledStatement(sql, tuple(params), names, compiler, converters, connection, {})


def _verify(cached: CompiledStatement | None, fresh: CompiledStatement | None, key: Hashable) -> None:
    def comparable(statement: CompiledStatement | None) -> Any:
        if statement is None:
            return None
        # psycopg's Jsonb compares by identity: compare what it wraps.
        params = tuple(getattr(param, "obj", param) for param in statement.params)
        return statement.sql, params, statement.names

    if comparable(cached) != comparable(fresh):
        raise AssertionError(f"Statement key {key!r} names two different statements: its key is incomplete.")


STATEMENTS = StatementCache()
