"""Time the data-source admin change list with many rows (a measurement, not a test).

    .venv/bin/python bench/admin_changelist.py [--rows 100000] [--repeat 5] [--database-url URL]

Creates the scratch PostgreSQL database if it is missing (default
postgres://postgres@127.0.0.1:5432/rivergen_admin_bench), migrates it, tops it up
to --rows data sources with bulk_create, then GETs each admin page with Django's
test client as a superuser and prints the median and best time in milliseconds,
the time spent in the database (last run), the number of queries and the slowest
query. Any DATABASE_URL works (e.g. sqlite:////tmp/bench.sqlite3); only PostgreSQL
databases are created for you. Run it again to re-measure: rows
already there are kept. Drop the database with `dropdb rivergen_admin_bench`.
"""

import argparse
import logging
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rivergen_admin_bench"
ORGANIZATIONS = 50
WORKSPACES_PER_ORGANIZATION = 4
TAGS = [f"tag-{n:02d}" for n in range(40)]
CHANGELIST = "/admin/datasources/datasource/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--show-sql", action="store_true", help="print every query of each page's last run")
    return parser.parse_args()


def create_database(url: str) -> None:
    """CREATE DATABASE when missing (PostgreSQL only)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def seed(rows: int) -> None:
    from django.db import connection, transaction

    from datasources.models import DataSource, DataSourceStatus, DataSourceType
    from organizations.models import Organization, Workspace

    existing = DataSource.objects.count()
    if existing >= rows:
        print(f"{existing} data sources already there")
        return
    rng = random.Random(existing)
    organizations = list(Organization.objects.order_by("id"))
    if not organizations:
        organizations = Organization.objects.bulk_create(
            Organization(name=f"Bench organization {n:02d}", slug=f"bench-{n:02d}") for n in range(ORGANIZATIONS)
        )
        Workspace.objects.bulk_create(
            Workspace(organization=organization, name=f"Workspace {n}")
            for organization in organizations
            for n in range(WORKSPACES_PER_ORGANIZATION)
        )
    workspaces = list(Workspace.objects.order_by("id"))
    types = [choice for choice in DataSourceType if choice not in {DataSourceType.SQLITE}]
    statuses = list(DataSourceStatus)
    now = time.time()

    # Rows created over the last two years, as an old catalog's would be: bulk_create
    # would stamp them all with now() through auto_now_add, so it is turned off here.
    created_at = DataSource._meta.get_field("created_at")
    created_at.auto_now_add = False
    started = time.perf_counter()
    try:
        with transaction.atomic():
            DataSource.objects.bulk_create(
                (_datasource(n, rng, workspaces, types, statuses, now) for n in range(existing, rows)),
                batch_size=5_000,
            )
    finally:
        created_at.auto_now_add = True
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # visibility map too, as autovacuum would
    print(f"created {rows - existing} data sources in {time.perf_counter() - started:.1f} s")


def _datasource(n, rng, workspaces, types, statuses, now):
    from datetime import UTC, datetime

    from datasources.models import DEFAULT_PORTS, FILE_PATH_TYPES, DataSource

    workspace = workspaces[n % len(workspaces)]
    kind = rng.choice(types)
    created = datetime.fromtimestamp(now - rng.uniform(0, 2 * 365 * 86400), tz=UTC)
    tested = rng.choice([None, timedelta(hours=rng.uniform(0, 23)), timedelta(days=rng.uniform(2, 90))])
    return DataSource(
        organization_id=workspace.organization_id,
        workspace=workspace,
        name=f"source-{n:06d}",
        type=kind,
        description=f"Feed number {n} for the {kind} warehouse",
        host=None if kind in FILE_PATH_TYPES else f"db{n % 500}.example.com",
        port=DEFAULT_PORTS.get(kind),
        database_name=f"db_{n % 97}",
        file_path=f"/data/feed-{n}.{kind}" if kind in FILE_PATH_TYPES else None,
        status=rng.choice(statuses),
        last_tested_at=None if tested is None else datetime.fromtimestamp(now, tz=UTC) - tested,
        tags=rng.sample(TAGS, rng.randint(0, 3)),
        created_at=created,
        updated_at=created,
    )


def measure(client, url: str, repeat: int, show_sql: bool) -> dict:
    from django.db import connection

    queries: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, sql))

    client.get(url)  # warm-up: connection, templates, plan cache
    timings = []
    for _ in range(repeat):
        queries.clear()
        with connection.execute_wrapper(timed):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    slowest = max(queries, default=(0.0, ""))
    if show_sql:
        for elapsed, sql in queries:
            print(f"    {elapsed:8.1f} ms  {sql}")
    return {
        "median": statistics.median(timings),
        "best": min(timings),
        "queries": len(queries),
        "db": sum(elapsed for elapsed, _sql in queries),
        "slowest": slowest[0],
        "slowest_sql": slowest[1][:120],
    }


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(ROOT))
    if args.database_url.startswith("postgres"):
        create_database(args.database_url)

    import django

    django.setup()
    logging.disable(logging.INFO)  # one access-log line per request would drown the table

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from datasources.models import DataSource

    setup_test_environment()  # lets the test client's "testserver" host in
    call_command("migrate", verbosity=0)
    seed(args.rows)
    user = get_user_model().objects.filter(username="bench-admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-admin-password")
    client = Client()
    client.force_login(user)

    sample = DataSource.objects.order_by("id")[args.rows // 2]
    organization_id = sample.organization_id
    pages = [
        ("default", CHANGELIST),
        ("type + status", f"{CHANGELIST}?type__exact=mysql&status__exact=active"),
        ("search by name", f"{CHANGELIST}?q={sample.name}"),
        ("search, no match", f"{CHANGELIST}?q=no-such-source"),
        ("organization + status", f"{CHANGELIST}?organization__id__exact={organization_id}&status__exact=failed"),
        ("organization + type", f"{CHANGELIST}?organization__id__exact={organization_id}&type__exact=mongodb"),
        ("tag", f"{CHANGELIST}?tag=tag-07"),
        ("never tested", f"{CHANGELIST}?tested=never"),
        ("tested in 24 h", f"{CHANGELIST}?tested=24h"),
        ("sorted by last tested", f"{CHANGELIST}?o=-7"),
        ("year in date hierarchy", f"{CHANGELIST}?created_at__year={sample.created_at.year}"),
        ("?_facets=1 (refused)", f"{CHANGELIST}?_facets=1"),
        ("change form", f"{CHANGELIST}{sample.pk}/change/"),
        (
            "workspace autocomplete",
            "/admin/autocomplete/?app_label=datasources&model_name=datasource&field_name=workspace&term=work",
        ),
        ("organizations", "/admin/organizations/organization/"),
        ("organizations by count", "/admin/organizations/organization/?o=-3"),
    ]
    total = DataSource.objects.count()
    print(f"{connection.vendor}, {total} data sources, {args.repeat} runs each (ms)")
    print(f"{'page':<24} {'median':>8} {'best':>8} {'in db':>8} {'queries':>8} {'slowest query':>14}")
    for label, url in pages:
        result = measure(client, url, args.repeat, args.show_sql)
        print(
            f"{label:<24} {result['median']:8.1f} {result['best']:8.1f} {result['db']:8.1f} {result['queries']:8d} "
            f"{result['slowest']:11.1f} ms  {result['slowest_sql']}"
        )


if __name__ == "__main__":
    main()
