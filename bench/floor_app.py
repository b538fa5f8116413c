"""The floor: the least any server can do to answer the bench's list requests.

    BENCH_FLOOR_SQL=bench/results/tmp/sql-10000.json DATABASE_URL=postgres://... \\
        gunicorn -c gunicorn.conf.py bench.floor_app:application

A bare WSGI application, no Django: for a request path of the bench's query mix it
runs the very statements the service ran for that path to read data sources and
their total (captured by bench/capture_sql.py; not the auth, membership or other ones), through psycopg on one
connection per worker kept open (autocommit and client-side binding, as Django
uses it), and encodes the same envelope with orjson. Where the service answered a
remembered count (its statement read the data version and counted nothing), the floor
answers the total it counted once per worker, as the service's first request did.
Anything else answers 404; /healthz answers 200.
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import psycopg
from psycopg.types.json import set_json_loads

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS
_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
_MESSAGE = "Data sources retrieved successfully"


# The columns of a count remembered per data version (datasources.selectors.remembered_count):
# the current version, and the count, NULL when the remembered one is current.
REMEMBERED_COUNT = ["current_version", "counted"]


def _load_plan() -> dict[str, tuple[list[str], bool, list[str]]]:
    captured = orjson.loads(Path(os.environ["BENCH_FLOOR_SQL"]).read_bytes())["requests"]

    def data(statements: list[dict[str, Any]]) -> list[str]:
        return [statement["text"] for statement in statements if statement["kind"] == "data"]

    # Keyed by X-Organization-ID (or nothing) and path: "|/api/v1/data-sources?page=2".
    return {
        request_key: (
            data(entry["statements"]),
            entry.get("row_order") == "reversed",
            data(entry.get("first_statements", [])),
        )
        for request_key, entry in captured.items()
    }


PLAN = _load_plan()
_connection: psycopg.Connection[Any] | None = None
# Totals this worker counted, as the service remembers them: {request key: total}.
_remembered: dict[str, int] = {}


def _remembered_total(request_key: str, cursor: psycopg.ClientCursor[Any]) -> int:
    """The total the service answered from memory: counted once per worker, as the service's first request did."""
    if request_key not in _remembered:
        for text in PLAN[request_key][2]:
            cursor.execute(text)
            if cursor.description and [column.name for column in cursor.description] == REMEMBERED_COUNT:
                _remembered[request_key] = int(cursor.fetchone()[1])  # type: ignore[index]
    return _remembered[request_key]


def _cursor() -> psycopg.ClientCursor[Any]:
    global _connection
    if _connection is None or _connection.closed:
        # Opened in the worker (after the fork), on first use.
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, cursor_factory=psycopg.ClientCursor)
        set_json_loads(orjson.loads, _connection)
        _connection.execute("SET TIME ZONE 'UTC'")
    return _connection.cursor()


def _page_params(query_string: str) -> tuple[int, int]:
    params = dict(parse_qsl(query_string))
    return int(params.get("page") or 1), int(params.get("page_size") or 20)


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    query_string = environ.get("QUERY_STRING", "")
    request_path = f"{path}?{query_string}" if query_string else path
    plan_key = f"{environ.get('HTTP_X_ORGANIZATION_ID', '')}|{request_path}"
    plan = PLAN.get(plan_key)
    if plan is None:
        status = "200 OK" if path == "/healthz" else "404 Not Found"
        start_response(status, [*_HEADERS, ("Content-Length", "2")])
        return [b"{}"]

    statements, reversed_rows, _first = plan
    page, page_size = _page_params(query_string)
    items: list[dict[str, Any]] = []
    total_items = None
    with _cursor() as cursor:
        for text in statements:
            cursor.execute(text)
            description = cursor.description
            if description is None:
                continue
            names = [column.name for column in description]
            if len(description) == 1:
                # The total: a COUNT(*), or a sum of counters (numeric, hence int()).
                total_items = int(cursor.fetchone()[0])  # type: ignore[index]
            elif names == REMEMBERED_COUNT:
                counted = cursor.fetchone()[1]  # type: ignore[index]
                total_items = int(counted) if counted is not None else _remembered_total(plan_key, cursor)
            else:
                rows = cursor.fetchall()
                if reversed_rows:  # the service read the page backwards, and flipped it
                    rows.reverse()
                items = [dict(zip(names, row, strict=True)) for row in rows]
    if total_items is None:
        # The service skipped the count (a short page is the last one): so does the floor.
        total_items = (page - 1) * page_size + len(items)
    total_pages = -(-total_items // page_size)
    body = orjson.dumps(
        {
            "success": True,
            "data": {
                "items": items,
                "pagination": {
                    "page": page,
                    "page_size": page_size,
                    "total_items": total_items,
                    "total_pages": total_pages,
                    "has_next": page < total_pages,
                    "has_previous": page > 1,
                },
            },
            "message": _MESSAGE,
        },
        option=_OPTIONS,
    )
    start_response("200 OK", [*_HEADERS, ("Content-Length", str(len(body)))])
    return [body]
