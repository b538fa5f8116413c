"""Search counts remembered per version of an organization's data sources (migration 0009).

A remembered count is only ever answered while the version it was counted under is
current; every kind of write renews the version, so the next count is exact again.
"""

import pickle
import threading
import time
import uuid
from importlib import import_module
from typing import Any

import psycopg
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


def remembered_keys(organization: Organization) -> list[str]:
    """The organization's keys in the counts cache (LocMem in the tests: tests/settings.py)."""
    cache = caches["counts"]
    prefix = cache.make_key(f"datasource-count:{organization.pk}:")
    return [key.split(":", 2)[2] for key in list(cache._cache) if key.startswith(prefix)]  # type: ignore[attr-defined]


def remembered(organization: Organization) -> list[Any]:
    """The (version, count) entries the counts cache holds for the organization."""
    return [caches["counts"].get(key) for key in remembered_keys(organization)]


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
    other_source.delete()
    assert version(other_organization) != other_version


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
    [key] = remembered_keys(organization)
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
    billing[0].delete()  # a committed write whose count differs from the draft's
    assert count(organization, "billing") == 2


def test_without_a_version_it_counts_every_time_and_remembers_nothing(
    workspace: Workspace, billing: list[DataSource]
) -> None:
    organization = workspace.organization
    DataSourceVersion.objects.all().delete()  # as before the migration's backfill, or after a TRUNCATE
    assert count(organization, "billing") == 3
    assert remembered(organization) == []


def test_an_odd_value_in_the_cache_is_counted_over(workspace: Workspace, billing: list[DataSource]) -> None:
    organization = workspace.organization
    assert count(organization, "billing") == 3
    [key] = remembered_keys(organization)
    for odd in ("3", (str(version(organization)),), (str(version(organization)), "99"), None):
        caches["counts"].set(key, odd)
        assert count(organization, "billing") == 3
        [(counted_under, counted)] = remembered(organization)
        assert (uuid.UUID(counted_under), counted) == (version(organization), 3)


def test_a_cache_that_does_not_answer_only_costs_the_count(
    workspace: Workspace, billing: list[DataSource], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("Connection refused")

    def unreadable(*args: Any, **kwargs: Any) -> None:
        raise pickle.UnpicklingError("invalid load key")

    monkeypatch.setattr(caches["counts"], "get", refuse)
    monkeypatch.setattr(caches["counts"], "set", refuse)
    assert count(workspace.organization, "billing") == 3
    monkeypatch.setattr(caches["counts"], "get", unreadable)
    assert count(workspace.organization, "billing") == 3
    assert "Count cache unavailable, counting: ConnectionError" in caplog.text
    assert "Count cache unavailable, counting: UnpicklingError" in caplog.text
    assert "Count cache unavailable, not remembering: ConnectionError" in caplog.text


def test_a_search_list_runs_three_statements_whether_the_count_is_remembered_or_not(
    admin_client_api: MemberClient, workspace: Workspace
) -> None:
    for n in range(25):
        DataSourceFactory.create(workspace=workspace, name=f"Billing {n}", tags=["prod", "eu"])
    for params in ({"search": "billing"}, {"tags": "prod,eu"}):
        caches["counts"].clear()
        totals = []
        for _ in range(2):  # counted, then remembered
            with CaptureQueriesContext(connection) as queries:
                response = admin_client_api.get(DATA_SOURCES_URL, params)
            totals.append(assert_success(response, 200, "Data sources retrieved successfully")["pagination"])
            assert len(queries.captured_queries) == 3, [query["sql"] for query in queries.captured_queries]
            # The second request answers what the first remembered: plant another total.
            [(counted_under, _)] = remembered(workspace.organization)
            [key] = remembered_keys(workspace.organization)
            caches["counts"].set(key, (counted_under, 77))
        assert [pagination["total_items"] for pagination in totals] == [25, 77]


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


def test_a_query_reading_another_table_is_counted_every_time(workspace: Workspace) -> None:
    """The version follows writes of data sources only: a subquery on workspaces is not remembered."""
    organization = workspace.organization
    other = WorkspaceFactory.create(organization=organization, name="Other")
    DataSourceFactory.create_batch(3, workspace=other)

    def in_finance_workspaces() -> QuerySet[DataSource]:
        finance = Workspace.objects.filter(name__startswith="Fin").values("pk")
        return DataSource.objects.filter(organization_id=organization.pk, workspace_id__in=finance)

    assert remembered_count(in_finance_workspaces(), organization_id=organization.pk) == 0
    Workspace.objects.filter(pk=other.pk).update(name="Finland")  # no data source written
    assert remembered_count(in_finance_workspaces(), organization_id=organization.pk) == 3
    assert remembered(organization) == []


def test_only_the_organizations_rows_are_counted_whatever_the_queryset(
    workspace: Workspace, other_organization: Organization, billing: list[DataSource]
) -> None:
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="Billing x")
    everyone = DataSource.objects.filter(name__icontains="billing")
    assert remembered_count(everyone, organization_id=workspace.organization_id) == 3
    assert remembered_count(everyone, organization_id=other_organization.pk) == 1
    assert remembered_count(everyone.none(), organization_id=workspace.organization_id) == 0


def test_tag_lists_alike_in_their_first_characters_are_remembered_apart(
    admin_client_api: MemberClient, workspace: Workspace
) -> None:
    """psycopg shows a JSON parameter's first 35 characters only: the key is the whole statement."""
    long_tag = "production-eu-west-1-primary"
    for n in range(25):
        DataSourceFactory.create(workspace=workspace, name=f"A {n}", tags=[long_tag, "team-billing"])
    DataSourceFactory.create(workspace=workspace, name="B", tags=[long_tag, "team-growth1"])

    def total(tags: str) -> int:
        response = admin_client_api.get(DATA_SOURCES_URL, {"tags": tags, "type": "postgresql", "page_size": "1"})
        return int(assert_success(response, 200, "Data sources retrieved successfully")["pagination"]["total_items"])

    assert (total(f"{long_tag},team-billing"), total(f"{long_tag},team-growth1")) == (25, 1)
    assert (total("x" * 40 + "a"), total("x" * 40 + "b")) == (0, 0)


def test_inserts_that_update_on_conflict_renew_the_version(workspace: Workspace, billing: list[DataSource]) -> None:
    organization = workspace.organization
    before = version(organization)
    DataSource.objects.bulk_create(
        [DataSource(**{**_row(billing[0]), "description": "renamed"})],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["description"],
    )
    after_upsert = version(organization)
    DataSource.objects.bulk_create([DataSource(**_row(billing[1]))], ignore_conflicts=True)  # nothing written
    assert before != after_upsert
    assert count(organization, "ledger") == 2


def _row(source: DataSource) -> dict[str, Any]:
    return {field.attname: getattr(source, field.attname) for field in DataSource._meta.concrete_fields}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # two connections, each committing
def test_the_admins_bulk_delete_does_not_deadlock_with_a_concurrent_write(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first delete takes the version row; a write to a row it has yet to delete must wait for it."""
    from django.contrib.admin.sites import site

    from datasources import services

    one, two = DataSourceFactory.create_batch(2, workspace=workspace)
    outcome: dict[str, Any] = {}

    def concurrent_write() -> None:
        params = connection.get_connection_params()
        conninfo = {name: params[name] for name in ("dbname", "user", "password", "host", "port") if params.get(name)}
        with psycopg.connect(**conninfo, autocommit=True) as other:
            other.execute("SET lock_timeout = '10s'")
            try:
                cursor = other.execute("UPDATE datasources_datasource SET description = 'x' WHERE id = %s", [two.pk])
                outcome["rows"] = cursor.rowcount
            except psycopg.Error as error:
                outcome["error"] = type(error).__name__

    delete = services.datasource_delete
    writers: list[threading.Thread] = []

    def delete_and_let_another_writer_in(*, datasource: DataSource) -> None:
        delete(datasource=datasource)
        if not writers:
            writers.append(threading.Thread(target=concurrent_write))
            writers[0].start()
            time.sleep(0.5)  # the other write reaches its lock (deadlock_timeout is 1 s)

    monkeypatch.setattr(services, "datasource_delete", delete_and_let_another_writer_in)
    site._registry[DataSource].delete_queryset(None, DataSource.objects.filter(pk__in=[two.pk, one.pk]))  # type: ignore[arg-type]
    writers[0].join()

    assert outcome == {"rows": 0}  # it waited for the delete, then found nothing to update
    assert not DataSource.objects.filter(pk__in=[one.pk, two.pk]).exists()
