"""The fast read path must say exactly what the declared serializer fields say, on the wire."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from django.db import models
from rest_framework import serializers

from datasources.api.serializers import DataSourceSerializer
from datasources.api.views import DataSourceViewSet
from datasources.models import DataSource
from rivergen.api.renderers import JSONRenderer
from rivergen.db.statements import ColumnRows
from tests.conftest import DATA_SOURCES_URL
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db


def field_representation(instance: DataSource) -> dict[str, object]:
    """DRF's own, field-by-field representation (what the mixin replaces)."""
    serializer = DataSourceSerializer()
    return serializers.ModelSerializer.to_representation(serializer, instance)


def rendered(data: Any) -> bytes:
    """What the client receives (the mixin leaves timestamps to the renderer)."""
    return JSONRenderer().render(data)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "tags": ["prod", "pii"],
            "last_tested_at": datetime(2024, 12, 1, 10, 0, 0, 123456, tzinfo=UTC),
            "last_successful_connection_at": datetime(2024, 12, 1, 9, 59, 59, tzinfo=UTC),
            "schema_discovered_at": datetime(2024, 12, 1, 9, 0, tzinfo=UTC),
            "use_ssh_tunnel": True,
            "ssh_host": "bastion.example.com",
            "ssh_port": 2222,
            "description": None,
        },
    ],
)
def test_column_representation_of_an_instance_equals_the_fields_representation(overrides: dict[str, object]) -> None:
    source = DataSourceFactory.create(password="hunter2", username="reader", **overrides)
    source.refresh_from_db()

    fast = DataSourceSerializer(source).data

    assert rendered(fast) == rendered(field_representation(source))
    assert tuple(fast) == DataSourceSerializer.read_columns
    assert set(DataSourceSerializer.read_columns).isdisjoint(DataSource.CREDENTIAL_FIELDS)


def test_column_representation_of_a_values_row_equals_the_instances(workspace):
    source = DataSourceFactory.create(
        workspace=workspace, tags=["a"], last_tested_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    row = DataSource.objects.values(*DataSourceSerializer.read_columns).get(pk=source.pk)
    source.refresh_from_db()

    assert rendered(DataSourceSerializer(row).data) == rendered(field_representation(source))
    assert tuple(DataSourceSerializer(row).data) == DataSourceSerializer.read_columns
    assert orjson.loads(rendered(DataSourceSerializer(row).data))["last_tested_at"] == "2025-01-02T03:04:05Z"


def test_an_instances_timestamps_in_another_time_zone_are_written_in_utc(workspace):
    source = DataSourceFactory.create(workspace=workspace)
    source.last_tested_at = datetime(2025, 1, 2, 5, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2)))

    assert orjson.loads(rendered(DataSourceSerializer(source).data))["last_tested_at"] == "2025-01-02T03:04:05Z"


def test_a_row_holding_more_than_the_read_columns_shows_only_them(workspace):
    DataSourceFactory.create(workspace=workspace, password="s3cret-value", ssh_private_key="PRIVATE")
    row = DataSource.objects.annotate(extra_column=models.Value(1)).values().get()

    data = DataSourceSerializer(row).data

    assert tuple(data) == DataSourceSerializer.read_columns
    assert "s3cret-value" not in str(data) and "PRIVATE" not in str(data)


def test_a_lists_column_rows_are_handed_on_as_their_own_representation(workspace):
    DataSourceFactory.create_batch(2, workspace=workspace, tags=["a"])
    rows = list(DataSource.objects.values(*DataSourceSerializer.read_columns))

    represented = DataSourceSerializer.represent_rows(rows)

    assert represented is rows
    assert rendered(represented) == rendered(DataSourceSerializer(rows, many=True).data)
    assert DataSourceSerializer.represent_rows([]) == []


def test_rows_that_are_not_exactly_the_read_columns_go_through_the_serializer(workspace):
    DataSourceFactory.create(workspace=workspace, password="s3cret-value")
    exact = DataSource.objects.values(*DataSourceSerializer.read_columns).get()
    with_a_credential = DataSource.objects.values(*DataSourceSerializer.read_columns, "password").get()
    missing_one = DataSource.objects.values(*DataSourceSerializer.read_columns[1:]).get()

    for rows in ([with_a_credential], [exact, with_a_credential], [missing_one], [DataSource.objects.get()]):
        assert DataSourceSerializer.represent_rows(rows) is None


def test_one_statements_rows_are_checked_by_their_shared_columns(workspace):
    DataSourceFactory.create_batch(2, workspace=workspace)
    columns = DataSourceSerializer.read_columns
    exact = list(DataSource.objects.values(*columns))
    with_a_credential = list(DataSource.objects.values(*columns, "password"))

    assert DataSourceSerializer.represent_rows(ColumnRows(exact, columns)) == exact
    assert DataSourceSerializer.represent_rows(ColumnRows(with_a_credential, (*columns, "password"))) is None
    assert DataSourceSerializer.represent_rows(ColumnRows(exact, columns[1:])) is None


def test_the_list_reads_its_pages_as_one_statements_rows(admin_client_api, workspace, monkeypatch):
    DataSourceFactory.create_batch(3, workspace=workspace)
    seen: list[Any] = []
    represent_rows = DataSourceSerializer.represent_rows

    def spy(rows: Any) -> Any:
        seen.append(rows)
        return represent_rows(rows)

    monkeypatch.setattr(DataSourceSerializer, "represent_rows", spy)
    # The first page, and the last one, read backwards from the end and put back in order.
    for params in ({}, {"page_size": 2, "page": 2}):
        assert admin_client_api.get(DATA_SOURCES_URL, params).status_code == 200

    assert [type(rows) for rows in seen] == [ColumnRows, ColumnRows]
    assert [rows.columns for rows in seen] == [DataSourceSerializer.read_columns] * 2


class MaskedHostSerializer(DataSourceSerializer):
    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**super().to_representation(instance), "host": "***"}


def test_a_serializer_with_its_own_representation_gets_every_row(admin_client_api, workspace, monkeypatch):
    DataSourceFactory.create(workspace=workspace, host="internal.example.com")
    rows = ColumnRows(
        list(DataSource.objects.values(*DataSourceSerializer.read_columns)), DataSourceSerializer.read_columns
    )
    assert MaskedHostSerializer.represent_rows(rows) is None

    monkeypatch.setattr(DataSourceViewSet, "serializer_class", MaskedHostSerializer)
    [item] = admin_client_api.get(DATA_SOURCES_URL).json()["data"]["items"]

    assert item["host"] == "***"


def test_the_list_builds_no_serializer_for_rows_that_represent_themselves(admin_client_api, workspace, monkeypatch):
    DataSourceFactory.create_batch(2, workspace=workspace)

    def no_serializer(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the list built a serializer")

    monkeypatch.setattr(DataSourceViewSet, "get_serializer", no_serializer)
    for params in ({}, {"page_size": 1, "page": 2}, {"search": "a", "sort_by": "name"}):
        response = admin_client_api.get(DATA_SOURCES_URL, params)
        assert response.status_code == 200, response.content
