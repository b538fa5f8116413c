"""The OpenAPI schema tells the truth, and stays true.

The schema is fetched over HTTP and validated as OpenAPI 3. Then every operation is
called for real, for its success and for each error status the schema documents, and
each response is validated against the schema documented for that operation and status
(references resolved; every documented object is treated as closed, so an undocumented
key fails too). A documented status that no case exercises fails, and so does a case
whose status is not documented: the schema and the server cannot drift apart silently.
"""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import OperationalError, connection
from django.templatetags.static import static
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from openapi_spec_validator import validate as validate_openapi_spec
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from datasources.api.views import DataSourceViewSet
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from organizations.models import Organization, Role
from tests.conftest import (
    DATA_SOURCES_URL,
    WORKSPACES_URL,
    MemberClient,
    assert_error,
    assert_success,
    bearer_client,
    detail_url,
)
from tests.factories import TEST_PASSWORD, DataSourceFactory, UserFactory, WorkspaceFactory

SCHEMA_URL = "/api/v1/schema"
TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
ONE_MIB = 1024 * 1024

LIST = ("GET", "/api/v1/data-sources")
CREATE = ("POST", "/api/v1/data-sources")
RETRIEVE = ("GET", "/api/v1/data-sources/{id}")
UPDATE = ("PATCH", "/api/v1/data-sources/{id}")
DELETE = ("DELETE", "/api/v1/data-sources/{id}")
WORKSPACE_LIST = ("GET", "/api/v1/workspaces")
WORKSPACE_RETRIEVE = ("GET", "/api/v1/workspaces/{id}")
TOKEN = ("POST", "/api/v1/auth/token")
REFRESH = ("POST", "/api/v1/auth/token/refresh")
ORGANIZATION_SCOPED = (LIST, CREATE, RETRIEVE, UPDATE, DELETE, WORKSPACE_LIST, WORKSPACE_RETRIEVE)

#: The contract's error codes (API.md §1), independent of the schema under test.
ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

SUCCESS_MESSAGES = {
    LIST: "Data sources retrieved successfully",
    CREATE: "Data source created successfully",
    RETRIEVE: "Data source retrieved successfully",
    UPDATE: "Data source updated successfully",
    DELETE: "Data source deleted successfully",
    WORKSPACE_LIST: "Workspaces retrieved successfully",
    WORKSPACE_RETRIEVE: "Workspace retrieved successfully",
    TOKEN: "Token issued successfully",
    REFRESH: "Token refreshed successfully",
}

DATA_SOURCE_KEYS = {
    "id",
    "organization_id",
    "workspace_id",
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
}
CREDENTIALS = {"username", "password", "ssh_username", "ssh_private_key"}


# --- Reading the schema ------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    """The schema as served, over HTTP (no credentials needed)."""
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200, response.content
    return yaml.safe_load(response.content)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _pointer(spec, node["$ref"])
    return node


def _pointer(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(spec: dict[str, Any], node: Any) -> Any:
    """`node` with every $ref replaced by a copy of its target (the schema has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(spec, _pointer(spec, node["$ref"]))
        return {key: inline(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(spec, item) for item in node]
    return node


def closed(node: Any) -> Any:
    """Every object schema that lists its properties allows no others (finds undocumented keys)."""
    if isinstance(node, dict):
        node = {key: closed(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [closed(item) for item in node]
    return node


def operation(spec: dict[str, Any], endpoint: tuple[str, str]) -> dict[str, Any]:
    method, path = endpoint
    assert path in spec["paths"], f"{path} is not documented"
    assert method.lower() in spec["paths"][path], f"{method} {path} is not documented"
    return spec["paths"][path][method.lower()]


def schema_errors(validator_class: Any, schema: dict[str, Any], instance: Any) -> list[str]:
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def assert_matches_response(spec: dict[str, Any], response_spec: dict[str, Any], response: Any) -> None:
    """The response's body and headers are what `response_spec` documents."""
    response_spec = resolve(spec, response_spec)
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in response_spec.get("content", {}), f"{media_type} is not a documented media type"
    schema = closed(inline(spec, response_spec["content"][media_type]["schema"]))
    errors = schema_errors(OAS30ReadValidator, schema, json.loads(response.content))
    assert not errors, f"the {response.status_code} body does not match its schema: {errors}\n{response.content!r}"
    for name, header in response_spec.get("headers", {}).items():
        if header.get("required"):
            assert response.has_header(name), f"documented header {name} is missing"
        if response.has_header(name) and header["schema"].get("type") == "integer":
            value = response[name]
            assert value.isdigit(), f"{name}: {value!r} is not an integer"
            assert not schema_errors(OAS30ReadValidator, header["schema"], int(value))


def assert_documented(spec: dict[str, Any], endpoint: tuple[str, str], response: Any) -> None:
    responses = operation(spec, endpoint)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{endpoint} answered {status}, which the schema does not document"
    assert_matches_response(spec, responses[status], response)


def documented_request(spec: dict[str, Any], endpoint: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """`body`, after checking the schema accepts it: a valid request must be valid by the schema too."""
    request_body = operation(spec, endpoint)["requestBody"]
    schema = inline(spec, request_body["content"]["application/json"]["schema"])
    errors = schema_errors(OAS30WriteValidator, schema, body)
    assert not errors, f"the schema rejects a request the server accepts: {errors}"
    return body


# --- The world the cases run in -----------------------------------------------------------


@dataclass
class World:
    spec: dict[str, Any]
    organization: Organization
    workspace: Any
    admin: MemberClient
    editor: MemberClient
    viewer: MemberClient
    datasource: DataSource
    other_datasource: DataSource
    other_workspace: Any

    def create_body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "workspace_id": self.workspace.id,
            "name": "Warehouse",
            "type": "postgresql",
            "description": "The analytics warehouse",
            "host": "db.internal",
            "database_name": "analytics",
            "schema_name": "public",
            "use_ssh_tunnel": True,
            "ssh_host": "bastion.internal",
            "tags": [" Prod ", "finance", "prod"],
            "username": "reader",
            "password": "s3cret!",
            "ssh_username": "tunnel",
            "ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
            **overrides,
        }
        return documented_request(self.spec, CREATE, body)


@pytest.fixture
def world(openapi, member_client, organization, workspace) -> World:
    other_workspace = WorkspaceFactory.create()
    return World(
        spec=openapi,
        organization=organization,
        workspace=workspace,
        admin=member_client(Role.ADMIN, organization),
        editor=member_client(Role.EDITOR, organization),
        viewer=member_client(Role.VIEWER, organization),
        datasource=DataSourceFactory.create(workspace=workspace, name="Orders DB", tags=["prod"]),
        other_datasource=DataSourceFactory.create(workspace=other_workspace),
        other_workspace=other_workspace,
    )


@pytest.fixture
def tiny_throttle_rates(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/min", "user": "1/min"}}


def database_fails(error: Exception) -> Any:
    """Every statement fails with `error`, as when the database goes away mid-request.

    Django's execute_wrapper sees every statement, the ORM's and plain cursors' alike.
    """

    def fail(*args: Any) -> Any:
        raise error

    return connection.execute_wrapper(fail)


def outage(error: Exception, call: Callable[[World], Any]) -> Callable[[World], Any]:
    def run(world: World) -> Any:
        with database_fails(error):
            return call(world)

    return run


def throttled(call: Callable[[World], Any]) -> Callable[[World], Any]:
    def run(world: World) -> Any:
        first = call(world)
        assert first.status_code != 429, first.content
        return call(world)

    return run


def oversized(method: str, url: Any, client: str = "admin") -> Callable[[World], Any]:
    def run(world: World) -> Any:
        target = url(world) if callable(url) else url
        return getattr(world, client).generic(method, target, json.dumps({"name": "x" * ONE_MIB}), "application/json")

    return run


def not_json(method: str, url: Any, client: str = "admin") -> Callable[[World], Any]:
    def run(world: World) -> Any:
        target = url(world) if callable(url) else url
        return getattr(world, client).generic(method, target, "name=Orders", "application/x-www-form-urlencoded")

    return run


def anonymous() -> APIClient:
    return APIClient()


def broken_token() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    return client


def token_pair(world: World) -> dict[str, str]:
    refresh = RefreshToken.for_user(world.admin.user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def own(world: World) -> str:
    return detail_url(world.datasource.id)


def own_workspace(world: World) -> str:
    return f"{WORKSPACES_URL}/{world.workspace.id}"


# --- The cases: each documented (operation, status), called for real ---------------------


def _list_everything(world: World) -> Any:
    DataSourceFactory.create(
        workspace=world.workspace,
        name="Orders replica",
        type=DataSourceType.MYSQL,
        description=None,
        tags=["prod", "eu"],
        use_ssh_tunnel=True,
        ssh_host="bastion",
        ssh_port=2222,
        status=DataSourceStatus.ACTIVE,
    )
    query = {
        "workspace_id": world.workspace.id,
        "type": "postgresql,mysql",
        "status_filter": "inactive,active",
        "search": "orders",
        "tags": "PROD",
        "page": 1,
        "page_size": 5,
        "sort_by": "name",
        "sort_order": "asc",
    }
    return world.admin.get(DATA_SOURCES_URL, query, HTTP_X_ORGANIZATION_ID=str(world.organization.id))


def _token_obtain(world: World, password: str = TEST_PASSWORD) -> Any:
    body = documented_request(world.spec, TOKEN, {"username": world.admin.user.username, "password": password})
    return anonymous().post(TOKEN_URL, body, format="json")


def _token_refresh(world: World, refresh: str | None = None) -> Any:
    body = documented_request(world.spec, REFRESH, {"refresh": refresh or token_pair(world)["refresh"]})
    return anonymous().post(REFRESH_URL, body, format="json")


def refresh_outage(error: Exception) -> Callable[[World], Any]:
    """The refresh token is issued first; then the database goes away."""

    def run(world: World) -> Any:
        refresh = token_pair(world)["refresh"]
        with database_fails(error):
            return _token_refresh(world, refresh)

    return run


def _no_organization(world: World) -> APIClient:
    return bearer_client(UserFactory.create())


CASES: dict[tuple[str, str, int], Callable[[World], Any]] = {
    # GET /data-sources
    (*LIST, 200): _list_everything,
    (*LIST, 400): lambda w: w.admin.get(DATA_SOURCES_URL, {"page_size": "101", "type": "xml"}),
    (*LIST, 401): lambda w: anonymous().get(DATA_SOURCES_URL),
    (*LIST, 403): lambda w: _no_organization(w).get(DATA_SOURCES_URL),
    (*LIST, 429): throttled(lambda w: w.viewer.get(DATA_SOURCES_URL)),
    (*LIST, 500): outage(RuntimeError("boom"), lambda w: w.admin.get(DATA_SOURCES_URL)),
    (*LIST, 503): outage(OperationalError("connection refused"), lambda w: w.admin.get(DATA_SOURCES_URL)),
    # POST /data-sources
    (*CREATE, 201): lambda w: w.editor.post(DATA_SOURCES_URL, w.create_body(), format="json"),
    (*CREATE, 400): lambda w: w.admin.post(DATA_SOURCES_URL, {"name": " ", "type": "csv", "port": 0}, format="json"),
    (*CREATE, 401): lambda w: anonymous().post(DATA_SOURCES_URL, w.create_body(), format="json"),
    (*CREATE, 403): lambda w: w.viewer.post(DATA_SOURCES_URL, w.create_body(), format="json"),
    (*CREATE, 409): lambda w: w.admin.post(DATA_SOURCES_URL, w.create_body(name="ORDERS db"), format="json"),
    (*CREATE, 413): oversized("POST", DATA_SOURCES_URL),
    (*CREATE, 415): not_json("POST", DATA_SOURCES_URL),
    (*CREATE, 429): throttled(lambda w: w.admin.post(DATA_SOURCES_URL, {}, format="json")),
    (*CREATE, 500): outage(RuntimeError("boom"), lambda w: w.admin.post(DATA_SOURCES_URL, {}, format="json")),
    (*CREATE, 503): outage(OperationalError("gone"), lambda w: w.admin.post(DATA_SOURCES_URL, {}, format="json")),
    # GET /data-sources/{id}
    (*RETRIEVE, 200): lambda w: w.viewer.get(own(w)),
    (*RETRIEVE, 401): lambda w: broken_token().get(own(w)),
    (*RETRIEVE, 403): lambda w: w.admin.get(own(w), HTTP_X_ORGANIZATION_ID=str(w.other_workspace.organization_id)),
    (*RETRIEVE, 404): lambda w: w.admin.get(detail_url(w.other_datasource.id)),
    (*RETRIEVE, 429): throttled(lambda w: w.admin.get(own(w))),
    (*RETRIEVE, 500): outage(RuntimeError("boom"), lambda w: w.admin.get(own(w))),
    (*RETRIEVE, 503): outage(OperationalError("gone"), lambda w: w.admin.get(own(w))),
    # PATCH /data-sources/{id}
    (*UPDATE, 200): lambda w: w.editor.patch(
        own(w),
        documented_request(w.spec, UPDATE, {"description": None, "tags": ["Ops"], "password": None}),
        format="json",
    ),
    (*UPDATE, 400): lambda w: w.admin.patch(own(w), {"type": "csv", "port": 70000}, format="json"),
    (*UPDATE, 401): lambda w: anonymous().patch(own(w), {"name": "x"}, format="json"),
    (*UPDATE, 403): lambda w: w.viewer.patch(own(w), {"name": "x"}, format="json"),
    (*UPDATE, 404): lambda w: w.admin.patch(detail_url(w.other_datasource.id), {"name": "x"}, format="json"),
    (*UPDATE, 409): lambda w: w.admin.patch(
        detail_url(DataSourceFactory.create(workspace=w.workspace).id), {"name": "orders DB"}, format="json"
    ),
    (*UPDATE, 413): oversized("PATCH", own),
    (*UPDATE, 415): not_json("PATCH", own),
    (*UPDATE, 429): throttled(lambda w: w.admin.patch(own(w), {}, format="json")),
    (*UPDATE, 500): outage(RuntimeError("boom"), lambda w: w.admin.patch(own(w), {}, format="json")),
    (*UPDATE, 503): outage(OperationalError("gone"), lambda w: w.admin.patch(own(w), {}, format="json")),
    # DELETE /data-sources/{id}
    (*DELETE, 200): lambda w: w.admin.delete(own(w)),
    (*DELETE, 401): lambda w: anonymous().delete(own(w)),
    (*DELETE, 403): lambda w: w.editor.delete(own(w)),
    (*DELETE, 404): lambda w: w.admin.delete(detail_url(w.other_datasource.id)),
    (*DELETE, 429): throttled(lambda w: w.admin.delete(detail_url(w.other_datasource.id))),
    (*DELETE, 500): outage(RuntimeError("boom"), lambda w: w.admin.delete(own(w))),
    (*DELETE, 503): outage(OperationalError("gone"), lambda w: w.admin.delete(own(w))),
    # GET /workspaces
    (*WORKSPACE_LIST, 200): lambda w: w.viewer.get(WORKSPACES_URL, {"sort_order": "desc", "page_size": "1"}),
    (*WORKSPACE_LIST, 400): lambda w: w.viewer.get(WORKSPACES_URL, {"sort_by": "created_at"}),
    (*WORKSPACE_LIST, 401): lambda w: anonymous().get(WORKSPACES_URL),
    (*WORKSPACE_LIST, 403): lambda w: _no_organization(w).get(WORKSPACES_URL),
    (*WORKSPACE_LIST, 429): throttled(lambda w: w.viewer.get(WORKSPACES_URL)),
    (*WORKSPACE_LIST, 500): outage(RuntimeError("boom"), lambda w: w.viewer.get(WORKSPACES_URL)),
    (*WORKSPACE_LIST, 503): outage(OperationalError("gone"), lambda w: w.viewer.get(WORKSPACES_URL)),
    # GET /workspaces/{id}
    (*WORKSPACE_RETRIEVE, 200): lambda w: w.viewer.get(own_workspace(w)),
    (*WORKSPACE_RETRIEVE, 401): lambda w: anonymous().get(own_workspace(w)),
    (*WORKSPACE_RETRIEVE, 403): lambda w: _no_organization(w).get(own_workspace(w)),
    (*WORKSPACE_RETRIEVE, 404): lambda w: w.viewer.get(f"{WORKSPACES_URL}/{w.other_workspace.id}"),
    (*WORKSPACE_RETRIEVE, 429): throttled(lambda w: w.viewer.get(own_workspace(w))),
    (*WORKSPACE_RETRIEVE, 500): outage(RuntimeError("boom"), lambda w: w.viewer.get(own_workspace(w))),
    (*WORKSPACE_RETRIEVE, 503): outage(OperationalError("gone"), lambda w: w.viewer.get(own_workspace(w))),
    # POST /auth/token
    (*TOKEN, 200): _token_obtain,
    (*TOKEN, 400): lambda w: anonymous().post(TOKEN_URL, {"username": "someone"}, format="json"),
    (*TOKEN, 401): lambda w: _token_obtain(w, password="wrong password"),
    (*TOKEN, 413): oversized("POST", TOKEN_URL),
    (*TOKEN, 415): not_json("POST", TOKEN_URL),
    (*TOKEN, 429): throttled(lambda w: anonymous().post(TOKEN_URL, {}, format="json")),
    (*TOKEN, 500): outage(RuntimeError("boom"), _token_obtain),
    (*TOKEN, 503): outage(OperationalError("gone"), _token_obtain),
    # POST /auth/token/refresh
    (*REFRESH, 200): _token_refresh,
    (*REFRESH, 400): lambda w: anonymous().post(REFRESH_URL, {}, format="json"),
    (*REFRESH, 401): lambda w: _token_refresh(w, refresh=token_pair(w)["access"]),
    (*REFRESH, 413): oversized("POST", REFRESH_URL),
    (*REFRESH, 415): not_json("POST", REFRESH_URL),
    (*REFRESH, 429): throttled(lambda w: anonymous().post(REFRESH_URL, {}, format="json")),
    (*REFRESH, 500): refresh_outage(RuntimeError("boom")),
    (*REFRESH, 503): refresh_outage(OperationalError("gone")),
}


@pytest.mark.owasp("API9")
def test_every_documented_response_has_a_case_and_every_case_is_documented(openapi):
    documented = {
        (method.upper(), path, int(status))
        for path, path_item in openapi["paths"].items()
        for method, op in path_item.items()
        for status in op["responses"]
    }
    assert documented == set(CASES)


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES), ids=lambda case: f"{case[0]} {case[1]} {case[2]}")
def test_real_response_matches_the_documented_schema(case, world, request):
    method, path, status = case
    if status == 429:
        request.getfixturevalue("tiny_throttle_rates")
    response = CASES[case](world)

    if status < 400:
        data = assert_success(response, status, SUCCESS_MESSAGES[method, path])
        documented = operation(world.spec, (method, path))["responses"][str(status)]
        assert documented["description"] == f'message: "{SUCCESS_MESSAGES[method, path]}"'
    else:
        assert_error(response, status, ERROR_CODES[status])
    assert_documented(world.spec, (method, path), response)

    if case == (*LIST, 200):
        assert [item["name"] for item in data["items"]] == ["Orders DB", "Orders replica"]
    if case in {(*CREATE, 201), (*UPDATE, 200)}:
        assert not CREDENTIALS & set(data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "path", "allowed"),
    [
        ("put", "/api/v1/data-sources/1", RETRIEVE[1], "GET, PATCH, DELETE, HEAD, OPTIONS"),
        ("delete", "/api/v1/data-sources", LIST[1], "GET, POST, HEAD, OPTIONS"),
        ("post", "/api/v1/workspaces", WORKSPACE_LIST[1], "GET, HEAD, OPTIONS"),
        ("patch", "/api/v1/workspaces/1/", WORKSPACE_RETRIEVE[1], "GET, HEAD, OPTIONS"),
        ("get", "/api/v1/auth/token", TOKEN[1], "POST, OPTIONS"),
        ("put", "/api/v1/auth/token/refresh/", REFRESH[1], "POST, OPTIONS"),
    ],
)
def test_methods_a_path_does_not_list_answer_the_method_not_allowed_component(
    openapi, admin_client_api, method, url, path, allowed
):
    response = getattr(admin_client_api, method)(url, {}, format="json")

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == allowed
    assert method not in openapi["paths"][path]
    assert_matches_response(openapi, {"$ref": "#/components/responses/MethodNotAllowed"}, response)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v2/data-sources", "/api/v1/data-sources/abc"])
def test_unknown_api_routes_answer_the_not_found_component(openapi, admin_client_api, url):
    response = admin_client_api.get(url)

    assert_error(response, 404, "NOT_FOUND")
    assert_matches_response(openapi, {"$ref": "#/components/responses/NotFound"}, response)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [RETRIEVE, DELETE])
def test_detail_routes_ignore_list_parameters_as_documented(world, endpoint):
    # The schema documents no query parameter and no 400 for these: list filters,
    # invalid or not, neither answer 400 nor hide the row.
    assert "400" not in operation(world.spec, endpoint)["responses"]
    url = f"{own(world)}?sort_by=bogus&type=xml&workspace_id={world.other_workspace.id}&page=0"

    response = getattr(world.admin, endpoint[0].lower())(url)

    assert_success(response, 200, SUCCESS_MESSAGES[endpoint])
    assert_documented(world.spec, endpoint, response)


@pytest.mark.django_db
def test_an_unknown_format_parameter_is_ignored_like_any_unknown_parameter(world):
    response = world.viewer.get(DATA_SOURCES_URL, {"format": "xml"})

    assert_success(response, 200, SUCCESS_MESSAGES[LIST])
    assert_documented(world.spec, LIST, response)


# --- The schema itself ---------------------------------------------------------------------


def test_schema_is_valid_openapi_3(openapi):
    assert openapi["openapi"].startswith("3.0")
    validate_openapi_spec(openapi)


def test_schema_is_yaml_by_default_and_json_on_request():
    client = APIClient()
    as_yaml = client.get(SCHEMA_URL)
    as_json = client.get(f"{SCHEMA_URL}/", {"format": "json"})

    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert as_json.status_code == 200
    assert as_json["Content-Type"] == "application/vnd.oai.openapi+json"
    assert json.loads(as_json.content) == yaml.safe_load(as_yaml.content)


def test_schema_and_docs_need_no_credentials_even_a_broken_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")

    for url in (SCHEMA_URL, "/api/docs", "/api/docs/", "/api/redoc", "/api/redoc/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
@pytest.mark.parametrize("method", ["options", "put", "post", "patch", "delete"])
def test_docs_pages_answer_other_methods_with_405(url, method):
    response = getattr(APIClient(), method)(url)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("url", "assets"),
    [
        (
            "/api/docs",
            [
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
                "drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
            ],
        ),
        ("/api/redoc", ["drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"]),
    ],
)
def test_docs_pages_load_everything_from_this_server(url, assets):
    response = APIClient().get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html  # No CDN, no web fonts.
    assert "/api/v1/schema" in html
    for asset in assets:
        assert f'"{static(asset)}"' in html
        assert finders.find(asset), f"{asset} is not a static file"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_paths_appear_once_without_trailing_slash_and_update_is_patch_only(openapi):
    methods = {path: set(path_item) for path, path_item in openapi["paths"].items()}

    assert methods == {
        "/api/v1/auth/token": {"post"},
        "/api/v1/auth/token/refresh": {"post"},
        "/api/v1/data-sources": {"get", "post"},
        "/api/v1/data-sources/{id}": {"get", "patch", "delete"},
        "/api/v1/workspaces": {"get"},
        "/api/v1/workspaces/{id}": {"get"},
    }


def _parameters(openapi: dict[str, Any], endpoint: tuple[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    parameters = [resolve(openapi, p) for p in operation(openapi, endpoint).get("parameters", [])]
    return {(p["in"], p["name"]): p for p in parameters}


def test_list_query_parameters_are_documented_with_types_bounds_and_defaults(openapi):
    query = {name: p for (where, name), p in _parameters(openapi, LIST).items() if where == "query"}

    assert set(query) == {
        "workspace_id",
        "type",
        "status_filter",
        "search",
        "tags",
        "page",
        "page_size",
        "sort_by",
        "sort_order",
    }
    assert not any(p.get("required") for p in query.values())
    # An empty value means the default (README), which the fuzz tests hold the server to.
    assert all(p["allowEmptyValue"] is True for p in query.values())
    assert query["workspace_id"]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }
    for name, choices in (("type", DataSourceType.values), ("status_filter", DataSourceStatus.values)):
        assert query[name]["schema"] == {"type": "array", "items": {"type": "string", "enum": choices}}
        assert (query[name]["style"], query[name]["explode"]) == ("form", False)  # a,b,c
    assert query["search"]["schema"] == {"type": "string", "maxLength": 200, "pattern": r"^[^\x00]*$"}
    assert query["tags"]["schema"] == {
        "type": "array",
        "items": {"type": "string", "pattern": r"^[^,\x00]*$"},  # commas separate tags
        "maxItems": 20,
    }
    assert (query["tags"]["style"], query["tags"]["explode"]) == ("form", False)
    assert query["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}
    assert query["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert query["sort_by"]["schema"] == {
        "type": "string",
        "enum": list(DataSourceViewSet.sort_fields),
        "default": "created_at",
    }
    assert query["sort_order"]["schema"] == {"type": "string", "enum": ["asc", "desc"], "default": "desc"}


def test_workspace_list_documents_its_own_sorting_and_no_search(openapi):
    query = {name: p for (where, name), p in _parameters(openapi, WORKSPACE_LIST).items() if where == "query"}

    assert set(query) == {"page", "page_size", "sort_by", "sort_order"}
    assert query["sort_by"]["schema"] == {"type": "string", "enum": ["name"], "default": "name"}
    assert query["sort_order"]["schema"]["default"] == "asc"


def test_paths_ids_are_positive_64_bit_integers(openapi):
    for endpoint in (RETRIEVE, UPDATE, DELETE, WORKSPACE_RETRIEVE):
        parameter = _parameters(openapi, endpoint)["path", "id"]
        assert parameter["required"] is True
        assert parameter["schema"] == {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}


def test_organization_scoped_operations_take_the_optional_organization_header(openapi):
    for endpoint in ORGANIZATION_SCOPED:
        header = _parameters(openapi, endpoint)["header", "X-Organization-ID"]
        assert not header.get("required")
        assert header["schema"] == {"type": "integer", "format": "int64", "minimum": 1}
    for endpoint in (TOKEN, REFRESH):
        assert ("header", "X-Organization-ID") not in _parameters(openapi, endpoint)


@pytest.mark.owasp("API9")
def test_bearer_jwt_secures_every_operation_but_the_token_endpoints(openapi):
    assert openapi["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for endpoint in ORGANIZATION_SCOPED:
        security = operation(openapi, endpoint)["security"]
        assert {"jwtAuth": []} in security
        assert {} not in security  # Never anonymous.
    for endpoint in (TOKEN, REFRESH):
        assert "security" not in operation(openapi, endpoint)


def test_credentials_are_write_only_and_never_in_a_response(openapi):
    schemas = openapi["components"]["schemas"]
    for request_schema in ("DataSourceRequest", "PatchedDataSourceRequest"):
        properties = schemas[request_schema]["properties"]
        for credential in CREDENTIALS:
            assert properties[credential]["writeOnly"] is True
            assert properties[credential]["nullable"] is True  # null clears it.
    response_schema = schemas["DataSource"]
    assert set(response_schema["properties"]) == DATA_SOURCE_KEYS
    assert set(response_schema["required"]) == DATA_SOURCE_KEYS
    assert set(schemas["DataSourceRequest"]["required"]) == {"workspace_id", "name", "type"}
    assert "required" not in schemas["PatchedDataSourceRequest"]


def test_token_endpoints_document_their_envelopes(openapi):
    schemas = openapi["components"]["schemas"]

    def data_of(endpoint: tuple[str, str]) -> dict[str, Any]:
        response = operation(openapi, endpoint)["responses"]["200"]["content"]["application/json"]["schema"]
        return resolve(openapi, resolve(openapi, response)["properties"]["data"])

    pair = data_of(TOKEN)
    assert set(pair["required"]) == set(pair["properties"]) == {"access", "refresh", "token_type", "expires_in"}
    refreshed = data_of(REFRESH)
    # Refresh tokens rotate: a refresh answers the next refresh token too.
    assert set(refreshed["required"]) == set(refreshed["properties"]) == set(pair["properties"])
    assert resolve(openapi, pair["properties"]["token_type"])["enum"] == ["Bearer"]
    assert schemas["TokenObtainRequest"]["required"] == ["password", "username"]
    assert schemas["TokenRefreshRequest"]["required"] == ["refresh"]


def test_error_responses_name_their_code_and_headers(openapi):
    responses = openapi["components"]["responses"]
    for status, code in ERROR_CODES.items():
        [component] = [r for r in responses.values() if r["description"].startswith(f"{status} {code}:")]
        schema = resolve(openapi, component["content"]["application/json"]["schema"])
        assert schema["properties"]["error"]["properties"]["code"]["enum"] == [code]
    assert responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"] is True
    assert responses["RateLimited"]["headers"]["Retry-After"]["required"] is True
    assert responses["ServiceUnavailable"]["headers"]["Retry-After"]["required"] is True


@pytest.mark.owasp("API9")
def test_committed_openapi_yaml_is_what_the_code_generates(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", file=str(generated), validate=True, fail_on_warn=True)

    committed = Path(django_settings.BASE_DIR) / "openapi.yaml"
    assert committed.exists(), "openapi.yaml is missing: run `make schema`"
    assert committed.read_text() == generated.read_text(), "openapi.yaml is stale: run `make schema` and commit it"


def test_served_schema_is_the_committed_one(openapi):
    committed = yaml.safe_load((Path(django_settings.BASE_DIR) / "openapi.yaml").read_text())
    assert openapi == committed


def test_closed_turns_undocumented_keys_into_failures():
    # The validator helpers above would be worthless if they accepted anything.
    schema = closed({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
    assert schema_errors(OAS30ReadValidator, schema, {"a": 1}) == []
    assert schema_errors(OAS30ReadValidator, schema, {"a": 1, "password": "x"})
    assert schema_errors(OAS30ReadValidator, copy.deepcopy(schema), {"a": "1"})
