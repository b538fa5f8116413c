"""Regressions from a black-box review: odd input never reaches a 500 or leaves the envelope."""

import json
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from datasources.models import DataSource
from organizations.models import Organization, Role, Workspace
from rivergen.api.exceptions import MAX_MESSAGE_LENGTH
from tests.conftest import (
    DATA_SOURCES_URL,
    WORKSPACES_URL,
    MemberClient,
    MemberClientFactory,
    assert_error,
    assert_success,
    detail_url,
)
from tests.factories import DataSourceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API8")]

TOKEN_URL = "/api/v1/auth/token"


def post_raw(client: APIClient, url: str, body: str, method: str = "post") -> Any:
    return getattr(client, method)(url, data=body.encode(), content_type="application/json")


@pytest.fixture
def admin(member_client: MemberClientFactory, organization: Organization) -> MemberClient:
    return member_client(Role.ADMIN, organization)


# --- lone surrogates (valid JSON escapes, not valid text) ------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", r'"\ud800"'), ("workspace_id", r'"\ud800"'), ("tags", r'["\ud800"]'), ("name", r'"\udfff"')],
)
def test_a_lone_surrogate_in_a_create_is_a_validation_error(
    admin: MemberClient, workspace: Workspace, field: str, value: str
) -> None:
    body = {"workspace_id": workspace.pk, "name": "x1", "type": "csv", "file_path": "/x"}
    raw = json.dumps(body)[:-1] + f', "{field}": {value}}}'

    details = assert_error(post_raw(admin, DATA_SOURCES_URL, raw), 400, "VALIDATION_ERROR")

    assert field in details
    assert not DataSource.objects.exists()


def test_a_lone_surrogate_in_a_patch_is_a_validation_error(admin: MemberClient, workspace: Workspace) -> None:
    source = DataSourceFactory.create(workspace=workspace)
    response = post_raw(admin, detail_url(source.pk), r'{"type": "\ud800"}', method="patch")
    assert "type" in assert_error(response, 400, "VALIDATION_ERROR")


# --- request limits -----------------------------------------------------------------------------------


@pytest.mark.owasp("API4")
def test_more_query_parameters_than_django_reads_is_a_validation_error(admin: MemberClient) -> None:
    response = admin.get(DATA_SOURCES_URL + "?" + "&".join(f"p{index}=1" for index in range(1001)))
    assert assert_error(response, 400, "VALIDATION_ERROR") == {"query": ["Too many query parameters."]}


def test_echoed_input_in_error_messages_is_capped(admin: MemberClient) -> None:
    details = assert_error(admin.get(DATA_SOURCES_URL, {"type": "x" * 5000}), 400, "VALIDATION_ERROR")
    assert all(len(message) <= MAX_MESSAGE_LENGTH for message in details["type"])


def test_a_number_with_too_many_digits_is_reported_without_python_internals(admin: MemberClient) -> None:
    response = post_raw(admin, DATA_SOURCES_URL, '{"port": ' + "9" * 5000 + "}")
    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert details == {"body": ["JSON parse error - a number has too many digits."]}


def test_an_unknown_route_with_a_newline_is_an_enveloped_404(admin: MemberClient) -> None:
    response = admin.get("/api/v1/nope%0A")
    assert_error(response, 404, "NOT_FOUND")


# --- methods before roles -----------------------------------------------------------------------------


@pytest.mark.owasp("API5")
@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        (Role.VIEWER, "put", detail_url(1)),
        (Role.VIEWER, "post", detail_url(1)),
        (Role.EDITOR, "delete", DATA_SOURCES_URL),
        (Role.EDITOR, "delete", f"{WORKSPACES_URL}/1"),
        (Role.VIEWER, "post", WORKSPACES_URL),
    ],
)
def test_a_method_the_route_lacks_is_405_whatever_the_role(
    member_client: MemberClientFactory, organization: Organization, role: str, method: str, path: str
) -> None:
    client = member_client(role, organization)
    assert_error(getattr(client, method)(path, {}, format="json"), 405, "METHOD_NOT_ALLOWED")


# --- authentication ------------------------------------------------------------------------------------


@pytest.mark.owasp("API2")
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_case_insensitive(admin: MemberClient, scheme: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {AccessToken.for_user(admin.user)}")
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")


@pytest.mark.owasp("API2")
@pytest.mark.parametrize("claim", ["abc", [1], {"id": 1}, "1\x00", 1.5, True, "-1"])
def test_a_signed_token_with_a_malformed_user_claim_is_unauthorized(admin: MemberClient, claim: object) -> None:
    token = AccessToken.for_user(admin.user)
    token["user_id"] = claim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get(DATA_SOURCES_URL), 401, "UNAUTHORIZED")


# --- throttling -------------------------------------------------------------------------------------------

TINY_RATES = {"DEFAULT_THROTTLE_RATES": {"anon": "3/min", "user": "1000/min"}}


@pytest.mark.owasp("API4")
def test_x_forwarded_for_does_not_reset_the_anonymous_throttle(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **TINY_RATES}
    client = APIClient()
    statuses = [
        client.post(
            TOKEN_URL, {"username": "nobody", "password": "wrong"}, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.owasp("API4")
def test_reading_the_api_docs_does_not_spend_the_token_endpoints_budget(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **TINY_RATES}
    client = APIClient()
    for path in ["/api/v1/schema", "/api/docs", "/api/redoc"] * 2:
        assert client.get(path).status_code == 200
    user = UserFactory.create()
    response = client.post(
        TOKEN_URL, {"username": user.username, "password": "correct-horse-battery-staple"}, format="json"
    )
    assert response.status_code == 200


# --- credentials the update does not touch ------------------------------------------------------------------


@pytest.mark.owasp("API3")
def test_a_patch_does_not_read_credentials_it_does_not_change(admin: MemberClient, workspace: Workspace) -> None:
    source = DataSourceFactory.create(workspace=workspace, password="s3cret", ssh_private_key="KEY")
    # The keys changed without re-encrypting: stored credentials no longer open.
    with override_settings(CREDENTIALS_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        response = admin.patch(detail_url(source.pk), {"description": "renamed"}, format="json")
    assert assert_success(response, 200, "Data source updated successfully")["description"] == "renamed"


@pytest.mark.parametrize("port", ['"5432"', "5432.0", "true"])
@pytest.mark.parametrize("field", ["port", "ssh_port"])
def test_ports_must_be_json_integers(admin: MemberClient, workspace: Workspace, field: str, port: str) -> None:
    body = {"workspace_id": workspace.pk, "name": "x1", "type": "postgresql", "host": "h", "database_name": "d"}
    if field == "ssh_port":
        body |= {"use_ssh_tunnel": True, "ssh_host": "bastion"}
    raw = json.dumps(body)[:-1] + f', "{field}": {port}}}'

    assert list(assert_error(post_raw(admin, DATA_SOURCES_URL, raw), 400, "VALIDATION_ERROR")) == [field]
    assert not DataSource.objects.exists()
