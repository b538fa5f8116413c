"""Search counts remembered per version of an organization's data sources (migration 0009).

A remembered count is only ever answered while the version it was counted under is
current; every kind of write renews the version, so the next count is exact again.
"""

import uuid
from importlib import import_module
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext
from redis.exceptions import ConnectionError as RedisConnectionError

from datasources.models import DataSource, DataSourceStatus, DataSourceVersion
from datasources.selectors import remembered_count
from organizations.models import Organization, Workspace
from tests.conftest import DATA_SOURCES_URL, MemberClient, assert_success
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def version(organization: Organization) -> Any:
    return DataSourceVersion.objects.filter(organization_id=organization.pk).values_list("version", flat=True).first()


def matching(organization: Organization, term: str) -> QuerySet[DataSource]:
    """The list's search, as the view builds it (name or description contains the term)."""
    rows = DataSource.objects.filter(organization_id=organization.pk)
    return rows.filter(Q(name__icontains=term) | Q(description__icontains=term))


def count(organization: Organization, term: str) -> int:
    return remembered_count(matching(organization, term), organization_id=organization.pk)


def remembered(organization: Organization) -> list[Any]:
    """The (version, count) entries the counts cache holds for the organization."""
    cache = caches["counts"]
    prefix = cache.make_key(f"datasource-count:{organization.pk}:")
    keys = [key.split(":", 2)[2] for key in list(cache._cache) if key.startswith(prefix)]  # type: ignore[attr-defined]
    return [cache.get(key) for key in keys]


@pytest.fixture
def billing(workspace: Workspace) -> list[DataSource]:
    return [DataSourceFactory.create(workspace=workspace, name=f"Billing {n}", description="ledger") for n in range(3)]


def test_every_kind_of_write_renews_the_organizations_version(
    workspace: Workspace, other_organization: Organization
) -> None:
    organization = workspace.organization
    other_source = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization))
    other_version = version(other_organization)
    seen = [version(organization)]
    source = DataSourceFactory.create(workspace=workspace)
    seen.append(version(organization))
    source.description = "renamed"
    source.save()
    seen.append(version(organization))
    DataSource.objects.filter(pk=source.pk).update(last_tested_at=source.created_at)  # a column no filter reads
    seen.append(version(organization))
    table = connection.ops.quote_name(DataSource._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET name = %s WHERE id = %s", ["raw", source.pk])
    seen.append(version(organization))
    source.delete()
    seen.append(version(organization))

    assert seen[0] is None  # nothing written yet
    assert None not in seen[1:] and len(set(seen)) == len(seen)
    assert version(other_organization) == other_version  # the other organization's rows did not change
    assert other_source.organization_id == other_organization.pk


def test_a_row_moved_to_another_organization_renews_both_versions(
    workspace: Workspace, other_organization: Organization
) -> None:
    source = DataSourceFactory.create(workspace=workspace)
    other_workspace = WorkspaceFactory.create(organization=other_organization)
    DataSourceFactory.create(workspace=other_workspace)
    before = (version(workspace.organization), version(other_organization))
    # Only raw SQL moves a row (the API and the admin refuse to): the versions follow all the same.
    DataSource.objects.filter(pk=source.pk).update(organization=other_organization, workspace=other_workspace)
    after = (version(workspace.organization), version(other_organization))
    assert before[0] != after[0] and before[1] != after[1]


def test_a_remembered_count_is_answered_while_its_version_is_current(
    workspace: Workspace, billing: list[DataSource]
) -> None:
    organization = workspace.organization
    assert count(organization, "billing") == 3
    [(counted_under, counted)] = remembered(organization)
    assert (uuid.UUID(counted_under), counted) == (version(organization), 3)

    # Proof that it is the remembered count that is answered: plant another one.
    [key] = [key.split(":", 2)[2] for key in caches["counts"]._cache]  # type: ignore[attr-defined]
    caches["counts"].set(key, (counted_under, 99))
    assert count(organization, "billing") == 99

    # Any write makes it count again, exactly.
    DataSourceFactory.create(workspace=workspace, name="Billing 4")
    assert count(organization, "billing") == 4
    [(counted_under, counted)] = remembered(organization)
    assert (uuid.UUID(counted_under), counted) == (version(organization), 4)


def test_every_search_and_organization_is_remembered_apart(
    workspace: Workspace, other_organization: Organization, billing: list[DataSource]
) -> None:
    organization = workspace.organization
    other_workspace = WorkspaceFactory.create(organization=other_organization)
    DataSourceFactory.create(workspace=other_workspace, name="Billing elsewhere")
    for _ in range(2):
        assert (count(organization, "billing"), count(organization, "ledger"), count(organization, "bill 1")) == (
            3,
            3,
            0,
        )
        assert count(other_organization, "billing") == 1
    assert count(organization, "BILLING 2") == 1
    assert sorted(entry[1] for entry in remembered(organization)) == [0, 1, 3, 3]


def test_a_count_made_inside_a_rolled_back_write_is_never_answered(
    workspace: Workspace, billing: list[DataSource]
) -> None:
    organization = workspace.organization
    assert count(organization, "billing") == 3
    with pytest.raises(RuntimeError), transaction.atomic():
        DataSourceFactory.create(workspace=workspace, name="Billing draft")
        assert count(organization, "billing") == 4  # remembered under the draft's version
        raise RuntimeError("roll back")
    assert count(organization, "billing") == 3
    DataSourceFactory.create(workspace=workspace, name="Billing final")
    assert count(organization, "billing") == 4


def test_without_a_version_it_counts_every_time_and_remembers_nothing(
    workspace: Workspace, billing: list[DataSource]
) -> None:
    organization = workspace.organization
    DataSourceVersion.objects.all().delete()  # as before the migration's backfill, or after a TRUNCATE
    assert count(organization, "billing") == 3
    assert remembered(organization) == []


def test_a_cache_that_does_not_answer_only_costs_the_count(
    workspace: Workspace, billing: list[DataSource], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(caches["counts"], "get", refuse)
    monkeypatch.setattr(caches["counts"], "set", refuse)
    assert count(workspace.organization, "billing") == 3
    assert "Count cache unavailable" in caplog.text


def test_a_search_list_runs_three_statements_whether_the_count_is_remembered_or_not(
    admin_client_api: MemberClient, workspace: Workspace
) -> None:
    for n in range(25):
        DataSourceFactory.create(workspace=workspace, name=f"Billing {n}", tags=["prod", "eu"])
    for params in ({"search": "billing"}, {"tags": "prod,eu"}):
        totals = []
        for _ in range(2):  # counted, then remembered
            with CaptureQueriesContext(connection) as queries:
                response = admin_client_api.get(DATA_SOURCES_URL, params)
            totals.append(assert_success(response, 200, "Data sources retrieved successfully")["pagination"])
            assert len(queries.captured_queries) == 3, [query["sql"] for query in queries.captured_queries]
        assert [pagination["total_items"] for pagination in totals] == [25, 25]


def test_remembered_totals_follow_writes_through_the_api(admin_client_api: MemberClient, workspace: Workspace) -> None:
    def total() -> int:
        response = admin_client_api.get(DATA_SOURCES_URL, {"search": "ledger", "page_size": "1"})
        return int(assert_success(response, 200, "Data sources retrieved successfully")["pagination"]["total_items"])

    sources = [DataSourceFactory.create(workspace=workspace, name=f"Ledger {n}", description=None) for n in range(3)]
    assert (total(), total()) == (3, 3)
    DataSource.objects.filter(pk=sources[0].pk).update(status=DataSourceStatus.FAILED)  # no filter reads it
    assert total() == 3
    for n, source in enumerate(sources[:2]):
        DataSource.objects.filter(pk=source.pk).update(name=f"Journal {n}")
    assert total() == 1
    DataSource.objects.filter(pk=sources[2].pk).delete()
    assert total() == 0


def test_the_migration_backfill_gives_each_organization_with_data_sources_a_version(
    workspace: Workspace, other_organization: Organization, billing: list[DataSource]
) -> None:
    migration = import_module("datasources.migrations.0009_datasource_versions")
    DataSourceVersion.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            migration.POSTGRESQL_BACKFILL if connection.vendor == "postgresql" else migration.SQLITE_BACKFILL
        )
    assert list(DataSourceVersion.objects.values_list("organization_id", flat=True)) == [workspace.organization_id]
    assert count(workspace.organization, "billing") == 3
    assert len(remembered(workspace.organization)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's; SQLite has only DELETE")
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses to run with deferred constraint checks pending
def test_truncating_data_sources_forgets_every_version(workspace: Workspace, billing: list[DataSource]) -> None:
    assert count(workspace.organization, "billing") == 3
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE datasources_datasource")
    assert DataSourceVersion.objects.count() == 0
    assert count(workspace.organization, "billing") == 0
