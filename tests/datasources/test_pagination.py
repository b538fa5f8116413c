"""Paging is exact from either end: every page, in every ordering, of every sort field."""

from datetime import UTC, datetime, timedelta

import pytest

from datasources.api.views import DataSourceViewSet
from organizations.models import Organization, Role
from tests.conftest import DATA_SOURCES_URL, MemberClient, MemberClientFactory, assert_success
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_with_rows(member_client: MemberClientFactory, organization: Organization) -> MemberClient:
    workspaces = [WorkspaceFactory.create(organization=organization) for _ in range(2)]
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for index in range(11):
        DataSourceFactory.create(
            workspace=workspaces[index % 2],
            name=f"Source {index % 4}{index:02d}",
            port=None if index % 3 == 0 else 5000 + index % 4,
            last_tested_at=None if index % 4 == 0 else base + timedelta(hours=index % 3),
            tags=["t"] if index % 2 else [],
        )
    return member_client(Role.VIEWER, organization)


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", DataSourceViewSet.sort_fields)
def test_walking_pages_of_one_gives_the_same_rows_as_one_page(
    client_with_rows: MemberClient, sort_by: str, sort_order: str
) -> None:
    query: dict[str, str | int] = {"sort_by": sort_by, "sort_order": sort_order}
    everything = assert_success(
        client_with_rows.get(DATA_SOURCES_URL, {**query, "page_size": 100}), 200, "Data sources retrieved successfully"
    )
    expected = [item["id"] for item in everything["items"]]

    walked: list[int] = []
    for page in range(1, len(expected) + 1):
        data = client_with_rows.get(DATA_SOURCES_URL, {**query, "page_size": 1, "page": page}).json()["data"]
        assert data["pagination"]["total_items"] == len(expected) == 11
        walked.extend(item["id"] for item in data["items"])

    assert walked == expected


@pytest.mark.parametrize("page_size", [2, 3, 4, 5])
def test_every_page_size_covers_each_row_once_in_order(client_with_rows: MemberClient, page_size: int) -> None:
    expected = [
        item["id"] for item in client_with_rows.get(DATA_SOURCES_URL, {"page_size": 100}).json()["data"]["items"]
    ]
    walked: list[int] = []
    page = 1
    while True:
        data = client_with_rows.get(DATA_SOURCES_URL, {"page_size": page_size, "page": page}).json()["data"]
        walked.extend(item["id"] for item in data["items"])
        if not data["pagination"]["has_next"]:
            break
        page += 1
    assert walked == expected
    assert page == data["pagination"]["total_pages"]
