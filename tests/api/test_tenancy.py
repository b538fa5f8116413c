"""Tenancy: the current organization, roles, and isolation of every route."""

from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from datasources.api.views import DataSourceViewSet
from datasources.models import DataSource, DataSourceStatus
from organizations.api.views import WorkspaceViewSet
from organizations.models import Membership, Role
from rivergen.api import tenancy
from rivergen.api.tenancy import OrganizationScopedMixin
from rivergen.api.viewsets import ListModelMixin, OrganizationScopedViewSet
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, assert_error, assert_success, bearer_client, detail_url
from tests.factories import DataSourceFactory, MembershipFactory, OrganizationFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API1")]

LIST_MESSAGE = "Data sources retrieved successfully"
HEADER = "X-Organization-ID"
#: DRF views under /api/v1/ that read no tenant data, by URL name.
UNSCOPED_ROUTES = {"token-obtain", "token-refresh", "schema"}


def ids(data: dict[str, Any]) -> list[int]:
    return sorted(item["id"] for item in data["items"])


def create_body(workspace: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "workspace_id": workspace.id,
        "name": "New source",
        "type": "csv",
        "file_path": "/data/new.csv",
        **overrides,
    }


# --- The current organization ---------------------------------------------------------------


@pytest.fixture
def two_org_user(organization, other_organization):
    """Admin of `organization` (earliest membership), viewer of `other_organization`."""
    user = UserFactory.create()
    MembershipFactory.create(user=user, organization=organization, role=Role.ADMIN)
    MembershipFactory.create(user=user, organization=other_organization, role=Role.VIEWER)
    return user


def test_no_header_uses_the_earliest_membership(organization, other_organization):
    user = UserFactory.create()
    # The later-created row (higher id) is the earlier membership: order is by created_at.
    MembershipFactory.create(user=user, organization=other_organization)
    earliest = MembershipFactory.create(user=user, organization=organization)
    Membership.objects.filter(pk=earliest.pk).update(created_at=timezone.now() - timedelta(days=30))
    mine = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization))
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization))

    data = assert_success(bearer_client(user).get(DATA_SOURCES_URL), 200, LIST_MESSAGE)

    assert ids(data) == [mine.id]
    assert data["items"][0]["organization_id"] == organization.id


def test_header_selects_the_users_second_organization(two_org_user, organization, other_organization):
    first = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization))
    second = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization))
    client = bearer_client(two_org_user)

    default = assert_success(client.get(DATA_SOURCES_URL), 200, LIST_MESSAGE)
    chosen = assert_success(
        client.get(DATA_SOURCES_URL, headers={HEADER: str(other_organization.id)}), 200, LIST_MESSAGE
    )
    explicit_first = assert_success(
        client.get(DATA_SOURCES_URL, headers={HEADER: str(organization.id)}), 200, LIST_MESSAGE
    )

    assert ids(default) == [first.id]
    assert ids(chosen) == [second.id]
    assert ids(explicit_first) == [first.id]


def test_header_selects_the_organization_for_details_and_workspaces(two_org_user, other_organization):
    workspace = WorkspaceFactory.create(organization=other_organization)
    source = DataSourceFactory.create(workspace=workspace)
    client = bearer_client(two_org_user)
    header = {HEADER: str(other_organization.id)}

    detail = assert_success(
        client.get(detail_url(source.id), headers=header), 200, "Data source retrieved successfully"
    )
    assert detail["id"] == source.id
    workspaces = assert_success(client.get(WORKSPACES_URL, headers=header), 200, "Workspaces retrieved successfully")
    assert [item["id"] for item in workspaces["items"]] == [workspace.id]
    # Without the header the same row belongs to another organization: not found.
    assert_error(client.get(detail_url(source.id)), 404, "NOT_FOUND")


def test_header_with_surrounding_spaces_is_accepted(two_org_user, other_organization):
    source = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization))

    data = assert_success(
        bearer_client(two_org_user).get(DATA_SOURCES_URL, headers={HEADER: f" {other_organization.id} "}),
        200,
        LIST_MESSAGE,
    )

    assert ids(data) == [source.id]


def test_the_role_follows_the_selected_organization(two_org_user, organization, other_organization):
    client = bearer_client(two_org_user)
    mine = WorkspaceFactory.create(organization=organization)
    theirs = WorkspaceFactory.create(organization=other_organization)

    assert_success(
        client.post(DATA_SOURCES_URL, create_body(mine), format="json"), 201, "Data source created successfully"
    )
    response = client.post(
        DATA_SOURCES_URL,
        create_body(theirs, name="As viewer"),
        format="json",
        headers={HEADER: str(other_organization.id)},
    )

    assert_error(response, 403, "FORBIDDEN")
    assert not DataSource.objects.filter(organization=other_organization).exists()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda orgs: str(orgs["foreign"].id), id="another-orgs-id"),
        pytest.param(lambda orgs: "999999999", id="nonexistent-id"),
        pytest.param(lambda orgs: "abc", id="garbage"),
        pytest.param(lambda orgs: "0", id="zero"),
        pytest.param(lambda orgs: "-1", id="negative"),
        pytest.param(lambda orgs: "1.0", id="decimal"),
        pytest.param(lambda orgs: f"{orgs['own'].id},{orgs['foreign'].id}", id="list"),
        pytest.param(lambda orgs: "9223372036854775808", id="beyond-bigint"),
        pytest.param(lambda orgs: "9" * 40, id="huge"),
        pytest.param(lambda orgs: f"{orgs['own'].id}\x00", id="nul"),
    ],
)
@pytest.mark.parametrize("path", [DATA_SOURCES_URL, WORKSPACES_URL])
def test_header_not_naming_one_of_the_users_organizations_is_forbidden(
    member_client, organization, other_organization, value, path
):
    client = member_client(Role.ADMIN, organization)
    DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization))

    response = client.get(path, headers={HEADER: value({"own": organization, "foreign": other_organization})})

    assert assert_error(response, 403, "FORBIDDEN") is None


def test_header_naming_another_organization_forbids_writes_too(member_client, organization, other_organization):
    client = member_client(Role.ADMIN, organization)
    theirs = DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="Theirs")
    header = {HEADER: str(other_organization.id)}

    assert_error(client.get(detail_url(theirs.id), headers=header), 403, "FORBIDDEN")
    assert_error(
        client.patch(detail_url(theirs.id), {"name": "Mine now"}, format="json", headers=header), 403, "FORBIDDEN"
    )
    assert_error(client.delete(detail_url(theirs.id), headers=header), 403, "FORBIDDEN")
    assert_error(
        client.post(DATA_SOURCES_URL, create_body(theirs.workspace), format="json", headers=header), 403, "FORBIDDEN"
    )
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert DataSource.objects.count() == 1


# --- Users without any membership ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", DATA_SOURCES_URL, None),
        ("get", f"{DATA_SOURCES_URL}/", None),
        ("get", "detail", None),
        ("post", DATA_SOURCES_URL, "create"),
        ("patch", "detail", {"name": "Renamed"}),
        ("delete", "detail", None),
        ("get", WORKSPACES_URL, None),
        ("get", "workspace", None),
    ],
)
def test_user_without_membership_is_forbidden_everywhere(user_without_organization, workspace, method, path, body):
    source = DataSourceFactory.create(workspace=workspace, name="Untouched")
    path = {"detail": detail_url(source.id), "workspace": f"{WORKSPACES_URL}/{workspace.id}"}.get(path, path)
    body = create_body(workspace) if body == "create" else body

    response = getattr(bearer_client(user_without_organization), method)(path, body, format="json")

    assert assert_error(response, 403, "FORBIDDEN") is None
    assert response.json()["message"] == "You are not a member of any organization."
    source.refresh_from_db()
    assert source.name == "Untouched"
    assert DataSource.objects.count() == 1


def test_user_without_membership_is_forbidden_even_with_a_header(user_without_organization, organization):
    response = bearer_client(user_without_organization).get(DATA_SOURCES_URL, headers={HEADER: str(organization.id)})

    assert_error(response, 403, "FORBIDDEN")


def test_membership_removed_after_the_token_was_issued_is_forbidden(organization):
    membership = MembershipFactory.create(organization=organization)
    client = bearer_client(membership.user)
    assert_success(client.get(DATA_SOURCES_URL), 200, LIST_MESSAGE)

    membership.delete()

    assert_error(client.get(DATA_SOURCES_URL), 403, "FORBIDDEN")


# --- Roles ------------------------------------------------------------------------------------------

ALLOWED = {
    Role.ADMIN: {"list", "get", "create", "patch", "delete"},
    Role.EDITOR: {"list", "get", "create", "patch"},
    Role.VIEWER: {"list", "get"},
}


def _do(client: APIClient, action: str, source: DataSource) -> Any:
    if action == "list":
        return client.get(DATA_SOURCES_URL)
    if action == "get":
        return client.get(detail_url(source.id))
    if action == "create":
        return client.post(DATA_SOURCES_URL, create_body(source.workspace), format="json")
    if action == "patch":
        return client.patch(detail_url(source.id), {"name": "Renamed"}, format="json")
    return client.delete(detail_url(source.id))


@pytest.mark.owasp("API5")
@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
@pytest.mark.parametrize("action", ["list", "get", "create", "patch", "delete"])
def test_role_matrix(member_client, organization, workspace, role, action):
    source = DataSourceFactory.create(workspace=workspace, name="Original")
    client = member_client(role, organization)

    response = _do(client, action, source)

    if action not in ALLOWED[role]:
        assert assert_error(response, 403, "FORBIDDEN") is None
        assert response.json()["message"] == f"Your role ({role}) does not allow this action."
        source.refresh_from_db()
        assert source.name == "Original"
        assert DataSource.objects.count() == 1
        return
    if action == "list":
        assert ids(assert_success(response, 200, LIST_MESSAGE)) == [source.id]
    elif action == "get":
        assert assert_success(response, 200, "Data source retrieved successfully")["id"] == source.id
    elif action == "create":
        data = assert_success(response, 201, "Data source created successfully")
        assert data["organization_id"] == organization.id
        assert DataSource.objects.count() == 2
    elif action == "patch":
        assert assert_success(response, 200, "Data source updated successfully")["name"] == "Renamed"
    else:
        assert assert_success(response, 200, "Data source deleted successfully") is None
        assert not DataSource.objects.filter(pk=source.pk).exists()


@pytest.mark.owasp("API5")
@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_every_role_can_list_workspaces(member_client, organization, workspace, role):
    data = assert_success(
        member_client(role, organization).get(WORKSPACES_URL), 200, "Workspaces retrieved successfully"
    )

    assert [item["id"] for item in data["items"]] == [workspace.id]


# --- Isolation ---------------------------------------------------------------------------------------


@pytest.fixture
def foreign(other_organization):
    """Another organization's workspace and data sources, made to match every filter."""
    workspace = WorkspaceFactory.create(organization=other_organization, name="Shared name")
    sources = [
        DataSourceFactory.create(
            workspace=workspace,
            name="Secret warehouse",
            description="needle in their haystack",
            type="snowflake",
            host="acct.snowflakecomputing.com",
            port=None,
            tags=["needle", "shared"],
        ),
        DataSourceFactory.create(workspace=workspace, name="Their postgres", tags=["shared"]),
    ]
    DataSource.objects.filter(pk=sources[0].pk).update(status=DataSourceStatus.MAINTENANCE)
    return {"workspace": workspace, "sources": sources}


@pytest.fixture
def own(organization):
    workspace = WorkspaceFactory.create(organization=organization, name="Shared name")
    return {
        "workspace": workspace,
        "source": DataSourceFactory.create(workspace=workspace, name="Our postgres", tags=["shared"]),
    }


def test_lists_and_counts_show_only_the_current_organization(admin_client_api, own, foreign):
    data = assert_success(admin_client_api.get(DATA_SOURCES_URL), 200, LIST_MESSAGE)

    assert ids(data) == [own["source"].id]
    assert data["pagination"]["total_items"] == 1
    assert data["pagination"]["total_pages"] == 1


def test_counts_on_later_pages_show_only_the_current_organization(admin_client_api, own, foreign):
    DataSourceFactory.create(workspace=own["workspace"])

    data = assert_success(admin_client_api.get(DATA_SOURCES_URL, {"page_size": 1}), 200, LIST_MESSAGE)

    assert data["pagination"]["total_items"] == 2
    assert data["pagination"]["total_pages"] == 2
    assert data["pagination"]["has_next"] is True


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(lambda f: {"workspace_id": f["workspace"].id}, id="their-workspace"),
        pytest.param(lambda f: {"search": "needle"}, id="search-description"),
        pytest.param(lambda f: {"search": "Secret"}, id="search-name"),
        pytest.param(lambda f: {"type": "snowflake"}, id="type"),
        pytest.param(lambda f: {"status_filter": "maintenance"}, id="status"),
        pytest.param(lambda f: {"tags": "needle"}, id="tags"),
        pytest.param(lambda f: {"search": "needle", "page": 2}, id="page-past-the-end"),
    ],
)
def test_filters_never_match_another_organizations_rows(admin_client_api, own, foreign, params):
    data = assert_success(admin_client_api.get(DATA_SOURCES_URL, params(foreign)), 200, LIST_MESSAGE)

    assert data["items"] == []
    assert data["pagination"]["total_items"] == 0
    assert data["pagination"]["total_pages"] == 0


@pytest.mark.parametrize("sort_by", ["name", "host", "workspace_id", "status", "type"])
def test_sorting_never_reveals_another_organizations_rows(admin_client_api, own, foreign, sort_by):
    for order in ("asc", "desc"):
        data = assert_success(
            admin_client_api.get(DATA_SOURCES_URL, {"sort_by": sort_by, "sort_order": order}), 200, LIST_MESSAGE
        )
        assert ids(data) == [own["source"].id]


def test_shared_tags_match_only_the_current_organizations_rows(admin_client_api, own, foreign):
    data = assert_success(admin_client_api.get(DATA_SOURCES_URL, {"tags": "shared"}), 200, LIST_MESSAGE)

    assert ids(data) == [own["source"].id]


def _missing_id() -> int:
    return (DataSource.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000


def test_get_of_a_foreign_row_answers_exactly_like_a_missing_one(admin_client_api, own, foreign):
    theirs = admin_client_api.get(detail_url(foreign["sources"][0].id))
    missing = admin_client_api.get(detail_url(_missing_id()))

    assert_error(theirs, 404, "NOT_FOUND")
    assert theirs.json() == missing.json()


def test_patch_of_a_foreign_row_answers_like_a_missing_one_and_changes_nothing(admin_client_api, own, foreign):
    target = foreign["sources"][0]

    theirs = admin_client_api.patch(detail_url(target.id), {"name": "Pwned"}, format="json")
    missing = admin_client_api.patch(detail_url(_missing_id()), {"name": "Pwned"}, format="json")

    assert_error(theirs, 404, "NOT_FOUND")
    assert theirs.json() == missing.json()
    target.refresh_from_db()
    assert target.name == "Secret warehouse"


def test_delete_of_a_foreign_row_answers_like_a_missing_one_and_deletes_nothing(admin_client_api, own, foreign):
    target = foreign["sources"][0]

    theirs = admin_client_api.delete(detail_url(target.id))
    missing = admin_client_api.delete(detail_url(_missing_id()))

    assert_error(theirs, 404, "NOT_FOUND")
    assert theirs.json() == missing.json()
    assert DataSource.objects.filter(pk=target.pk).exists()


def test_invalid_patch_of_a_foreign_row_is_still_not_found(admin_client_api, own, foreign):
    """Validation must not run before the scope: a 400 would confirm the row exists."""
    response = admin_client_api.patch(detail_url(foreign["sources"][0].id), {"port": "not a port"}, format="json")

    assert_error(response, 404, "NOT_FOUND")


def _workspace_error(response: Any, pk: int) -> str:
    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(details) == ["workspace_id"]
    return details["workspace_id"][0].replace(str(pk), "<id>")


def test_create_in_a_foreign_workspace_is_rejected_like_a_missing_workspace(admin_client_api, own, foreign):
    theirs_id, missing_id = foreign["workspace"].id, foreign["workspace"].id + 1000

    theirs = admin_client_api.post(DATA_SOURCES_URL, create_body(foreign["workspace"]), format="json")
    missing = admin_client_api.post(
        DATA_SOURCES_URL, {**create_body(foreign["workspace"]), "workspace_id": missing_id}, format="json"
    )

    assert _workspace_error(theirs, theirs_id) == _workspace_error(missing, missing_id)
    assert DataSource.objects.filter(name="New source").count() == 0


def test_patch_into_a_foreign_workspace_is_rejected(admin_client_api, own, foreign):
    source = own["source"]

    response = admin_client_api.patch(detail_url(source.id), {"workspace_id": foreign["workspace"].id}, format="json")

    _workspace_error(response, foreign["workspace"].id)
    source.refresh_from_db()
    assert source.workspace_id == own["workspace"].id


def test_organization_id_in_the_body_is_ignored(admin_client_api, organization, own, foreign, other_organization):
    created = admin_client_api.post(
        DATA_SOURCES_URL, create_body(own["workspace"], organization_id=other_organization.id), format="json"
    )
    patched = admin_client_api.patch(
        detail_url(own["source"].id), {"organization_id": other_organization.id}, format="json"
    )

    assert assert_success(created, 201, "Data source created successfully")["organization_id"] == organization.id
    assert assert_success(patched, 200, "Data source updated successfully")["organization_id"] == organization.id
    assert (
        not DataSource.objects.filter(organization=other_organization)
        .exclude(pk__in=[s.pk for s in foreign["sources"]])
        .exists()
    )


def test_names_taken_in_another_organization_are_free(admin_client_api, own, foreign):
    response = admin_client_api.post(
        DATA_SOURCES_URL, create_body(own["workspace"], name="SECRET WAREHOUSE"), format="json"
    )

    assert assert_success(response, 201, "Data source created successfully")["name"] == "SECRET WAREHOUSE"


def test_renaming_to_a_name_taken_in_another_organization_is_allowed(admin_client_api, own, foreign):
    response = admin_client_api.patch(detail_url(own["source"].id), {"name": "Their postgres"}, format="json")

    assert assert_success(response, 200, "Data source updated successfully")["name"] == "Their postgres"


def test_workspace_list_and_detail_are_isolated(admin_client_api, own, foreign):
    data = assert_success(admin_client_api.get(WORKSPACES_URL), 200, "Workspaces retrieved successfully")
    theirs = admin_client_api.get(f"{WORKSPACES_URL}/{foreign['workspace'].id}")
    missing = admin_client_api.get(f"{WORKSPACES_URL}/{foreign['workspace'].id + 1000}")

    assert [item["id"] for item in data["items"]] == [own["workspace"].id]
    assert data["pagination"]["total_items"] == 1
    assert_error(theirs, 404, "NOT_FOUND")
    assert theirs.json() == missing.json()


def test_options_metadata_never_lists_another_organizations_workspaces(admin_client_api, own, foreign):
    response = admin_client_api.options(DATA_SOURCES_URL)

    assert_success(response, 200, "Options retrieved successfully")
    assert "Secret warehouse" not in response.content.decode()
    assert f'"value":{foreign["workspace"].id}' not in response.content.decode().replace(" ", "")


def test_a_third_organization_sees_nothing_of_the_other_two(member_client, own, foreign):
    client = member_client(Role.ADMIN, OrganizationFactory.create())

    sources = assert_success(client.get(DATA_SOURCES_URL), 200, LIST_MESSAGE)
    workspaces = assert_success(client.get(WORKSPACES_URL), 200, "Workspaces retrieved successfully")

    assert sources["items"] == [] and sources["pagination"]["total_items"] == 0
    assert workspaces["items"] == [] and workspaces["pagination"]["total_items"] == 0


# --- No viewset bypasses the scope ---------------------------------------------------------------------


def _api_v1_routes() -> list[tuple[str, URLPattern]]:
    def walk(patterns: list[Any], prefix: str) -> Any:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route, pattern

    return [(route, pattern) for route, pattern in walk(get_resolver().url_patterns, "") if route.startswith("api/v1/")]


def test_every_api_v1_view_is_scoped_to_the_organization():
    routes = _api_v1_routes()
    scoped: set[type] = set()
    for route, pattern in routes:
        view_class = getattr(pattern.callback, "cls", None)
        assert view_class is not None and issubclass(view_class, APIView), f"{route} is not a DRF view"
        if pattern.name in UNSCOPED_ROUTES:
            assert not issubclass(view_class, ViewSetMixin), f"{route} is an unscoped viewset"
            continue
        assert issubclass(view_class, ViewSetMixin), f"{route}: tenant data is served by viewsets only"
        assert issubclass(view_class, OrganizationScopedMixin), f"{route}: {view_class.__name__} is not scoped"
        # The mixin's get_queryset is the one that runs, and the permission resolves the membership.
        assert view_class.get_queryset is OrganizationScopedMixin.get_queryset, route
        scoped.add(view_class)

    assert {DataSourceViewSet, WorkspaceViewSet} <= scoped


def test_overriding_get_queryset_on_a_scoped_viewset_is_refused():
    with pytest.raises(TypeError, match="get_queryset"):

        class LeakyViewSet(ListModelMixin, OrganizationScopedViewSet):
            queryset = DataSource.objects.all()

            def get_queryset(self) -> Any:
                return DataSource.objects.all()


def test_overriding_get_queryset_on_a_concrete_viewset_is_refused():
    with pytest.raises(TypeError, match="get_queryset"):

        class LeakyDataSourceViewSet(DataSourceViewSet):
            def get_queryset(self) -> Any:
                return DataSource.objects.all()


@pytest.mark.parametrize("by_header", [False, True])
def test_the_resolved_membership_is_the_orms_own_field_by_field(client_factory_organization, by_header):
    """The lookup runs SQL compiled once (rivergen/api/tenancy.py): its instances must equal the ORM's."""
    user, organization = client_factory_organization
    client = bearer_client(user)
    headers = {HEADER: str(organization.id)} if by_header else {}
    view_membership: dict[str, Any] = {}

    original = tenancy.resolve_current_membership

    def spy(request):
        membership = original(request)
        view_membership["value"] = membership
        return membership

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tenancy, "resolve_current_membership", spy)
        assert client.get(DATA_SOURCES_URL, headers=headers).status_code == 200

    resolved = view_membership["value"]
    expected = Membership.objects.select_related("organization").get(user=user, organization=organization)
    for field in Membership._meta.concrete_fields:
        assert getattr(resolved, field.attname) == getattr(expected, field.attname), field.name
    for field in type(organization)._meta.concrete_fields:
        assert getattr(resolved.organization, field.attname) == getattr(expected.organization, field.attname)
    assert resolved.created_at.tzinfo is not None


@pytest.fixture
def client_factory_organization(organization, other_organization):
    user = UserFactory.create()
    MembershipFactory.create(user=user, organization=other_organization, role=Role.VIEWER)
    MembershipFactory.create(user=user, organization=organization, role=Role.EDITOR)
    Membership.objects.filter(user=user, organization=organization).update(
        created_at=timezone.now() - timedelta(days=1)  # the earliest: chosen without a header
    )
    return user, organization
