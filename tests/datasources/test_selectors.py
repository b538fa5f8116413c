"""The trigger-kept counters agree with counting rows, after every kind of write."""

import itertools
from importlib import import_module

import pytest
from django.db import connection

from datasources.models import DataSource, DataSourceCount, DataSourceStatus, DataSourceTagCount, DataSourceType
from datasources.selectors import datasource_count, datasource_tag_count
from organizations.models import Organization, Workspace
from tests.factories import DataSourceFactory, OrganizationFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

TYPES = [DataSourceType.POSTGRESQL, DataSourceType.MYSQL, DataSourceType.CSV]
STATUSES = [DataSourceStatus.ACTIVE, DataSourceStatus.INACTIVE, DataSourceStatus.FAILED]


def assert_counters_match_rows(organization: Organization) -> None:
    rows = DataSource.objects.filter(organization=organization)
    workspace_ids = [None, *rows.values_list("workspace_id", flat=True).distinct()]
    type_choices = [(), *itertools.combinations(TYPES, 1), tuple(TYPES[:2])]
    status_choices = [(), *itertools.combinations(STATUSES, 1), tuple(STATUSES[1:])]
    for workspace_id, types, statuses in itertools.product(workspace_ids, type_choices, status_choices):
        expected = rows
        if workspace_id is not None:
            expected = expected.filter(workspace_id=workspace_id)
        if types:
            expected = expected.filter(type__in=types)
        if statuses:
            expected = expected.filter(status__in=statuses)
        counted = datasource_count(
            organization_id=organization.pk, workspace_id=workspace_id, types=types, statuses=statuses
        )
        assert counted == expected.count(), (workspace_id, types, statuses)


@pytest.fixture
def two_organizations() -> tuple[Organization, Organization]:
    organization, other = OrganizationFactory.create(), OrganizationFactory.create()
    for owner in (organization, other):
        workspaces = [WorkspaceFactory.create(organization=owner) for _ in range(2)]
        for index in range(18):
            DataSourceFactory.create(
                workspace=workspaces[index % 2],
                type=TYPES[index % 3],
                status=STATUSES[(index // 3) % 3],
                file_path="/data/x.csv",
            )
    return organization, other


def test_counters_match_after_creates(two_organizations: tuple[Organization, Organization]) -> None:
    for organization in two_organizations:
        assert_counters_match_rows(organization)
    assert datasource_count(organization_id=two_organizations[0].pk) == 18


def test_counters_follow_single_and_bulk_updates_and_deletes(
    two_organizations: tuple[Organization, Organization],
) -> None:
    organization, other = two_organizations
    rows = DataSource.objects.filter(organization=organization).order_by("id")
    first = rows.first()
    assert first is not None
    first.status = DataSourceStatus.MAINTENANCE
    first.save()
    rows.filter(type=DataSourceType.MYSQL).update(status=DataSourceStatus.FAILED)
    rows.filter(type=DataSourceType.CSV).update(type=DataSourceType.JSON)
    moved = rows.exclude(pk=first.pk).first()
    assert moved is not None
    second_workspace = WorkspaceFactory.create(organization=organization)
    DataSource.objects.filter(pk=moved.pk).update(workspace=second_workspace)
    DataSource.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[5:9])).delete()
    rows.filter(status=DataSourceStatus.INACTIVE).delete()

    assert_counters_match_rows(organization)
    assert_counters_match_rows(other)
    assert datasource_count(organization_id=organization.pk, statuses=[DataSourceStatus.MAINTENANCE]) == 1


def test_unknown_organization_counts_zero(two_organizations: tuple[Organization, Organization]) -> None:
    assert datasource_count(organization_id=2**62) == 0


def test_a_workspace_deleted_with_its_data_sources_leaves_no_count(
    two_organizations: tuple[Organization, Organization],
) -> None:
    organization, _ = two_organizations
    organization.workspaces.first().delete()  # type: ignore[union-attr]
    assert_counters_match_rows(organization)
    assert datasource_count(organization_id=organization.pk) == 9


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's; SQLite has only DELETE")
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses to run with deferred constraint checks pending
def test_truncating_data_sources_clears_the_counters(two_organizations: tuple[Organization, Organization]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE datasources_datasource")
    assert DataSourceCount.objects.count() == 0
    assert datasource_count(organization_id=two_organizations[0].pk) == 0


# --- Per-(organization, tag) counters ------------------------------------------------------------


def assert_tag_counters_match_rows(organization: Organization) -> None:
    rows = DataSource.objects.filter(organization=organization)
    tags = {tag for row_tags in rows.values_list("tags", flat=True) for tag in row_tags or [] if isinstance(tag, str)}
    tags |= set(DataSourceTagCount.objects.filter(organization_id=organization.pk).values_list("tag", flat=True))
    for tag in tags | {"never-used"}:
        expected = rows.filter(tags__contains_all=[tag]).count()
        assert datasource_tag_count(organization_id=organization.pk, tag=tag) == expected, tag


@pytest.fixture
def tagged_organizations() -> tuple[Organization, Organization]:
    organization, other = OrganizationFactory.create(), OrganizationFactory.create()
    vocabulary = ["pii", "prod", "finance", "über", "a,b"]
    for owner in (organization, other):
        workspaces = [WorkspaceFactory.create(organization=owner) for _ in range(2)]
        for index in range(12):
            DataSourceFactory.create(workspace=workspaces[index % 2], tags=vocabulary[: index % 4])
    return organization, other


def test_tag_counters_match_after_creates(tagged_organizations: tuple[Organization, Organization]) -> None:
    for organization in tagged_organizations:
        assert_tag_counters_match_rows(organization)
    assert datasource_tag_count(organization_id=tagged_organizations[0].pk, tag="pii") == 9


def test_tag_counters_follow_single_and_bulk_updates_and_deletes(
    tagged_organizations: tuple[Organization, Organization],
) -> None:
    organization, other = tagged_organizations
    rows = DataSource.objects.filter(organization=organization).order_by("id")
    first = rows.first()
    assert first is not None
    first.tags = ["pii", "new"]
    first.save()
    rows.filter(tags__contains_all=["prod"]).update(tags=["prod", "moved"])
    DataSource.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[6:9])).delete()
    rows.filter(tags__contains_all=["moved"]).update(description="tags untouched")
    rows.update(tags=[])  # every tag of the organization gone at once
    DataSource.objects.filter(pk=first.pk).update(tags=["back"])

    assert_tag_counters_match_rows(organization)
    assert_tag_counters_match_rows(other)
    assert datasource_tag_count(organization_id=organization.pk, tag="back") == 1
    assert datasource_tag_count(organization_id=organization.pk, tag="pii") == 0


def test_a_row_moved_to_another_organization_moves_its_tag_counts(
    tagged_organizations: tuple[Organization, Organization],
) -> None:
    organization, other = tagged_organizations
    moved = DataSource.objects.filter(organization=organization, tags__contains_all=["finance"]).first()
    assert moved is not None
    target = WorkspaceFactory.create(organization=other)
    DataSource.objects.filter(pk=moved.pk).update(organization=other, workspace=target)

    assert_tag_counters_match_rows(organization)
    assert_tag_counters_match_rows(other)


def test_duplicate_and_non_string_elements_count_as_the_lookup_matches(workspace: Workspace) -> None:
    """Rows written around the API: each tag once per row, numbers never match a tag."""
    source = DataSourceFactory.create(workspace=workspace)
    DataSource.objects.filter(pk=source.pk).update(tags=["dup", "dup", 5, None, {"x": 1}, "5"])
    DataSourceFactory.create(workspace=workspace, tags=["dup"])

    assert_tag_counters_match_rows(workspace.organization)
    assert datasource_tag_count(organization_id=workspace.organization_id, tag="dup") == 2
    assert datasource_tag_count(organization_id=workspace.organization_id, tag="5") == 1


def test_the_migration_backfill_rebuilds_the_same_counters(
    tagged_organizations: tuple[Organization, Organization],
) -> None:
    backfill = import_module("datasources.migrations.0007_tag_counts")
    before = sorted(DataSourceTagCount.objects.values_list("organization_id", "tag", "count"))
    DataSourceTagCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(backfill.POSTGRESQL_BACKFILL if connection.vendor == "postgresql" else backfill.SQLITE_BACKFILL)

    after = sorted(DataSourceTagCount.objects.values_list("organization_id", "tag", "count"))
    assert after == [row for row in before if row[2]]  # zero counters are not re-created


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's; SQLite has only DELETE")
@pytest.mark.django_db(transaction=True)
def test_truncating_data_sources_clears_the_tag_counters(
    tagged_organizations: tuple[Organization, Organization],
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE datasources_datasource")
    assert DataSourceTagCount.objects.count() == 0


def test_counters_follow_rows_whose_id_changes(tagged_organizations: tuple[Organization, Organization]) -> None:
    """Only raw SQL changes a primary key; the counters stay exact all the same."""
    organization, other = tagged_organizations
    moved = list(DataSource.objects.filter(organization=organization).values_list("pk", flat=True)[:4])
    table = connection.ops.quote_name(DataSource._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET id = id + 1000000, tags = %s, status = %s WHERE id IN ({', '.join(['%s'] * 4)})",
            ['["moved"]', DataSourceStatus.FAILED, *moved],
        )

    assert_tag_counters_match_rows(organization)
    assert_counters_match_rows(organization)
    assert_tag_counters_match_rows(other)
    assert datasource_tag_count(organization_id=organization.pk, tag="moved") == 4
