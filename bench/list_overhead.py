"""In-process cost of one list request, for weighing levers one at a time.

Not the benchmark (`make bench` serves through gunicorn and compares with the floor):
this calls Django's WSGI application in-process, as gunicorn does, on a small PostgreSQL
data set, so Python-side changes (auth, serialization, rendering) show up without network
noise. CPU time is this process's (the Django side); on a shared machine take the lowest
of a few runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rivergen_overhead \\
        .venv/bin/python bench/list_overhead.py [--rows 2500] [--requests 400] [--pieces]

--pieces: where the default list's CPU goes, each step's share timed by wrapping it.
"""

import argparse
import collections
import functools
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rivergen.settings")
os.environ.setdefault("SECRET_KEY", "list-overhead-benchmark-only-secret-key-0123456789")
os.environ.setdefault("JWT_SIGNING_KEY", "list-overhead-benchmark-only-signing-key-0123456789")
os.environ.setdefault("CREDENTIALS_ENCRYPTION_KEYS", "bGlzdC1vdmVyaGVhZC1iZW5jaG1hcmstb25seS1rZXk=")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")  # throttle counters, as in production
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("THROTTLE_USER_RATE", "1000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # the request log's cost is measured apart

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from datasources.models import DataSource, DataSourceStatus, DataSourceType  # noqa: E402
from organizations.models import Membership, Organization, Role, Workspace  # noqa: E402

QUERIES = {
    "default page_size=20": "",
    "page_size=100": "page_size=100",
    "page 3": "page=3",
    "type+status": "type=postgresql,mysql&status_filter=active",
    "sort name asc": "sort_by=name&sort_order=asc",
}


def ensure_data(rows: int) -> str:
    call_command("migrate", verbosity=0)
    organization, _created = Organization.objects.get_or_create(slug="overhead", defaults={"name": "Overhead"})
    user, _ = get_user_model().objects.get_or_create(username="overhead")
    Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": Role.ADMIN})
    if DataSource.objects.filter(organization=organization).count() != rows:
        DataSource.objects.filter(organization=organization).delete()
        workspaces = [
            Workspace.objects.get_or_create(organization=organization, name=f"Workspace {i}")[0] for i in range(20)
        ]
        types, statuses = list(DataSourceType), list(DataSourceStatus)
        DataSource.objects.bulk_create(
            [
                DataSource(
                    organization=organization,
                    workspace=workspaces[i % 20],
                    name=f"Source {i:06d}",
                    type=types[i % len(types)],
                    status=statuses[i % len(statuses)],
                    description=f"Overhead benchmark row {i}",
                    host="db.example.com",
                    port=5432,
                    database_name="analytics",
                    tags=["alpha", "beta", "gamma"][: i % 4],
                )
                for i in range(rows)
            ],
            batch_size=1000,
        )
    return str(AccessToken.for_user(user))


class WSGIClient:
    """GET requests straight into Django's WSGI handler: what gunicorn's worker calls."""

    def __init__(self, token: str) -> None:
        self.application = WSGIHandler()
        self.token = token

    def get(self, url: str) -> int:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost",
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        status: list[str] = []
        body = self.application(environ, lambda line, headers, exc_info=None: status.append(line))
        b"".join(body)
        body.close()  # type: ignore[attr-defined]
        return int(status[0].split()[0])


def count_statements(client: WSGIClient, url: str) -> list[str]:
    statements: list[str] = []

    def record(execute, sql, *rest):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(record):
        client.get(url)
    return statements


def time_pieces(client: WSGIClient, url: str, requests: int) -> None:
    """CPU per request of each step of a list request (nested steps are inside their parent)."""
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework import views

    from datasources.api.views import DataSourceViewSet
    from rivergen.api import pagination, renderers, viewsets
    from rivergen.api.tenancy import OrganizationScopedMixin

    spent: collections.Counter[str] = collections.Counter()
    labels: list[str] = []  # in the order registered: each step above the steps inside it

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        setattr(owner, name, wrapper)
        labels.append(label)

    timed(WSGIHandler, "__call__", "whole request (WSGI handler)")
    timed(views.APIView, "dispatch", "  DRF dispatch")
    timed(views.APIView, "initial", "    token, role check (membership), throttle")
    timed(viewsets.ListModelMixin, "list_queryset", "    the list's queryset (built once per shape)")
    timed(OrganizationScopedMixin, "get_queryset", "      scoped queryset")
    timed(viewsets.OrganizationScopedViewSet, "filter_queryset", "      filters, search, sort")
    timed(pagination.EnvelopePagination, "paginate_queryset", "    pagination: count and page")
    timed(DataSourceViewSet, "count_rows", "      the count")
    timed(viewsets.ListModelMixin, "represent_page", "    rows")
    timed(pagination.EnvelopePagination, "get_paginated_response", "    envelope")
    timed(renderers.JSONRenderer, "render", "  JSON")
    for _ in range(50):
        client.get(url)
    spent.clear()
    for _ in range(requests):
        client.get(url)
    for label in labels:
        print(f"{label:<46} {spent[label] * 1e6 / requests:7.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2500)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--pieces", action="store_true", help="time each step of the default list instead")
    args = parser.parse_args()
    token = ensure_data(args.rows)
    client = WSGIClient(token)
    if args.pieces:
        time_pieces(client, "/api/v1/data-sources", args.requests)
        return
    print(f"{'query':<22} {'wall p50':>9} {'cpu mean':>9} {'sql':>4}")
    for label, query in QUERIES.items():
        url = f"/api/v1/data-sources?{query}"
        for _ in range(20):
            assert client.get(url) == 200
        statements = count_statements(client, url)
        timings = []
        cpu_started = time.process_time()
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / args.requests
        print(f"{label:<22} {statistics.median(timings):9.2f} {cpu_ms:9.2f} {len(statements):4d}")


if __name__ == "__main__":
    main()
