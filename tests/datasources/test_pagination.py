"""Paging is exact from either end: every page, in every ordering, of every sort field."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasources.api.views import DataSourceViewSet
from organizations.models import Organization, Role
from rivergen.api.pagination import EnvelopePagination
from tests.conftest import DATA_SOURCES_URL, MemberClient, MemberClientFactory, assert_success
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["offset", "deferred join"])
def page_reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test twice: pages read by OFFSET, and as the deep pages are (ids first, then rows)."""
    if request.param == "deferred join":
        monkeypatch.setattr(EnvelopePagination, "deferred_join_from", 0)


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


@pytest.mark.parametrize("params", [{"search": "source 1"}, {"tags": "t"}, {"type": "postgresql", "sort_by": "port"}])
def test_filtered_pages_cover_each_matching_row_once_in_order(
    client_with_rows: MemberClient, params: dict[str, str]
) -> None:
    expected = [
        item["id"]
        for item in client_with_rows.get(DATA_SOURCES_URL, {**params, "page_size": "100"}).json()["data"]["items"]
    ]
    walked = [
        item["id"]
        for page in range(1, len(expected) + 2)
        for item in client_with_rows.get(DATA_SOURCES_URL, {**params, "page_size": "1", "page": str(page)}).json()[
            "data"
        ]["items"]
    ]
    assert expected and walked == expected


def test_a_page_far_from_both_ends_reads_its_ids_first(
    client_with_rows: MemberClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EnvelopePagination, "deferred_join_from", 3)
    pages: dict[int, list[str]] = {}
    for page in (3, 5):  # 11 rows, one a page: 2 rows skipped before page 3, 4 before page 5
        with CaptureQueriesContext(connection) as queries:
            client_with_rows.get(DATA_SOURCES_URL, {"page_size": 1, "page": page})
        pages[page] = [query["sql"] for query in queries.captured_queries]

    assert not any("IN (SELECT" in sql for sql in pages[3])
    assert sum("IN (SELECT" in sql for sql in pages[5]) == 1
    assert len(pages[5]) == len(pages[3])  # still one statement for the page
