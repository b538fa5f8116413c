"""The floor: the least any server can do to answer the bench's list requests.

    BENCH_FLOOR_SQL=bench/results/tmp/sql-10000.json DATABASE_URL=postgres://... \\
        gunicorn -c gunicorn.conf.py bench.floor_app:application

A bare WSGI application, no Django: for a request path of the bench's query mix it
runs the very statements the service ran for that path to read data sources and
their total (captured by bench/capture_sql.py; not the auth, membership or other ones), through psycopg on one
connection per worker kept open (autocommit and client-side binding, as Django
uses it), and encodes the same envelope with orjson. A count the service remembers
per data version, the floor remembers too, per worker: the same statement, bound to the
version it remembers, counts only after a write.
Anything else answers 404; /healthz answers 200.
"""

import os
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import psycopg
from psycopg.types.json import set_json_loads

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS
_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
_MESSAGE = "Data sources retrieved successfully"


# A count remembered per data version (datasources.selectors.remembered_count): the
# statement reads the version and counts only when it differs from the one bound here.
# Captured unbound (the service's first request had nothing remembered); the floor binds
# the version it remembers, as the service does, so a write makes both count once again.
_UNBOUND = "current_version = NULL THEN"


def _load_plan() -> dict[str, tuple[list[tuple[str, bool]], bool]]:
    captured = orjson.loads(Path(os.environ["BENCH_FLOOR_SQL"]).read_bytes())["requests"]

    def statements(entry: dict[str, Any]) -> list[tuple[str, bool]]:
        first = [s["text"] for s in entry.get("first_statements", []) if s.get("remembered_count")]
        return [
            (first[0], True) if s.get("remembered_count") else (s["text"], False)
            for s in entry["statements"]
            if s["kind"] == "data"
        ]

    # Keyed by X-Organization-ID (or nothing) and path: "|/api/v1/data-sources?page=2".
    return {
        request_key: (statements(entry), entry.get("row_order") == "reversed")
        for request_key, entry in captured.items()
    }


PLAN = _load_plan()
# One connection per thread, as Django keeps them: a threaded gunicorn worker
# (bench/cpu_split.py --gunicorn-args) gets one per thread; a sync worker, one.
_connections = threading.local()
# What this worker counted, as the service remembers it: {request key: (version, total)}.
_remembered: dict[str, tuple[str, int]] = {}


def _remembered_total(request_key: str, unbound: str, cursor: psycopg.ClientCursor[Any]) -> int:
    remembered = _remembered.get(request_key)
    text = unbound if remembered is None else unbound.replace(_UNBOUND, f"current_version = '{remembered[0]}' THEN")
    cursor.execute(text)
    version, counted = cursor.fetchone()  # type: ignore[misc]
    if counted is None and remembered is not None:
        return remembered[1]
    _remembered[request_key] = (str(uuid.UUID(str(version))), int(counted))  # a UUID: safe to bind as text
    return int(counted)


def _cursor() -> psycopg.ClientCursor[Any]:
    connection = getattr(_connections, "connection", None)
    if connection is None or connection.closed:
        # Opened in the worker (after the fork), on first use.
        connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, cursor_factory=psycopg.ClientCursor)
        set_json_loads(orjson.loads, connection)
        connection.execute("SET TIME ZONE 'UTC'")
        _connections.connection = connection
    return connection.cursor()


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

    statements, reversed_rows = plan
    page, page_size = _page_params(query_string)
    items: list[dict[str, Any]] = []
    total_items = None
    with _cursor() as cursor:
        for text, remembered_count in statements:
            if remembered_count:
                total_items = _remembered_total(plan_key, text, cursor)
                continue
            cursor.execute(text)
            description = cursor.description
            if description is None:
                continue
            if len(description) == 1:
                # The total: a COUNT(*), or a sum of counters (numeric, hence int()).
                total_items = int(cursor.fetchone()[0])  # type: ignore[index]
            else:
                names = [column.name for column in description]
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
