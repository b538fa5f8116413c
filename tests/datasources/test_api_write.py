"""The write side of /api/v1/data-sources: retrieve, create, update, delete (contract §4, §5)."""

import re
import threading
from typing import Any

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from datasources.api.views import DataSourceViewSet
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from organizations.models import Role
from tests.conftest import DATA_SOURCES_URL, assert_error, assert_success, bearer_client, detail_url
from tests.factories import DataSourceFactory, WorkspaceFactory

RETRIEVED = "Data source retrieved successfully"
CREATED = "Data source created successfully"
UPDATED = "Data source updated successfully"
DELETED = "Data source deleted successfully"
VALIDATION_MESSAGE = "The request is invalid; see error.details for each field."
NAME_TAKEN = "A data source with this name already exists in this organization."
NOT_FOUND_BODY = {
    "success": False,
    "error": {"code": "NOT_FOUND", "details": None},
    "message": "Data source not found.",
}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

PASSWORD = "s3cr3t-Pa55word-never-shown"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END-----"

# The minimal valid body for each type (§5), without workspace_id.
REQUIRED_BY_TYPE: dict[str, dict[str, str]] = {
    "postgresql": {"host": "db.example.com", "database_name": "analytics"},
    "mysql": {"host": "db.example.com", "database_name": "analytics"},
    "mariadb": {"host": "db.example.com", "database_name": "analytics"},
    "sqlserver": {"host": "db.example.com", "database_name": "analytics"},
    "oracle": {"host": "db.example.com", "database_name": "analytics"},
    "redshift": {"host": "db.example.com", "database_name": "analytics"},
    "snowflake": {"host": "acme.snowflakecomputing.com", "database_name": "analytics"},
    "mongodb": {"host": "db.example.com", "database_name": "analytics"},
    "bigquery": {"database_name": "my-gcp-project"},
    "sqlite": {"file_path": "/data/app.db"},
    "csv": {"file_path": "/data/sales.csv"},
    "excel": {"file_path": "/data/sales.xlsx"},
    "json": {"file_path": "/data/events.json"},
    "parquet": {"file_path": "/data/events.parquet"},
}
DEFAULT_PORT_BY_TYPE = {
    "postgresql": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "sqlserver": 1433,
    "oracle": 1521,
    "redshift": 5439,
    "mongodb": 27017,
    "snowflake": None,
    "bigquery": None,
    "sqlite": None,
    "csv": None,
    "excel": None,
    "json": None,
    "parquet": None,
}
STRING_FIELDS = (
    "name",
    "description",
    "host",
    "database_name",
    "schema_name",
    "file_path",
    "ssh_host",
    "username",
    "password",
    "ssh_username",
    "ssh_private_key",
)


def _timestamp(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def representation(datasource: DataSource) -> dict[str, Any]:
    """The contract's data source object for a row, read fresh from the database."""
    datasource = DataSource.objects.get(pk=datasource.pk)
    return {
        "id": datasource.id,
        "organization_id": datasource.organization_id,
        "workspace_id": datasource.workspace_id,
        "name": datasource.name,
        "type": datasource.type,
        "description": datasource.description,
        "host": datasource.host,
        "port": datasource.port,
        "database_name": datasource.database_name,
        "schema_name": datasource.schema_name,
        "file_path": datasource.file_path,
        "use_ssh_tunnel": datasource.use_ssh_tunnel,
        "ssh_host": datasource.ssh_host,
        "ssh_port": datasource.ssh_port,
        "status": datasource.status,
        "last_tested_at": _timestamp(datasource.last_tested_at),
        "last_successful_connection_at": _timestamp(datasource.last_successful_connection_at),
        "schema_discovered_at": _timestamp(datasource.schema_discovered_at),
        "schema_auto_refresh": datasource.schema_auto_refresh,
        "tags": datasource.tags,
        "created_at": _timestamp(datasource.created_at),
        "updated_at": _timestamp(datasource.updated_at),
    }


def body_for(workspace: Any, type_: str = "postgresql", **overrides: Any) -> dict[str, Any]:
    return {"workspace_id": workspace.id, "name": "Warehouse", "type": type_, **REQUIRED_BY_TYPE[type_], **overrides}


def assert_validation_error(response: Any, details: dict[str, list[str]]) -> None:
    assert assert_error(response, 400, "VALIDATION_ERROR") == details
    assert response.json()["message"] == VALIDATION_MESSAGE


def raw_column(datasource_id: int, column: str) -> Any:
    """A column as stored, bypassing the model field (and its decryption)."""
    assert column in DataSource.CREDENTIAL_FIELDS
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM datasources_datasource WHERE id = %s", [datasource_id])
        return cursor.fetchone()[0]


@pytest.fixture
def admin(member_client, organization):
    return member_client(Role.ADMIN, organization)


@pytest.fixture
def editor(member_client, organization):
    return member_client(Role.EDITOR, organization)


@pytest.fixture
def viewer(member_client, organization):
    return member_client(Role.VIEWER, organization)


@pytest.fixture
def datasource(workspace):
    return DataSourceFactory.create(workspace=workspace, name="Orders DB", tags=["prod"])


@pytest.fixture
def other_datasource(other_organization):
    return DataSourceFactory.create(
        workspace=WorkspaceFactory.create(organization=other_organization), name="Foreign DB"
    )


# --- GET /data-sources/{id} ----------------------------------------------------------------


class TestRetrieve:
    def test_returns_the_whole_object(self, viewer, datasource):
        data = assert_success(viewer.get(detail_url(datasource.id)), 200, RETRIEVED)
        assert data == representation(datasource)

    def test_trailing_slash_gives_the_same_answer(self, viewer, datasource):
        without = viewer.get(detail_url(datasource.id))
        with_slash = viewer.get(detail_url(datasource.id) + "/")
        assert_success(with_slash, 200, RETRIEVED)
        assert with_slash.json() == without.json()

    def test_other_organizations_row_looks_exactly_like_a_missing_one(self, viewer, datasource, other_datasource):
        missing_id = max(datasource.id, other_datasource.id) + 1000
        foreign = viewer.get(detail_url(other_datasource.id))
        missing = viewer.get(detail_url(missing_id))
        assert_error(foreign, 404, "NOT_FOUND")
        assert_error(missing, 404, "NOT_FOUND")
        assert foreign.json() == missing.json() == NOT_FOUND_BODY

    @pytest.mark.parametrize("pk", ["0", "00", str(2**63 - 1), str(2**63), "99999999999999999999"])
    def test_out_of_range_numeric_ids_are_not_found(self, viewer, datasource, pk):
        response = viewer.get(detail_url(pk))
        assert_error(response, 404, "NOT_FOUND")
        assert response.json() == NOT_FOUND_BODY

    @pytest.mark.parametrize("pk", ["abc", "-1", "1.5", "1e3", "%20"])
    def test_non_numeric_ids_are_not_found(self, viewer, datasource, pk):
        assert assert_error(viewer.get(detail_url(pk)), 404, "NOT_FOUND") is None

    @pytest.mark.parametrize("pk", ["0", "abc", "-1", str(2**63), "99999999999999999999"])
    def test_bad_ids_are_not_found_for_every_method(self, admin, datasource, pk):
        assert_error(admin.patch(detail_url(pk), {"name": "x"}, format="json"), 404, "NOT_FOUND")
        assert_error(admin.delete(detail_url(pk)), 404, "NOT_FOUND")
        assert DataSource.objects.filter(pk=datasource.pk).exists()


# --- POST /data-sources --------------------------------------------------------------------


class TestCreate:
    @pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR])
    def test_admin_and_editor_create(self, member_client, organization, workspace, role):
        client = member_client(role, organization)
        body = body_for(
            workspace,
            name="Production PostgreSQL",
            description="Main production database",
            schema_name="public",
            tags=["production", "database"],
        )
        data = assert_success(client.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        datasource = DataSource.objects.get()
        assert data == representation(datasource)
        assert data == {
            "id": datasource.id,
            "organization_id": organization.id,
            "workspace_id": workspace.id,
            "name": "Production PostgreSQL",
            "type": "postgresql",
            "description": "Main production database",
            "host": "db.example.com",
            "port": 5432,
            "database_name": "analytics",
            "schema_name": "public",
            "file_path": None,
            "use_ssh_tunnel": False,
            "ssh_host": None,
            "ssh_port": None,
            "status": "inactive",
            "last_tested_at": None,
            "last_successful_connection_at": None,
            "schema_discovered_at": None,
            "schema_auto_refresh": True,
            "tags": ["production", "database"],
            "created_at": data["created_at"],
            "updated_at": data["updated_at"],
        }
        assert TIMESTAMP.fullmatch(data["created_at"])
        assert TIMESTAMP.fullmatch(data["updated_at"])

    def test_viewer_is_forbidden(self, viewer, workspace):
        response = viewer.post(DATA_SOURCES_URL, body_for(workspace), format="json")
        assert assert_error(response, 403, "FORBIDDEN") is None
        assert not DataSource.objects.exists()

    def test_trailing_slash_works(self, admin, workspace):
        assert_success(admin.post(DATA_SOURCES_URL + "/", body_for(workspace), format="json"), 201, CREATED)
        assert DataSource.objects.count() == 1

    def test_server_owned_fields_are_ignored(self, admin, organization, other_organization, workspace):
        body = body_for(
            workspace,
            id=987654,
            organization_id=other_organization.id,
            status="active",
            last_tested_at="2024-12-01T10:00:00Z",
            last_successful_connection_at="2024-12-01T10:00:00Z",
            schema_discovered_at="2024-12-01T09:00:00Z",
            created_at="2000-01-01T00:00:00Z",
            updated_at="2000-01-01T00:00:00Z",
            unknown_field="ignored",
        )
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        datasource = DataSource.objects.get()
        assert datasource.id != 987654
        assert datasource.organization_id == organization.id
        assert datasource.status == DataSourceStatus.INACTIVE
        assert datasource.last_tested_at is None
        assert datasource.last_successful_connection_at is None
        assert datasource.schema_discovered_at is None
        assert datasource.created_at.year > 2000
        assert data == representation(datasource)

    def test_organization_is_the_one_named_by_the_header(self, member_client, organization, other_organization):
        client = member_client(Role.EDITOR, organization)
        client.user.memberships.create(organization=other_organization, role=Role.ADMIN)
        other_workspace = WorkspaceFactory.create(organization=other_organization)
        response = client.post(
            DATA_SOURCES_URL,
            body_for(other_workspace, organization_id=organization.id),
            format="json",
            HTTP_X_ORGANIZATION_ID=str(other_organization.id),
        )
        data = assert_success(response, 201, CREATED)
        assert data["organization_id"] == other_organization.id
        assert DataSource.objects.get().organization_id == other_organization.id

    def test_workspace_id_is_required(self, admin, workspace):
        body = body_for(workspace)
        del body["workspace_id"]
        assert_validation_error(
            admin.post(DATA_SOURCES_URL, body, format="json"), {"workspace_id": ["This field is required."]}
        )

    def test_other_organizations_workspace_is_refused_like_a_missing_one(self, admin, other_organization):
        foreign = WorkspaceFactory.create(organization=other_organization)
        missing_id = foreign.id + 1000
        assert_validation_error(
            admin.post(DATA_SOURCES_URL, body_for(foreign), format="json"),
            {"workspace_id": [f"No such workspace in your organization: {foreign.id}."]},
        )
        response = admin.post(DATA_SOURCES_URL, {**body_for(foreign), "workspace_id": missing_id}, format="json")
        assert_validation_error(response, {"workspace_id": [f"No such workspace in your organization: {missing_id}."]})
        assert not DataSource.objects.exists()

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (None, "This field may not be null."),
            (True, "Expected a positive integer id, got bool."),
            (1.5, "Expected a positive integer id, got float."),
            ([1], "Expected a positive integer id, got list."),
            ("abc", "No such workspace in your organization: abc."),
            ("-1", "No such workspace in your organization: -1."),
            (0, "No such workspace in your organization: 0."),
            (2**63, f"No such workspace in your organization: {2**63}."),
        ],
    )
    def test_workspace_id_of_the_wrong_shape(self, admin, workspace, value, message):
        response = admin.post(DATA_SOURCES_URL, {**body_for(workspace), "workspace_id": value}, format="json")
        assert_validation_error(response, {"workspace_id": [message]})

    def test_workspace_id_as_a_numeric_string_is_accepted(self, admin, workspace):
        body = {**body_for(workspace), "workspace_id": str(workspace.id)}
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        assert data["workspace_id"] == workspace.id

    def test_name_is_trimmed(self, admin, workspace):
        data = assert_success(
            admin.post(DATA_SOURCES_URL, body_for(workspace, name="  Sales DB \t"), format="json"), 201, CREATED
        )
        assert data["name"] == "Sales DB"
        assert DataSource.objects.get().name == "Sales DB"

    def test_name_of_255_characters_after_trimming_is_accepted(self, admin, workspace):
        name = "n" * 255
        data = assert_success(
            admin.post(DATA_SOURCES_URL, body_for(workspace, name=f"   {name}   "), format="json"), 201, CREATED
        )
        assert data["name"] == name

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("", "This field may not be blank."),
            ("   ", "This field may not be blank."),
            ("\t\n", "This field may not be blank."),
            (None, "This field may not be null."),
            ("n" * 256, "Ensure this field has no more than 255 characters."),
            (123, "Not a valid string."),
            (True, "Not a valid string."),
            (["a"], "Not a valid string."),
        ],
    )
    def test_invalid_names(self, admin, workspace, name, message):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, name=name), format="json")
        assert_validation_error(response, {"name": [message]})
        assert not DataSource.objects.exists()

    def test_name_and_type_are_required(self, admin, workspace):
        response = admin.post(DATA_SOURCES_URL, {"workspace_id": workspace.id}, format="json")
        assert_validation_error(response, {"name": ["This field is required."], "type": ["This field is required."]})

    def test_name_is_unique_per_organization_case_insensitively(self, admin, workspace):
        DataSourceFactory.create(workspace=workspace, name="Sales DB")
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, name="  sALES db "), format="json")
        assert assert_error(response, 409, "CONFLICT") == {"name": [NAME_TAKEN]}
        assert response.json()["message"] == NAME_TAKEN
        assert DataSource.objects.count() == 1

    def test_name_taken_in_another_workspace_of_the_organization_conflicts(self, admin, organization, workspace):
        DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=organization), name="Sales DB")
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, name="Sales DB"), format="json")
        assert assert_error(response, 409, "CONFLICT") == {"name": [NAME_TAKEN]}

    def test_same_name_in_another_organization_is_fine(self, admin, workspace, other_datasource):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, name=other_datasource.name), format="json")
        data = assert_success(response, 201, CREATED)
        assert data["name"] == other_datasource.name
        assert DataSource.objects.filter(name=other_datasource.name).count() == 2

    @pytest.mark.parametrize("type_", list(REQUIRED_BY_TYPE))
    def test_every_type_with_its_required_fields(self, admin, workspace, type_):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, type_), format="json")
        data = assert_success(response, 201, CREATED)
        assert data == representation(DataSource.objects.get())
        assert data["type"] == type_
        assert data["port"] == DEFAULT_PORT_BY_TYPE[type_]
        for field, value in REQUIRED_BY_TYPE[type_].items():
            assert data[field] == value

    def test_the_type_list_is_the_contracts(self):
        assert set(REQUIRED_BY_TYPE) == set(DataSourceType.values)

    @pytest.mark.parametrize("type_", ["postgresql", "mysql", "mariadb", "sqlserver", "oracle", "redshift", "mongodb"])
    def test_explicit_port_wins_over_the_default(self, admin, workspace, type_):
        data = assert_success(
            admin.post(DATA_SOURCES_URL, body_for(workspace, type_, port=15000), format="json"), 201, CREATED
        )
        assert data["port"] == 15000

    def test_null_port_gets_the_default(self, admin, workspace):
        data = assert_success(
            admin.post(DATA_SOURCES_URL, body_for(workspace, "mysql", port=None), format="json"), 201, CREATED
        )
        assert data["port"] == 3306

    @pytest.mark.parametrize(
        ("type_", "missing_fields"),
        [(type_, (field,)) for type_, required in REQUIRED_BY_TYPE.items() for field in required]
        + [(type_, tuple(required)) for type_, required in REQUIRED_BY_TYPE.items() if len(required) > 1],
    )
    def test_missing_required_fields_are_400_by_field(self, admin, workspace, type_, missing_fields):
        body = body_for(workspace, type_)
        for field in missing_fields:
            del body[field]
        details = assert_error(admin.post(DATA_SOURCES_URL, body, format="json"), 400, "VALIDATION_ERROR")
        assert set(details) == set(missing_fields)
        for field in missing_fields:
            assert len(details[field]) == 1
            assert details[field][0].startswith("This field is required")
        assert not DataSource.objects.exists()

    @pytest.mark.parametrize("blank", [None, "", "   "])
    def test_blank_required_field_counts_as_missing(self, admin, workspace, blank):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, "csv", file_path=blank), format="json")
        assert_validation_error(response, {"file_path": ["This field is required for type csv."]})

    def test_required_messages_name_the_type(self, admin, workspace):
        response = admin.post(
            DATA_SOURCES_URL, {"workspace_id": workspace.id, "name": "x", "type": "oracle"}, format="json"
        )
        assert_validation_error(
            response,
            {
                "host": ["This field is required for type oracle."],
                "database_name": ["This field is required for type oracle."],
            },
        )
        response = admin.post(
            DATA_SOURCES_URL, {"workspace_id": workspace.id, "name": "x", "type": "bigquery"}, format="json"
        )
        assert_validation_error(
            response, {"database_name": ["This field is required for type bigquery (the project id)."]}
        )

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("port", 0, "Ensure this value is greater than or equal to 1."),
            ("port", -1, "Ensure this value is greater than or equal to 1."),
            ("port", 65536, "Ensure this value is less than or equal to 65535."),
            ("port", "x", "A valid integer is required."),
            ("port", True, "A valid integer is required."),
            ("port", 1.5, "A valid integer is required."),
            ("ssh_port", 0, "Ensure this value is greater than or equal to 1."),
            ("ssh_port", 65536, "Ensure this value is less than or equal to 65535."),
            ("ssh_port", "x", "A valid integer is required."),
        ],
    )
    def test_invalid_ports(self, admin, workspace, field, value, message):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, **{field: value}), format="json")
        assert_validation_error(response, {field: [message]})

    @pytest.mark.parametrize("port", [1, 65535])
    def test_port_bounds_are_accepted(self, admin, workspace, port):
        data = assert_success(
            admin.post(DATA_SOURCES_URL, body_for(workspace, port=port, ssh_port=port), format="json"), 201, CREATED
        )
        assert (data["port"], data["ssh_port"]) == (port, port)

    def test_ssh_tunnel_needs_ssh_host(self, admin, workspace):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, use_ssh_tunnel=True), format="json")
        assert_validation_error(response, {"ssh_host": ["This field is required when use_ssh_tunnel is true."]})

    def test_ssh_port_defaults_to_22(self, admin, workspace):
        body = body_for(workspace, use_ssh_tunnel=True, ssh_host="bastion.example.com", ssh_username="tunnel")
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        assert (data["use_ssh_tunnel"], data["ssh_host"], data["ssh_port"]) == (True, "bastion.example.com", 22)

    def test_explicit_ssh_port_is_kept(self, admin, workspace):
        body = body_for(workspace, use_ssh_tunnel=True, ssh_host="bastion.example.com", ssh_port=2222)
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        assert data["ssh_port"] == 2222

    def test_ssh_fields_without_a_tunnel_need_nothing(self, admin, workspace):
        data = assert_success(admin.post(DATA_SOURCES_URL, body_for(workspace), format="json"), 201, CREATED)
        assert (data["use_ssh_tunnel"], data["ssh_host"], data["ssh_port"]) == (False, None, None)

    def test_tags_are_trimmed_lower_cased_and_deduplicated(self, admin, workspace):
        body = body_for(workspace, tags=["  Production ", "DATABASE", "production", "database ", "EU-West"])
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        assert data["tags"] == ["production", "database", "eu-west"]
        assert DataSource.objects.get().tags == ["production", "database", "eu-west"]

    def test_tags_default_to_an_empty_list(self, admin, workspace):
        data = assert_success(admin.post(DATA_SOURCES_URL, body_for(workspace), format="json"), 201, CREATED)
        assert data["tags"] == []

    def test_twenty_tags_of_fifty_characters_are_accepted(self, admin, workspace):
        tags = [f"{i:02d}".ljust(50, "t") for i in range(20)]
        data = assert_success(admin.post(DATA_SOURCES_URL, body_for(workspace, tags=tags), format="json"), 201, CREATED)
        assert data["tags"] == tags

    @pytest.mark.parametrize(
        ("tags", "message"),
        [
            ([f"tag{i}" for i in range(21)], "At most 20 tags are allowed."),
            (["t" * 51], "Each tag must be 1 to 50 characters long."),
            ([""], "Each tag must be 1 to 50 characters long."),
            (["   "], "Each tag must be 1 to 50 characters long."),
            (["ok", 1], "Each tag must be a string."),
            ([None], "Each tag must be a string."),
            ([["nested"]], "Each tag must be a string."),
            ("x", "Expected a list of strings."),
            ({"a": "b"}, "Expected a list of strings."),
            (7, "Expected a list of strings."),
            (None, "This field may not be null."),
            (["bad\x00tag"], "Tags cannot contain null characters."),
        ],
    )
    def test_invalid_tags(self, admin, workspace, tags, message):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, tags=tags), format="json")
        assert_validation_error(response, {"tags": [message]})

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("type", "mssql", '"mssql" is not a valid choice.'),
            ("type", "PostgreSQL", '"PostgreSQL" is not a valid choice.'),
            ("type", "", '"" is not a valid choice.'),
            ("type", None, "This field may not be null."),
            ("description", 5, "Not a valid string."),
            ("host", 5, "Not a valid string."),
            ("use_ssh_tunnel", "maybe", "Must be a valid boolean."),
            ("schema_auto_refresh", None, "This field may not be null."),
        ],
    )
    def test_invalid_field_values(self, admin, workspace, field, value, message):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, **{field: value}), format="json")
        assert_validation_error(response, {field: [message]})

    @pytest.mark.parametrize("field", STRING_FIELDS)
    def test_nul_bytes_in_string_fields_are_refused(self, admin, workspace, field):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, **{field: "bad\x00value"}), format="json")
        assert_validation_error(response, {field: ["Null characters are not allowed."]})
        assert not DataSource.objects.exists()

    def test_several_errors_are_reported_together(self, admin, workspace):
        body = {"workspace_id": workspace.id, "name": "", "type": "csv", "port": 0, "tags": "x"}
        assert_validation_error(
            admin.post(DATA_SOURCES_URL, body, format="json"),
            {
                "name": ["This field may not be blank."],
                "port": ["Ensure this value is greater than or equal to 1."],
                "tags": ["Expected a list of strings."],
            },
        )

    def test_non_object_body_is_a_validation_error(self, admin):
        details = assert_error(admin.post(DATA_SOURCES_URL, [1, 2], format="json"), 400, "VALIDATION_ERROR")
        assert details == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}

    def test_optional_strings_blank_are_stored_as_null(self, admin, workspace):
        body = body_for(workspace, schema_name="", ssh_host="  ", description=None)
        data = assert_success(admin.post(DATA_SOURCES_URL, body, format="json"), 201, CREATED)
        assert (data["schema_name"], data["ssh_host"], data["description"]) == (None, None, None)


@pytest.mark.django_db(transaction=True)
class TestConcurrentCreates:
    THREADS = 8

    def test_racing_duplicate_creates_give_one_201_and_the_rest_409(self, member_client, organization, workspace):
        if connection.vendor == "sqlite":
            pytest.skip("SQLite serializes writers with a database lock; the race needs PostgreSQL.")
        users = [member_client(Role.EDITOR, organization).user for _ in range(self.THREADS)]
        barrier = threading.Barrier(self.THREADS)
        results: list[Any] = [None] * self.THREADS

        def create(index: int) -> None:
            try:
                client: APIClient = bearer_client(users[index])
                barrier.wait(timeout=30)
                # Same name, differing only in case: the rule is case-insensitive.
                name = "Race Condition DB" if index % 2 else "race condition db"
                results[index] = client.post(DATA_SOURCES_URL, body_for(workspace, name=name), format="json")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=create, args=(index,)) for index in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert all(response is not None for response in results)
        created = [response for response in results if response.status_code == 201]
        conflicts = [response for response in results if response.status_code == 409]
        assert len(created) == 1, [response.status_code for response in results]
        assert len(conflicts) == self.THREADS - 1
        assert_success(created[0], 201, CREATED)
        for response in conflicts:
            assert assert_error(response, 409, "CONFLICT") == {"name": [NAME_TAKEN]}
        assert DataSource.objects.filter(organization=organization).count() == 1


# --- PATCH /data-sources/{id} --------------------------------------------------------------


class TestUpdate:
    @pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR])
    def test_admin_and_editor_update_partially(self, member_client, organization, datasource, role):
        client = member_client(role, organization)
        before = representation(datasource)
        response = client.patch(detail_url(datasource.id), {"description": "Orders, replicated"}, format="json")
        data = assert_success(response, 200, UPDATED)
        assert data == representation(datasource)
        assert data == {**before, "description": "Orders, replicated", "updated_at": data["updated_at"]}

    def test_a_patch_keeps_what_another_request_changed_after_it_loaded_the_row(self, editor, datasource, monkeypatch):
        found = DataSourceViewSet.get_object

        def found_then_changed_by_another_request(view: DataSourceViewSet) -> DataSource:
            row = found(view)
            DataSource.objects.filter(pk=row.pk).update(description="theirs", port=6543)
            return row

        monkeypatch.setattr(DataSourceViewSet, "get_object", found_then_changed_by_another_request)
        data = assert_success(editor.patch(detail_url(datasource.id), {"name": "Mine"}, format="json"), 200, UPDATED)

        assert (data["name"], data["description"], data["port"]) == ("Mine", "theirs", 6543)
        assert data == representation(datasource)

    def test_viewer_is_forbidden(self, viewer, datasource):
        before = representation(datasource)
        response = viewer.patch(detail_url(datasource.id), {"name": "Renamed"}, format="json")
        assert assert_error(response, 403, "FORBIDDEN") is None
        assert representation(datasource) == before

    def test_trailing_slash_works(self, editor, datasource):
        data = assert_success(
            editor.patch(detail_url(datasource.id) + "/", {"name": "Renamed"}, format="json"), 200, UPDATED
        )
        assert data["name"] == "Renamed"

    def test_empty_body_changes_nothing(self, editor, datasource):
        before = representation(datasource)
        data = assert_success(editor.patch(detail_url(datasource.id), {}, format="json"), 200, UPDATED)
        assert {**data, "updated_at": None} == {**before, "updated_at": None}

    def test_other_organizations_row_is_not_found(self, admin, other_datasource):
        before = representation(other_datasource)
        response = admin.patch(detail_url(other_datasource.id), {"name": "Hijacked"}, format="json")
        assert_error(response, 404, "NOT_FOUND")
        assert response.json() == NOT_FOUND_BODY
        assert representation(other_datasource) == before

    def test_server_owned_fields_are_ignored(self, admin, datasource, other_organization):
        before = representation(datasource)
        body = {
            "id": datasource.id + 100,
            "organization_id": other_organization.id,
            "status": "active",
            "last_tested_at": "2024-12-01T10:00:00Z",
            "created_at": "2000-01-01T00:00:00Z",
        }
        data = assert_success(admin.patch(detail_url(datasource.id), body, format="json"), 200, UPDATED)
        assert {**data, "updated_at": None} == {**before, "updated_at": None}

    def test_changing_type_validates_the_resulting_object(self, editor, datasource):
        before = representation(datasource)
        response = editor.patch(detail_url(datasource.id), {"type": "csv"}, format="json")
        assert_validation_error(response, {"file_path": ["This field is required for type csv."]})
        assert representation(datasource) == before

    def test_changing_type_with_its_fields_succeeds(self, editor, datasource):
        response = editor.patch(detail_url(datasource.id), {"type": "csv", "file_path": "/data/x.csv"}, format="json")
        data = assert_success(response, 200, UPDATED)
        assert (data["type"], data["file_path"]) == ("csv", "/data/x.csv")

    def test_clearing_a_required_field_is_refused(self, editor, datasource):
        response = editor.patch(detail_url(datasource.id), {"host": None}, format="json")
        assert_validation_error(response, {"host": ["This field is required for type postgresql."]})
        assert DataSource.objects.get(pk=datasource.pk).host == "db.example.com"

    def test_enabling_the_tunnel_needs_an_ssh_host(self, editor, datasource):
        response = editor.patch(detail_url(datasource.id), {"use_ssh_tunnel": True}, format="json")
        assert_validation_error(response, {"ssh_host": ["This field is required when use_ssh_tunnel is true."]})
        response = editor.patch(
            detail_url(datasource.id), {"use_ssh_tunnel": True, "ssh_host": "bastion"}, format="json"
        )
        data = assert_success(response, 200, UPDATED)
        assert (data["use_ssh_tunnel"], data["ssh_host"], data["ssh_port"]) == (True, "bastion", 22)

    def test_clearing_the_port_restores_the_default(self, editor, datasource):
        DataSource.objects.filter(pk=datasource.pk).update(port=6543)
        data = assert_success(editor.patch(detail_url(datasource.id), {"port": None}, format="json"), 200, UPDATED)
        assert data["port"] == 5432

    def test_name_is_trimmed_and_validated(self, editor, datasource):
        data = assert_success(
            editor.patch(detail_url(datasource.id), {"name": "  New name "}, format="json"), 200, UPDATED
        )
        assert data["name"] == "New name"
        assert_validation_error(
            editor.patch(detail_url(datasource.id), {"name": "   "}, format="json"),
            {"name": ["This field may not be blank."]},
        )
        assert_validation_error(
            editor.patch(detail_url(datasource.id), {"name": None}, format="json"),
            {"name": ["This field may not be null."]},
        )

    def test_renaming_to_an_existing_name_conflicts_case_insensitively(self, editor, workspace, datasource):
        DataSourceFactory.create(workspace=workspace, name="Billing DB")
        response = editor.patch(detail_url(datasource.id), {"name": "BILLING db"}, format="json")
        assert assert_error(response, 409, "CONFLICT") == {"name": [NAME_TAKEN]}
        assert response.json()["message"] == NAME_TAKEN
        assert DataSource.objects.get(pk=datasource.pk).name == "Orders DB"

    def test_renaming_to_its_own_name_in_another_case_is_fine(self, editor, datasource):
        data = assert_success(
            editor.patch(detail_url(datasource.id), {"name": "ORDERS db"}, format="json"), 200, UPDATED
        )
        assert data["name"] == "ORDERS db"

    def test_renaming_to_another_organizations_name_is_fine(self, editor, datasource, other_datasource):
        response = editor.patch(detail_url(datasource.id), {"name": other_datasource.name}, format="json")
        assert assert_success(response, 200, UPDATED)["name"] == other_datasource.name

    def test_moving_to_another_workspace_of_the_organization(self, editor, organization, datasource):
        target = WorkspaceFactory.create(organization=organization)
        data = assert_success(
            editor.patch(detail_url(datasource.id), {"workspace_id": target.id}, format="json"), 200, UPDATED
        )
        assert data["workspace_id"] == target.id

    def test_moving_to_another_organizations_workspace_is_refused(self, editor, datasource, other_organization):
        foreign = WorkspaceFactory.create(organization=other_organization)
        response = editor.patch(detail_url(datasource.id), {"workspace_id": foreign.id}, format="json")
        assert_validation_error(response, {"workspace_id": [f"No such workspace in your organization: {foreign.id}."]})
        assert DataSource.objects.get(pk=datasource.pk).workspace_id == datasource.workspace_id

    def test_tags_are_replaced_and_normalized(self, editor, datasource):
        data = assert_success(
            editor.patch(detail_url(datasource.id), {"tags": [" EU ", "eu", "Finance"]}, format="json"), 200, UPDATED
        )
        assert data["tags"] == ["eu", "finance"]
        assert_validation_error(
            editor.patch(detail_url(datasource.id), {"tags": [1]}, format="json"),
            {"tags": ["Each tag must be a string."]},
        )

    @pytest.mark.parametrize("field", STRING_FIELDS)
    def test_nul_bytes_are_refused(self, editor, datasource, field):
        response = editor.patch(detail_url(datasource.id), {field: "x\x00y"}, format="json")
        assert_validation_error(response, {field: ["Null characters are not allowed."]})

    def test_put_is_not_allowed(self, admin, datasource):
        before = representation(datasource)
        response = admin.put(detail_url(datasource.id), body_for(datasource.workspace, name="Put"), format="json")
        assert assert_error(response, 405, "METHOD_NOT_ALLOWED") is None
        assert response.json()["message"] == 'Method "PUT" not allowed.'
        assert representation(datasource) == before

    def test_put_on_the_collection_is_not_allowed(self, admin, workspace):
        response = admin.put(DATA_SOURCES_URL, body_for(workspace), format="json")
        assert_error(response, 405, "METHOD_NOT_ALLOWED")


# --- DELETE /data-sources/{id} -------------------------------------------------------------


class TestDelete:
    def test_admin_deletes(self, admin, datasource):
        response = admin.delete(detail_url(datasource.id))
        assert assert_success(response, 200, DELETED) is None
        assert not DataSource.objects.filter(pk=datasource.pk).exists()
        assert_error(admin.get(detail_url(datasource.id)), 404, "NOT_FOUND")

    def test_trailing_slash_works(self, admin, datasource):
        assert assert_success(admin.delete(detail_url(datasource.id) + "/"), 200, DELETED) is None
        assert not DataSource.objects.exists()

    @pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
    def test_editor_and_viewer_are_forbidden(self, member_client, organization, datasource, role):
        response = member_client(role, organization).delete(detail_url(datasource.id))
        assert assert_error(response, 403, "FORBIDDEN") is None
        assert DataSource.objects.filter(pk=datasource.pk).exists()

    def test_other_organizations_row_is_not_found_and_kept(self, admin, other_datasource):
        response = admin.delete(detail_url(other_datasource.id))
        assert_error(response, 404, "NOT_FOUND")
        assert response.json() == NOT_FOUND_BODY
        assert DataSource.objects.filter(pk=other_datasource.pk).exists()

    def test_deleting_twice_is_not_found_the_second_time(self, admin, datasource):
        assert_success(admin.delete(detail_url(datasource.id)), 200, DELETED)
        response = admin.delete(detail_url(datasource.id))
        assert response.json() == NOT_FOUND_BODY

    def test_losing_a_race_with_another_delete_is_not_found(self, admin, datasource, monkeypatch):
        # Both requests found the row; the other one's DELETE ran first.
        found = DataSourceViewSet.get_object

        def found_then_deleted_by_another_request(view: DataSourceViewSet) -> DataSource:
            row = found(view)
            DataSource.objects.filter(pk=row.pk).delete()
            return row

        monkeypatch.setattr(DataSourceViewSet, "get_object", found_then_deleted_by_another_request)
        response = admin.delete(detail_url(datasource.id))

        assert response.json() == NOT_FOUND_BODY
        assert response.status_code == 404


# --- Credentials --------------------------------------------------------------------------


class TestCredentials:
    def _create(self, client: APIClient, workspace: Any, **overrides: Any) -> dict[str, Any]:
        credentials = {
            "username": "reporting",
            "password": PASSWORD,
            "use_ssh_tunnel": True,
            "ssh_host": "bastion.example.com",
            "ssh_username": "tunnel",
            "ssh_private_key": PRIVATE_KEY,
        }
        body = body_for(workspace, **{**credentials, **overrides})
        response = client.post(DATA_SOURCES_URL, body, format="json")
        self._assert_no_secret(response)
        return assert_success(response, 201, CREATED)

    @staticmethod
    def _assert_no_secret(response: Any) -> None:
        content = response.content.decode()
        for secret in (PASSWORD, PRIVATE_KEY, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"):
            assert secret not in content
        if response.status_code < 300 and response.json()["data"] is not None:
            data = response.json()["data"]
            for item in data.get("items", [data]):
                assert not set(item) & {"username", "password", "ssh_username", "ssh_private_key"}

    def test_credentials_are_stored_but_never_returned(self, admin, viewer, workspace):
        data = self._create(admin, workspace)
        datasource = DataSource.objects.get(pk=data["id"])
        assert datasource.username == "reporting"
        assert datasource.password == PASSWORD
        assert datasource.ssh_username == "tunnel"
        assert datasource.ssh_private_key == PRIVATE_KEY
        for response in (
            viewer.get(detail_url(datasource.id)),
            viewer.get(DATA_SOURCES_URL),
            admin.patch(detail_url(datasource.id), {"description": "changed"}, format="json"),
            admin.patch(detail_url(datasource.id), {"password": PASSWORD}, format="json"),
        ):
            assert response.status_code == 200
            self._assert_no_secret(response)

    def test_secrets_are_encrypted_at_rest(self, admin, workspace):
        data = self._create(admin, workspace)
        for column, secret in (("password", PASSWORD), ("ssh_private_key", PRIVATE_KEY)):
            stored = raw_column(data["id"], column)
            assert stored
            assert secret not in stored
            assert secret[:12] not in stored
        datasource = DataSource.objects.get(pk=data["id"])
        assert (datasource.password, datasource.ssh_private_key) == (PASSWORD, PRIVATE_KEY)

    def test_password_whitespace_is_kept(self, admin, workspace):
        data = self._create(admin, workspace, password="  spaced out  ")
        assert DataSource.objects.get(pk=data["id"]).password == "  spaced out  "

    def test_secrets_are_not_echoed_in_errors(self, admin, workspace):
        bad_bodies = [
            body_for(workspace, name="", password=PASSWORD, ssh_private_key=PRIVATE_KEY),
            body_for(workspace, password=PASSWORD + "\x00", ssh_private_key=PRIVATE_KEY + "\x00"),
            body_for(workspace, password=PASSWORD * 100, ssh_private_key=PRIVATE_KEY * 500),
            body_for(workspace, "csv", file_path=None, password=PASSWORD, ssh_private_key=PRIVATE_KEY),
        ]
        for body in bad_bodies:
            response = admin.post(DATA_SOURCES_URL, body, format="json")
            assert_error(response, 400, "VALIDATION_ERROR")
            self._assert_no_secret(response)
        self._create(admin, workspace, name="Taken")
        response = admin.post(
            DATA_SOURCES_URL,
            body_for(workspace, name="taken", password=PASSWORD, ssh_private_key=PRIVATE_KEY),
            format="json",
        )
        assert_error(response, 409, "CONFLICT")
        self._assert_no_secret(response)

    def test_secret_too_long_is_refused(self, admin, workspace):
        response = admin.post(DATA_SOURCES_URL, body_for(workspace, password="p" * 1025), format="json")
        assert_validation_error(response, {"password": ["Ensure this field has no more than 1024 characters."]})

    def test_omitted_credentials_keep_their_stored_values(self, editor, workspace):
        data = self._create(editor, workspace)
        response = editor.patch(detail_url(data["id"]), {"name": "Renamed", "host": "db2.example.com"}, format="json")
        self._assert_no_secret(response)
        assert_success(response, 200, UPDATED)
        datasource = DataSource.objects.get(pk=data["id"])
        assert (datasource.username, datasource.password) == ("reporting", PASSWORD)
        assert (datasource.ssh_username, datasource.ssh_private_key) == ("tunnel", PRIVATE_KEY)

    @pytest.mark.parametrize("cleared", [None, ""])
    def test_null_or_empty_clears_a_credential(self, editor, workspace, cleared):
        data = self._create(editor, workspace)
        body = {field: cleared for field in DataSource.CREDENTIAL_FIELDS}
        assert_success(editor.patch(detail_url(data["id"]), body, format="json"), 200, UPDATED)
        datasource = DataSource.objects.get(pk=data["id"])
        for field in DataSource.CREDENTIAL_FIELDS:
            assert getattr(datasource, field) is None
            assert raw_column(data["id"], field) is None

    def test_one_credential_changes_alone(self, editor, workspace):
        data = self._create(editor, workspace)
        response = editor.patch(detail_url(data["id"]), {"password": "rotated-password"}, format="json")
        assert_success(response, 200, UPDATED)
        assert "rotated-password" not in response.content.decode()
        datasource = DataSource.objects.get(pk=data["id"])
        assert datasource.password == "rotated-password"
        assert "rotated-password" not in raw_column(data["id"], "password")
        assert (datasource.username, datasource.ssh_private_key) == ("reporting", PRIVATE_KEY)

    @pytest.mark.parametrize("field", DataSource.CREDENTIAL_FIELDS)
    def test_credentials_must_be_strings(self, admin, workspace, field):
        response = admin.post(DATA_SOURCES_URL, {**body_for(workspace), field: 12345}, format="json")
        assert_validation_error(response, {field: ["Not a valid string."]})
