"""GET /api/v1/workspaces and /api/v1/workspaces/{id}: the current organization's workspaces."""

import pytest
from rest_framework.test import APIClient

from organizations.models import Role
from tests.conftest import WORKSPACES_URL, assert_error, assert_success
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

LIST_MESSAGE = "Workspaces retrieved successfully"
DETAIL_MESSAGE = "Workspace retrieved successfully"
WORKSPACE_KEYS = {"id", "organization_id", "name", "created_at", "updated_at"}


def workspace_url(pk: object) -> str:
    return f"{WORKSPACES_URL}/{pk}"


def test_list_returns_the_current_organizations_workspaces_by_name(admin_client_api, organization, other_organization):
    zeta = WorkspaceFactory.create(organization=organization, name="Zeta")
    alpha = WorkspaceFactory.create(organization=organization, name="Alpha")
    beta = WorkspaceFactory.create(organization=organization, name="Beta")
    WorkspaceFactory.create(organization=other_organization, name="Aardvark")

    data = assert_success(admin_client_api.get(WORKSPACES_URL), 200, LIST_MESSAGE)

    assert set(data) == {"items", "pagination"}
    assert [item["id"] for item in data["items"]] == [alpha.id, beta.id, zeta.id]
    assert data["pagination"] == {
        "page": 1,
        "page_size": 20,
        "total_items": 3,
        "total_pages": 1,
        "has_next": False,
        "has_previous": False,
    }


def test_list_items_have_exactly_the_contract_keys(admin_client_api, organization):
    workspace = WorkspaceFactory.create(organization=organization, name="Analytics")

    item = assert_success(admin_client_api.get(WORKSPACES_URL), 200, LIST_MESSAGE)["items"][0]

    assert set(item) == WORKSPACE_KEYS
    assert item["id"] == workspace.id
    assert item["organization_id"] == organization.id
    assert item["name"] == "Analytics"
    assert item["created_at"] == workspace.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["updated_at"] == workspace.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_list_works_with_a_trailing_slash(admin_client_api, workspace):
    without = admin_client_api.get(WORKSPACES_URL)
    with_slash = admin_client_api.get(f"{WORKSPACES_URL}/")

    assert_success(with_slash, 200, LIST_MESSAGE)
    assert with_slash.json() == without.json()


def test_empty_list_has_zero_pages(admin_client_api):
    data = assert_success(admin_client_api.get(WORKSPACES_URL), 200, LIST_MESSAGE)

    assert data == {
        "items": [],
        "pagination": {
            "page": 1,
            "page_size": 20,
            "total_items": 0,
            "total_pages": 0,
            "has_next": False,
            "has_previous": False,
        },
    }


def test_list_is_paginated(admin_client_api, organization):
    names = [f"Workspace {letter}" for letter in "ABCDE"]
    workspaces = [WorkspaceFactory.create(organization=organization, name=name) for name in names]

    first = assert_success(admin_client_api.get(WORKSPACES_URL, {"page_size": 2}), 200, LIST_MESSAGE)
    last = assert_success(admin_client_api.get(WORKSPACES_URL, {"page_size": 2, "page": 3}), 200, LIST_MESSAGE)
    past = assert_success(admin_client_api.get(WORKSPACES_URL, {"page_size": 2, "page": 4}), 200, LIST_MESSAGE)

    assert [item["id"] for item in first["items"]] == [workspaces[0].id, workspaces[1].id]
    assert first["pagination"] == {
        "page": 1,
        "page_size": 2,
        "total_items": 5,
        "total_pages": 3,
        "has_next": True,
        "has_previous": False,
    }
    assert [item["id"] for item in last["items"]] == [workspaces[4].id]
    assert last["pagination"]["has_next"] is False
    assert last["pagination"]["has_previous"] is True
    assert past["items"] == []
    assert past["pagination"]["total_items"] == 5
    assert past["pagination"]["has_next"] is False


def test_list_sorts_by_name_descending_on_request(admin_client_api, organization):
    first = WorkspaceFactory.create(organization=organization, name="A")
    second = WorkspaceFactory.create(organization=organization, name="B")

    data = assert_success(
        admin_client_api.get(WORKSPACES_URL, {"sort_by": "name", "sort_order": "DESC"}), 200, LIST_MESSAGE
    )

    assert [item["id"] for item in data["items"]] == [second.id, first.id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"sort_by": "password"}, "sort_by"),
        ({"sort_order": "sideways"}, "sort_order"),
    ],
)
def test_invalid_list_parameters_are_validation_errors(admin_client_api, workspace, params, field):
    details = assert_error(admin_client_api.get(WORKSPACES_URL, params), 400, "VALIDATION_ERROR")

    assert list(details) == [field]


def test_detail_returns_one_workspace(admin_client_api, organization):
    workspace = WorkspaceFactory.create(organization=organization, name="Finance")

    data = assert_success(admin_client_api.get(workspace_url(workspace.id)), 200, DETAIL_MESSAGE)

    assert set(data) == WORKSPACE_KEYS
    assert data["id"] == workspace.id
    assert data["organization_id"] == organization.id
    assert data["name"] == "Finance"
    assert_success(admin_client_api.get(f"{workspace_url(workspace.id)}/"), 200, DETAIL_MESSAGE)


def test_detail_of_another_organizations_workspace_is_not_found_like_a_missing_one(
    admin_client_api, other_organization
):
    theirs = WorkspaceFactory.create(organization=other_organization)

    foreign = admin_client_api.get(workspace_url(theirs.id))
    missing = admin_client_api.get(workspace_url(theirs.id + 1000))

    assert assert_error(foreign, 404, "NOT_FOUND") is None
    assert foreign.json() == missing.json()
    assert foreign.json()["message"] == "Workspace not found."


@pytest.mark.parametrize("pk", ["0", "9223372036854775807", "99999999999999999999999"])
def test_detail_of_an_out_of_range_id_is_not_found(admin_client_api, pk):
    assert_error(admin_client_api.get(workspace_url(pk)), 404, "NOT_FOUND")


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_every_role_reads_workspaces(member_client, organization, role):
    workspace = WorkspaceFactory.create(organization=organization)
    client = member_client(role, organization)

    assert_success(client.get(WORKSPACES_URL), 200, LIST_MESSAGE)
    assert assert_success(client.get(workspace_url(workspace.id)), 200, DETAIL_MESSAGE)["id"] == workspace.id


@pytest.mark.owasp("API5")
@pytest.mark.parametrize(("method", "path"), [("post", "list"), ("patch", "detail"), ("delete", "detail")])
def test_workspaces_are_read_only(admin_client_api, workspace, method, path):
    url = WORKSPACES_URL if path == "list" else workspace_url(workspace.id)

    response = getattr(admin_client_api, method)(url, {"name": "Renamed"}, format="json")

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    workspace.refresh_from_db()
    assert workspace.name != "Renamed"


def test_workspaces_need_authentication(workspace):
    response = APIClient().get(WORKSPACES_URL)

    assert_error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_workspaces_of_the_organization_chosen_by_header(member_client, organization, other_organization):
    client = member_client(Role.VIEWER, organization)
    MembershipFactory.create(user=client.user, organization=other_organization, role=Role.VIEWER)
    mine = WorkspaceFactory.create(organization=organization)
    theirs = WorkspaceFactory.create(organization=other_organization)

    default = assert_success(client.get(WORKSPACES_URL), 200, LIST_MESSAGE)
    chosen = assert_success(
        client.get(WORKSPACES_URL, HTTP_X_ORGANIZATION_ID=str(other_organization.id)), 200, LIST_MESSAGE
    )

    assert [item["id"] for item in default["items"]] == [mine.id]
    assert [item["id"] for item in chosen["items"]] == [theirs.id]
