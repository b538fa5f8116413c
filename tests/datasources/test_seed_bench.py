"""`manage.py seed_bench`: the benchmark's data set has the shape `make bench` relies on."""

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F
from rest_framework.test import APIClient

from datasources.management.commands.seed_bench import (
    BENCH_PASSWORD,
    BENCH_USERNAME,
    ORGANIZATIONS,
    SLUG_PREFIX,
    WORKSPACES_PER_ORGANIZATION,
)
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from organizations.models import Membership, Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, assert_success
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

ROWS = 500


def seed(rows: int = ROWS, **options: Any) -> str:
    out = StringIO()
    call_command("seed_bench", rows=rows, stdout=out, **options)
    return out.getvalue()


def bench_sources() -> Any:
    return DataSource.objects.filter(organization__slug__startswith=SLUG_PREFIX)


def snapshot() -> list[tuple[Any, ...]]:
    """Everything seeded but the ids and the bench user's password hash."""
    fields = [
        "organization__slug",
        "workspace__name",
        "name",
        "type",
        "description",
        "host",
        "port",
        "database_name",
        "schema_name",
        "file_path",
        "use_ssh_tunnel",
        "ssh_host",
        "ssh_port",
        "status",
        "last_tested_at",
        "last_successful_connection_at",
        "schema_discovered_at",
        "schema_auto_refresh",
        "tags",
        "created_at",
        "updated_at",
    ]
    return list(bench_sources().order_by("organization__slug", "name").values_list(*fields))


class TestShape:
    @pytest.fixture(autouse=True)
    def seeded(self) -> None:
        output = seed()
        assert f"Seeded {ROWS:,} data sources in {ORGANIZATIONS} organizations" in output

    def test_organizations_are_skewed_with_a_half_and_a_small_one(self) -> None:
        sizes = dict(
            Organization.objects.filter(slug__startswith=SLUG_PREFIX)
            .annotate(rows=Count("data_sources"))
            .values_list("slug", "rows")
        )
        assert len(sizes) == ORGANIZATIONS
        assert sum(sizes.values()) == DataSource.objects.count() == ROWS
        assert sizes[f"{SLUG_PREFIX}001"] == ROWS // 2  # the largest holds half
        assert sizes[f"{SLUG_PREFIX}002"] == ROWS // 4  # the small one: min(2,500, rows / 4)
        tail = sorted((rows for slug, rows in sizes.items() if slug > f"{SLUG_PREFIX}002"), reverse=True)
        assert tail[0] > 10 * tail[-1]  # a long tail, not an even spread

    def test_twenty_workspaces_each_holding_only_their_organizations_sources(self) -> None:
        per_organization = Counter(
            Workspace.objects.filter(organization__slug__startswith=SLUG_PREFIX).values_list(
                "organization_id", flat=True
            )
        )
        assert len(per_organization) == ORGANIZATIONS
        assert set(per_organization.values()) == {WORKSPACES_PER_ORGANIZATION}
        assert not DataSource.objects.exclude(workspace__organization=F("organization")).exists()
        largest = bench_sources().filter(organization__slug=f"{SLUG_PREFIX}001")
        assert largest.values("workspace_id").distinct().count() > WORKSPACES_PER_ORGANIZATION // 2

    def test_every_type_and_status_in_the_largest_organization(self) -> None:
        largest = bench_sources().filter(organization__slug=f"{SLUG_PREFIX}001")
        assert set(largest.values_list("type", flat=True)) == set(DataSourceType.values)
        assert set(largest.values_list("status", flat=True)) == set(DataSourceStatus.values)

    def test_tags_last_tested_at_and_credentials(self) -> None:
        rows = list(bench_sources().values("tags", "last_tested_at", *DataSource.CREDENTIAL_FIELDS))
        tag_counts = [len(row["tags"]) for row in rows]
        assert min(tag_counts) == 0
        assert max(tag_counts) == 8
        assert 2.5 <= sum(tag_counts) / len(rows) <= 4  # about 3 on average
        for row in rows:
            assert row["tags"] == sorted(set(row["tags"]), key=row["tags"].index)  # no duplicates
            assert all(tag == tag.strip().lower() for tag in row["tags"])
            assert all(row[name] is None for name in DataSource.CREDENTIAL_FIELDS)
        untested = sum(row["last_tested_at"] is None for row in rows) / len(rows)
        assert 0.05 <= untested <= 0.15  # about a tenth

    def test_every_row_passes_the_models_validation(self) -> None:
        names: Counter[tuple[int, str]] = Counter()
        for datasource in bench_sources().select_related("workspace"):
            datasource.full_clean()  # per-type fields, ports, tags, unique name, workspace in org
            names[(datasource.organization_id, datasource.name.lower())] += 1
            assert datasource.created_at <= datasource.updated_at
        assert max(names.values()) == 1

    def test_the_bench_user_can_list_the_largest_and_the_small_organization(self) -> None:
        user = get_user_model().objects.get(username=BENCH_USERNAME)
        memberships = list(Membership.objects.filter(user=user).order_by("created_at", "id"))
        assert [(m.organization.slug, m.role) for m in memberships] == [
            (f"{SLUG_PREFIX}001", Role.ADMIN),
            (f"{SLUG_PREFIX}002", Role.ADMIN),
        ]
        client = APIClient()
        response = client.post(
            "/api/v1/auth/token", {"username": BENCH_USERNAME, "password": BENCH_PASSWORD}, format="json"
        )
        token = assert_success(response, 200, "Token issued successfully")["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        largest = assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
        assert largest["pagination"]["total_items"] == ROWS // 2
        small_id = memberships[1].organization_id
        small = assert_success(
            client.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=str(small_id)),
            200,
            "Data sources retrieved successfully",
        )
        assert small["pagination"]["total_items"] == ROWS // 4
        assert {item["organization_id"] for item in small["items"]} == {small_id}


def test_same_seed_same_data_and_a_rerun_replaces_it() -> None:
    seed()
    first = snapshot()
    seed()
    assert DataSource.objects.count() == ROWS
    assert get_user_model().objects.filter(username=BENCH_USERNAME).count() == 1
    assert snapshot() == first
    seed(seed=7)
    assert snapshot() != first


def test_other_organizations_data_is_kept() -> None:
    mine = DataSourceFactory.create(name="Not a bench row")
    seed()
    seed()
    assert DataSource.objects.count() == ROWS + 1
    assert DataSource.objects.get(pk=mine.pk).name == "Not a bench row"
    assert Organization.objects.filter(slug__startswith=SLUG_PREFIX).count() == ORGANIZATIONS


def test_refuses_a_large_data_set_without_postgresql() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL takes any size (COPY); the limit is for the other databases")
    with pytest.raises(CommandError, match="use PostgreSQL"):
        seed(rows=100_000)
    assert not Organization.objects.exists()


def test_rows_must_be_positive() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        seed(rows=0)
