"""Hostile input in every query parameter, body field and path: a 4xx in the envelope, never a 500.

NUL bytes and values far past any limit in each list parameter and each writable field,
integers past 64 bits where ids, ports and pages go. Overlong values are API4 (resource
consumption: the limits are what keep a request's cost bounded); NUL bytes, overflowing
integers and odd paths are API8 (an unhandled case is a misconfiguration that answers 500
or Django's HTML). Malformed JSON, wrong content types and oversized bodies are in
tests/api/test_errors.py, marked the same way.
"""

from typing import Any

import pytest

from datasources.models import DataSource
from organizations.models import Organization, Role, Workspace
from rivergen.ids import MAX_BIGINT
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, MemberClient, MemberClientFactory, assert_error, detail_url
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

OVERLONG = "9" * 10_000  # digits, so integer parameters are tested past their range too
LIST_PARAMETERS = [
    "workspace_id",
    "type",
    "status_filter",
    "search",
    "page",
    "page_size",
    "sort_by",
    "sort_order",
    "tags",
]
STRING_FIELDS = {  # writable string field -> its longest valid length
    "name": 255,
    "description": 10_000,
    "host": 255,
    "database_name": 255,
    "schema_name": 255,
    "file_path": 1024,
    "ssh_host": 255,
    "username": 255,
    "password": 1024,
    "ssh_username": 255,
    "ssh_private_key": 16_384,
}
INTEGER_FIELDS = ["workspace_id", "port", "ssh_port"]
OVERFLOWING = [MAX_BIGINT + 1, 2**64, -(2**63) - 1, 10**30]


@pytest.fixture
def admin(member_client: MemberClientFactory, organization: Organization) -> MemberClient:
    return member_client(Role.ADMIN, organization)


@pytest.fixture
def source(workspace: Workspace) -> DataSource:
    return DataSourceFactory.create(workspace=workspace, name="Kept", use_ssh_tunnel=True, ssh_host="bastion")


def valid_body(workspace: Workspace) -> dict[str, Any]:
    return {
        "workspace_id": workspace.id,
        "name": "Probe",
        "type": "postgresql",
        "host": "db.example.com",
        "database_name": "analytics",
        "use_ssh_tunnel": True,
        "ssh_host": "bastion.example.com",
    }


def assert_rejected_on(response: Any, field: str) -> None:
    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(details) == [field], details


# --- Query parameters ---------------------------------------------------------------------------------


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("parameter", LIST_PARAMETERS)
@pytest.mark.parametrize(
    "value", ["\x00", "1\x00", "name\x00", "postgresql\x00"], ids=["nul", "digit-nul", "name-nul", "type-nul"]
)
def test_a_nul_byte_in_any_list_parameter_is_a_validation_error(
    admin: MemberClient, source: DataSource, parameter: str, value: str
) -> None:
    assert_rejected_on(admin.get(DATA_SOURCES_URL, {parameter: value}), parameter)


@pytest.mark.owasp("API4")
@pytest.mark.parametrize("parameter", [p for p in LIST_PARAMETERS if p != "tags"])
def test_an_overlong_list_parameter_is_a_validation_error(
    admin: MemberClient, source: DataSource, parameter: str
) -> None:
    assert_rejected_on(admin.get(DATA_SOURCES_URL, {parameter: OVERLONG}), parameter)


@pytest.mark.owasp("API4")
def test_an_overlong_tag_filter_matches_nothing_at_no_cost(admin: MemberClient, source: DataSource) -> None:
    """The contract refuses only more than 20 tags; a tag longer than any stored one matches nothing."""
    response = admin.get(DATA_SOURCES_URL, {"tags": "x" * 10_000})

    assert response.status_code == 200
    assert response.json()["data"]["pagination"]["total_items"] == 0


@pytest.mark.owasp("API4")
def test_more_tags_than_allowed_is_a_validation_error(admin: MemberClient, source: DataSource) -> None:
    assert_rejected_on(admin.get(DATA_SOURCES_URL, {"tags": ",".join(f"t{i}" for i in range(1000))}), "tags")


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("parameter", ["workspace_id", "page", "page_size"])
@pytest.mark.parametrize("value", OVERFLOWING)
def test_an_overflowing_integer_parameter_is_a_validation_error(
    admin: MemberClient, source: DataSource, parameter: str, value: int
) -> None:
    assert_rejected_on(admin.get(DATA_SOURCES_URL, {parameter: str(value)}), parameter)


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("url", [DATA_SOURCES_URL, WORKSPACES_URL])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("pk", [str(MAX_BIGINT + 1), str(2**64), "9" * 5000, "-1", "0", "1%00", "%00"])
def test_an_overflowing_or_odd_id_in_a_path_is_not_found(
    admin: MemberClient, source: DataSource, url: str, method: str, pk: str
) -> None:
    response = getattr(admin, method)(f"{url}/{pk}")

    if url == WORKSPACES_URL and method != "get":
        assert_error(response, 405, "METHOD_NOT_ALLOWED")  # workspaces are read-only, whatever the id
    else:
        assert_error(response, 404, "NOT_FOUND")
    assert DataSource.objects.filter(pk=source.pk, name="Kept").exists()


# --- Body fields, on create and on update -------------------------------------------------------------


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("field", STRING_FIELDS)
def test_a_nul_byte_in_any_string_field_is_refused(
    admin: MemberClient, workspace: Workspace, source: DataSource, field: str
) -> None:
    created = admin.post(DATA_SOURCES_URL, {**valid_body(workspace), field: "bad\x00value"}, format="json")
    updated = admin.patch(detail_url(source.id), {field: "bad\x00value"}, format="json")

    assert_rejected_on(created, field)
    assert_rejected_on(updated, field)
    assert DataSource.objects.count() == 1


@pytest.mark.owasp("API8")
def test_a_nul_byte_in_a_tag_is_refused(admin: MemberClient, workspace: Workspace, source: DataSource) -> None:
    assert_rejected_on(
        admin.post(DATA_SOURCES_URL, {**valid_body(workspace), "tags": ["a\x00b"]}, format="json"), "tags"
    )
    assert_rejected_on(admin.patch(detail_url(source.id), {"tags": ["a\x00b"]}, format="json"), "tags")


@pytest.mark.owasp("API4")
@pytest.mark.parametrize("field", STRING_FIELDS)
def test_a_string_field_one_past_its_limit_is_refused_and_at_it_accepted(
    admin: MemberClient, workspace: Workspace, source: DataSource, field: str
) -> None:
    limit = STRING_FIELDS[field]

    too_long = admin.patch(detail_url(source.id), {field: "a" * (limit + 1)}, format="json")
    at_limit = admin.patch(detail_url(source.id), {field: "a" * limit}, format="json")

    assert_rejected_on(too_long, field)
    assert at_limit.status_code == 200, at_limit.content


@pytest.mark.owasp("API4")
@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ([f"t{i}" for i in range(21)], "more than 20 tags"),
        (["x" * 51], "a tag over 50 characters"),
        ("x" * 5000, "not a list"),
    ],
)
def test_oversized_tags_are_refused(admin: MemberClient, workspace: Workspace, tags: Any, why: str) -> None:
    assert_rejected_on(admin.post(DATA_SOURCES_URL, {**valid_body(workspace), "tags": tags}, format="json"), "tags")


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("field", INTEGER_FIELDS)
@pytest.mark.parametrize("value", OVERFLOWING)
def test_an_overflowing_integer_field_is_refused(
    admin: MemberClient, workspace: Workspace, source: DataSource, field: str, value: int
) -> None:
    before = DataSource.objects.filter(pk=source.pk).values().get()

    created = admin.post(DATA_SOURCES_URL, {**valid_body(workspace), field: value}, format="json")
    updated = admin.patch(detail_url(source.id), {field: value}, format="json")

    assert_rejected_on(created, field)
    assert_rejected_on(updated, field)
    assert DataSource.objects.filter(pk=source.pk).values().get() == before
    assert DataSource.objects.count() == 1


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("field", ["port", "ssh_port"])
@pytest.mark.parametrize("value", [0, 65_536, -1, 2**31])
def test_a_port_outside_1_to_65535_is_refused(
    admin: MemberClient, workspace: Workspace, field: str, value: int
) -> None:
    assert_rejected_on(admin.post(DATA_SOURCES_URL, {**valid_body(workspace), field: value}, format="json"), field)
