"""Instructions one list request costs, service or floor: a figure this shared machine cannot blur.

Timings on a machine shared with other tenants drift by 10-30% within a minute; the
instructions a request executes do not. Under valgrind's callgrind, this serves
`--requests` requests in process (Django's WSGI handler, production settings, the
request log at INFO; or bench/floor_app.py), on the data `make bench` seeded, and
collects only while they run (everything inside one `functools.reduce` call):

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \\
        --callgrind-out-file=/dev/null .venv/bin/python bench/instructions.py [--floor] \\
        [--query 'search=billing'] [--organization small] [--requests 60]

"Collected" divided by --requests is the figure. Gunicorn's own work (parsing, writing
the answer) is left out: it is the same for both. Without valgrind it runs as a check
that every request answers 200.
"""

import argparse
import functools
import io
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rivergen_bench"
LIST = "/api/v1/data-sources"


def service(query: str, organization: int | None) -> Any:
    """A function answering the request through Django's WSGI handler, as gunicorn calls it."""
    os.environ.update(DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE="rivergen.settings", LOG_LEVEL="INFO")
    for name, value in (
        ("SECRET_KEY", "instructions-benchmark-only-secret-key-0123456789"),
        ("JWT_SIGNING_KEY", "instructions-benchmark-only-signing-key-0123456789"),
        ("CREDENTIALS_ENCRYPTION_KEYS", "aW5zdHJ1Y3Rpb25zLWJlbmNobWFyay1vbmx5LWtleS0="),
        ("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")),
        ("SECURE_SSL_REDIRECT", "false"),
        ("THROTTLE_USER_RATE", "1000000000/min"),
    ):
        os.environ.setdefault(name, value)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework_simplejwt.tokens import AccessToken

    for handler in logging.getLogger().handlers:  # the request log is written, to nowhere
        handler.stream = open(os.devnull, "w")  # type: ignore[attr-defined]  # noqa: SIM115
    token = str(AccessToken.for_user(get_user_model().objects.get(username="bench")))
    application = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": LIST,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    if organization is not None:
        environ["HTTP_X_ORGANIZATION_ID"] = str(organization)
    return application, environ


def floor(query: str, organization: int | None, sql_file: Path) -> Any:
    os.environ.update(DATABASE_URL=DATABASE_URL, BENCH_FLOOR_SQL=str(sql_file))
    from bench import floor_app

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": LIST, "QUERY_STRING": query}
    environ["HTTP_X_ORGANIZATION_ID"] = "" if organization is None else str(organization)
    return floor_app.application, environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floor", action="store_true", help="bench/floor_app.py instead of the service")
    parser.add_argument("--query", default="", help="the query string, e.g. 'page_size=100'")
    parser.add_argument("--organization", choices=("largest", "small"), default="largest")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--sql", type=Path, default=ROOT / "bench" / "results" / "tmp" / "sql-1000000.json")
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(DATABASE_URL) as connection:
        row = connection.execute("SELECT id FROM organizations_organization WHERE slug = 'bench-org-002'").fetchone()
    if row is None:
        raise SystemExit("no bench data: run `make bench` first")
    # The largest organization is the bench user's default (no header), as in the bench.
    organization = row[0] if args.organization == "small" else None
    if args.floor:
        application, environ = floor(args.query, organization, args.sql)
    else:
        application, environ = service(args.query, organization)

    def answer(_previous: Any, _number: int) -> None:
        statuses: list[str] = []
        body = application({**environ, "wsgi.input": io.BytesIO(b"")}, lambda status, *rest: statuses.append(status))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{statuses[0]} for ?{args.query}")

    for number in range(50):  # warm: the statements compiled, the membership remembered, the counts read
        answer(None, number)
    functools.reduce(answer, range(args.requests), None)


if __name__ == "__main__":
    main()
