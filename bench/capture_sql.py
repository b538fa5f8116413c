"""Capture the SQL the service runs for each request of the bench's query mix.

    .venv/bin/python bench/capture_sql.py MIX_JSON OUT_JSON

Run by bench/run.py with the bench environment (DATABASE_URL, SECRET_KEY, ...). Each
path is requested twice through Django's test client, in process, with the bench
user's bearer token; each request's statements are recorded through
`connection.execute_wrapper` (the second's as "statements", the first's as
"first_statements"): the SQL and its parameters, and the exact text psycopg sends
(Django's PostgreSQL backend binds parameters client-side, so the floor can replay that
text as is). Each is marked "auth" (users, memberships), "data" (reads of data sources
and their counters: what the floor replays) or "other" (e.g. a throttle cache in the
database); "remembered_count" marks the statement of a count remembered per data version
(datasources.selectors.remembered_count), which the first request counts and the second
answers from memory. "row_order" tells whether the service answered the page query's
rows as they came or reversed (it reads the last pages backwards).
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rivergen.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from datasources.management.commands.seed_bench import BENCH_USERNAME  # noqa: E402
from datasources.selectors import REMEMBERED_COUNT_SQL  # noqa: E402

AUTH_TABLES = ('"auth_user"', '"organizations_membership"', '"organizations_organization"', '"django_session"')


def kind(sql: str) -> str:
    """Classify: "auth" (users, memberships), "data" (reads of data sources and counters), "other".

    "other" is whatever else a request costs: a cache or throttle table, sessions.
    """
    if '"datasources_' in sql:
        return "data" if sql.lstrip().upper().startswith("SELECT") else "other"
    if any(table in sql for table in AUTH_TABLES):
        return "auth"
    return "other"


def row_order(statements: list[dict[str, Any]], answered_ids: list[int]) -> str:
    """How the service's items relate to its page query's rows: "as_is" or "reversed".

    The service may read a page in reverse order (the last pages of a long list) and
    flip it in Python; the floor must do the same to answer the same body.
    """
    for statement in statements:
        if statement["kind"] != "data":
            continue
        with connection.cursor() as cursor:
            cursor.execute(statement["text"])
            names = [column.name for column in cursor.description or []]
            if "id" not in names:
                continue
            ids = [row[names.index("id")] for row in cursor.fetchall()]
        if ids == answered_ids:
            return "as_is"
        if ids[::-1] == answered_ids:
            return "reversed"
        return "other"
    return "as_is"


def capture(client: Client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        cursor = context["cursor"].cursor
        text = cursor.mogrify(sql, params) if params is not None else sql
        statements.append(
            {
                "kind": kind(sql),
                "sql": sql,
                "params": repr(params),
                "text": text,
                "remembered_count": sql.startswith(REMEMBERED_COUNT_SQL),
            }
        )
        return execute(sql, params, many, context)

    # The first request also warms lazy imports and caches.
    with connection.execute_wrapper(record):
        client.get(path, headers=headers)
    first_statements, statements = statements, []
    with connection.execute_wrapper(record):
        response = client.get(path, headers=headers)
    body = response.json()
    result: dict[str, Any] = {"status": response.status_code, "statements": statements}
    result["first_statements"] = first_statements
    if response.status_code == 200:
        result["total_items"] = body["data"]["pagination"]["total_items"]
        result["items"] = len(body["data"]["items"])
        result["row_order"] = row_order(statements, [item["id"] for item in body["data"]["items"]])
    else:
        result["error"] = body
    return result


@override_settings(CACHES={**settings.CACHES, "counts": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def main() -> None:
    """Capture each path; remembered counts in this process only, so that the first request counts."""
    mix_file, out_file = sys.argv[1:3]
    mix = json.loads(Path(mix_file).read_text())
    user = get_user_model().objects.get(username=BENCH_USERNAME)
    token = str(AccessToken.for_user(user))
    client = Client(HTTP_HOST="127.0.0.1")
    captured: dict[str, Any] = {}
    for query in mix["queries"]:
        headers = {"Authorization": f"Bearer {token}"}
        if query.get("organization_header"):
            headers["X-Organization-ID"] = str(query["organization_header"])
        for path in query["paths"]:
            # The key bench/floor_app.py looks requests up by.
            captured[f"{query.get('organization_header') or ''}|{path}"] = capture(client, path, headers)
    database = connection.settings_dict
    # Django's health check (a SELECT 1 before a request's first query, on a reused
    # connection) goes straight to psycopg: no execute wrapper sees it.
    health_check = bool(database["CONN_HEALTH_CHECKS"]) and database["CONN_MAX_AGE"] != 0
    Path(out_file).write_text(json.dumps({"health_check": health_check, "requests": captured}, indent=1))
    failed = {path: entry["status"] for path, entry in captured.items() if entry["status"] != 200}
    if failed:
        sys.exit(f"capture: requests failed: {failed}")


if __name__ == "__main__":
    main()
