"""API1: every route x every role x own or foreign organization.

The rule under test: another organization's row is indistinguishable from a row that does not
exist. For each role and route, the answer for a foreign id is the very answer (status and
body) for a random id, and the foreign row is left as it was; lists, counts, filters, searches
and sorts never contain a foreign row. Own rows get what the role allows (the role half is
API5, in tests/api/test_tenancy.py).
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from datasources.models import DataSource
from organizations.models import Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, MemberClientFactory, assert_success, detail_url
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API1")]

ROLES = [Role.ADMIN, Role.EDITOR, Role.VIEWER]
MISSING_ID = 9_000_000_000_000  # a valid bigint no test creates


@pytest.fixture
def foreign_source(other_organization: Organization) -> DataSource:
    workspace = WorkspaceFactory.create(organization=other_organization, name="Their workspace")
    return DataSourceFactory.create(
        workspace=workspace, name="Their warehouse", description="needle", tags=["needle"], host="their.example.com"
    )


@pytest.fixture
def own_source(workspace: Workspace) -> DataSource:
    return DataSourceFactory.create(workspace=workspace, name="Our warehouse", description="hay", tags=["hay"])


def row_state(source: DataSource) -> dict[str, Any]:
    return dict(DataSource.objects.filter(pk=source.pk).values().get())


# Each route with an id, as (method, path for an id, body).
ID_ROUTES = {
    "get data source": ("get", detail_url, None),
    "patch data source": ("patch", detail_url, {"name": "Taken over", "description": "owned"}),
    "patch data source, invalid body": ("patch", detail_url, {"port": "not a port"}),
    "delete data source": ("delete", detail_url, None),
    "get workspace": ("get", lambda pk: f"{WORKSPACES_URL}/{pk}", None),
}


def call(client: APIClient, method: str, path: str, body: Any) -> Any:
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ID_ROUTES)
def test_a_foreign_id_answers_exactly_like_a_missing_one_and_changes_nothing(
    member_client: MemberClientFactory,
    organization: Organization,
    own_source: DataSource,
    foreign_source: DataSource,
    role: str,
    route: str,
) -> None:
    method, path_for, body = ID_ROUTES[route]
    client = member_client(role, organization)
    foreign_id = foreign_source.workspace_id if "workspace" in route else foreign_source.id
    before = row_state(foreign_source)

    theirs = call(client, method, path_for(foreign_id), body)
    missing = call(client, method, path_for(MISSING_ID), body)

    assert theirs.status_code in (403, 404), theirs.content  # 403 only where the role forbids the action
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert row_state(foreign_source) == before


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR])
def test_creating_in_a_foreign_workspace_answers_like_a_missing_workspace(
    member_client: MemberClientFactory, organization: Organization, foreign_source: DataSource, role: str
) -> None:
    client = member_client(role, organization)
    body = {"name": "Planted", "type": "csv", "file_path": "/data/x.csv"}

    theirs = client.post(DATA_SOURCES_URL, {**body, "workspace_id": foreign_source.workspace_id}, format="json")
    missing = client.post(DATA_SOURCES_URL, {**body, "workspace_id": MISSING_ID}, format="json")

    assert theirs.status_code == missing.status_code == 400
    # The messages name the id sent; with it masked they are the same.
    masked = theirs.content.decode().replace(str(foreign_source.workspace_id), "<id>")
    assert masked == missing.content.decode().replace(str(MISSING_ID), "<id>")
    assert not DataSource.objects.filter(name="Planted").exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR])
def test_moving_an_own_row_into_a_foreign_workspace_is_refused(
    member_client: MemberClientFactory,
    organization: Organization,
    own_source: DataSource,
    foreign_source: DataSource,
    role: str,
) -> None:
    before = row_state(own_source)

    response = member_client(role, organization).patch(
        detail_url(own_source.id), {"workspace_id": foreign_source.workspace_id}, format="json"
    )

    assert response.status_code == 400
    assert row_state(own_source) == before


# Every list query a consumer can make that a foreign row would match if scoping failed.
LIST_QUERIES = [
    {},
    {"search": "needle"},
    {"tags": "needle"},
    {"type": "postgresql"},
    {"status_filter": "inactive"},
    {"sort_by": "host", "sort_order": "asc"},
    {"sort_by": "name", "sort_order": "desc"},
    {"page_size": 100},
    {"workspace_id": "<foreign workspace>"},
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("params", LIST_QUERIES, ids=lambda p: ",".join(p) or "default")
def test_no_foreign_row_in_any_list_or_count(
    member_client: MemberClientFactory,
    organization: Organization,
    own_source: DataSource,
    foreign_source: DataSource,
    role: str,
    params: dict[str, Any],
) -> None:
    params = {
        key: foreign_source.workspace_id if value == "<foreign workspace>" else value for key, value in params.items()
    }

    data = assert_success(
        member_client(role, organization).get(DATA_SOURCES_URL, params), 200, "Data sources retrieved successfully"
    )

    returned = {item["id"] for item in data["items"]}
    assert foreign_source.id not in returned
    assert returned <= {own_source.id}
    assert data["pagination"]["total_items"] == len(returned)
    assert {item["organization_id"] for item in data["items"]} <= {organization.id}


@pytest.mark.parametrize("role", ROLES)
def test_no_foreign_workspace_in_the_workspace_list(
    member_client: MemberClientFactory,
    organization: Organization,
    workspace: Workspace,
    foreign_source: DataSource,
    role: str,
) -> None:
    data = assert_success(
        member_client(role, organization).get(WORKSPACES_URL, {"page_size": 100}),
        200,
        "Workspaces retrieved successfully",
    )

    assert [item["id"] for item in data["items"]] == [workspace.id]
    assert data["pagination"]["total_items"] == 1
