"""GET /api/v1/data-sources (contract §3): every query parameter, valid and invalid.

Each test asserts the whole envelope. An autouse fixture puts rows in another
organization that match every filter, search and sort used here, and the tests
assert exact ids and totals, so any row leaking across organizations fails them.
"""

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from datasources.api.serializers import DataSourceSerializer
from datasources.models import DEFAULT_PORTS, FILE_PATH_TYPES, DataSource, DataSourceStatus, DataSourceType
from organizations.models import Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, MemberClient, assert_error, assert_success, bearer_client
from tests.factories import DataSourceFactory, MembershipFactory, WorkspaceFactory

MESSAGE = "Data sources retrieved successfully"
CREATED = "Data source created successfully"
UPDATED = "Data source updated successfully"
DELETED = "Data source deleted successfully"
MAX_BIGINT = 2**63 - 1

ITEM_KEYS = {
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
CREDENTIAL_KEYS = {"username", "password", "ssh_username", "ssh_private_key"}
TIMESTAMP_KEYS = ("last_tested_at", "last_successful_connection_at", "schema_discovered_at", "created_at", "updated_at")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PAGINATION_KEYS = {"page", "page_size", "total_items", "total_pages", "has_next", "has_previous"}

# The contract's list (§3), written out here rather than read from the view.
SORT_FIELDS = [
    "id",
    "name",
    "type",
    "status",
    "workspace_id",
    "host",
    "port",
    "database_name",
    "schema_name",
    "file_path",
    "use_ssh_tunnel",
    "ssh_host",
    "ssh_port",
    "schema_auto_refresh",
    "last_tested_at",
    "last_successful_connection_at",
    "schema_discovered_at",
    "created_at",
    "updated_at",
]


def at(hour: int, minute: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2024, 12, 1, hour, minute, 0, microsecond, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------------


def assert_data_source_shape(item: dict[str, Any]) -> None:
    assert set(item) == ITEM_KEYS
    assert not CREDENTIAL_KEYS & set(item)
    assert isinstance(item["id"], int) and isinstance(item["organization_id"], int)
    assert isinstance(item["workspace_id"], int)
    assert isinstance(item["tags"], list) and all(isinstance(tag, str) for tag in item["tags"])
    assert isinstance(item["use_ssh_tunnel"], bool) and isinstance(item["schema_auto_refresh"], bool)
    for key in TIMESTAMP_KEYS:
        assert item[key] is None or TIMESTAMP.match(item[key]), (key, item[key])
    assert item["created_at"] is not None and item["updated_at"] is not None


def list_data(
    client: APIClient,
    params: dict[str, Any] | None = None,
    path: str = DATA_SOURCES_URL,
    headers: dict[str, str] | None = None,
) -> Any:
    """GET the list, assert the whole success envelope and its invariants; return `data`."""
    return assert_list_envelope(client.get(path, params or {}, headers=headers))


def assert_list_envelope(response: Any) -> Any:
    data = assert_success(response, 200, MESSAGE)
    assert set(data) == {"items", "pagination"}
    assert isinstance(data["items"], list)
    for item in data["items"]:
        assert_data_source_shape(item)
    pagination = data["pagination"]
    assert set(pagination) == PAGINATION_KEYS
    assert len(data["items"]) <= pagination["page_size"]
    return data


def ids(data: Any) -> list[int]:
    return [item["id"] for item in data["items"]]


def assert_page(data: Any, expected_ids: list[int], *, page: int = 1, page_size: int = 20) -> None:
    """A single-page answer holding exactly `expected_ids`, in that order."""
    total_pages = math.ceil(len(expected_ids) / page_size)
    assert ids(data) == expected_ids
    assert data["pagination"] == {
        "page": page,
        "page_size": page_size,
        "total_items": len(expected_ids),
        "total_pages": total_pages,
        "has_next": page < total_pages,
        "has_previous": page > 1,
    }


def assert_invalid(client: APIClient, params: dict[str, Any], field: str) -> list[str]:
    """400 VALIDATION_ERROR whose details name exactly `field`; returns its messages."""
    details = assert_error(client.get(DATA_SOURCES_URL, params), 400, "VALIDATION_ERROR")
    assert list(details) == [field]
    assert details[field] and all(isinstance(message, str) and message for message in details[field])
    return details[field]


def make_source(workspace: Workspace, type: str = DataSourceType.POSTGRESQL, **fields: Any) -> DataSource:
    """A data source whose connection fields fit its type (as the services would store it)."""
    if type in FILE_PATH_TYPES:
        defaults: dict[str, Any] = {"host": None, "port": None, "database_name": None, "file_path": f"/data/{type}"}
    elif type == DataSourceType.BIGQUERY:
        defaults = {"host": None, "port": None, "database_name": "my-project"}
    else:
        defaults = {"port": DEFAULT_PORTS.get(DataSourceType(type))}
    return DataSourceFactory.create(workspace=workspace, type=type, **{**defaults, **fields})


def set_timestamps(source: DataSource, **timestamps: datetime) -> None:
    # QuerySet.update() bypasses auto_now/auto_now_add, so created_at can be chosen.
    DataSource.objects.filter(pk=source.pk).update(**timestamps)


def newest_first(*sources: DataSource) -> list[int]:
    """The default order of rows created one after another: created_at desc, then id desc."""
    return sorted((source.id for source in sources), reverse=True)


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def api(admin_client_api: MemberClient) -> MemberClient:
    return admin_client_api


@pytest.fixture
def other_workspace(organization: Organization) -> Workspace:
    return WorkspaceFactory.create(organization=organization)


@pytest.fixture
def foreign_workspace(other_organization: Organization) -> Workspace:
    return WorkspaceFactory.create(organization=other_organization)


@pytest.fixture(autouse=True)
def foreign_sources(foreign_workspace: Workspace) -> list[DataSource]:
    """Another organization's rows, built to match what the tests filter, search and sort on."""
    return [
        make_source(
            foreign_workspace,
            name="Production warehouse",
            description="100% pii_data in C:\\exports, über alles",
            status=DataSourceStatus.ACTIVE,
            tags=["prod", "pii", "finance", "foreign-only"],
            last_tested_at=at(9),
            port=1,
        ),
        make_source(
            foreign_workspace,
            DataSourceType.CSV,
            name="Foreign csv",
            description="x" * 200,
            status=DataSourceStatus.FAILED,
            tags=["pii"],
        ),
        make_source(
            foreign_workspace,
            DataSourceType.MYSQL,
            name="alpha",
            status=DataSourceStatus.MAINTENANCE,
            tags=["prod"],
            last_tested_at=at(1),
        ),
    ]


# --- the data source object ----------------------------------------------------------


def test_item_is_exactly_the_contracts_data_source_object(api, organization, workspace):
    source = make_source(
        workspace,
        name="Production PostgreSQL",
        description="Main production database",
        host="db.example.com",
        port=5432,
        database_name="production",
        schema_name="public",
        status=DataSourceStatus.ACTIVE,
        last_tested_at=at(10),
        last_successful_connection_at=at(10),
        schema_discovered_at=at(9),
        schema_auto_refresh=True,
        tags=["production", "database"],
        username="reader",
        password="s3cret-Passw0rd",
        ssh_username="tunnel-user",
        ssh_private_key="-----BEGIN OPENSSH PRIVATE KEY-----secret",
    )
    set_timestamps(source, created_at=at(8, microsecond=123456), updated_at=at(10, microsecond=123456))

    data = list_data(api)

    assert data == {
        "items": [
            {
                "id": source.id,
                "organization_id": organization.id,
                "workspace_id": workspace.id,
                "name": "Production PostgreSQL",
                "type": "postgresql",
                "description": "Main production database",
                "host": "db.example.com",
                "port": 5432,
                "database_name": "production",
                "schema_name": "public",
                "file_path": None,
                "use_ssh_tunnel": False,
                "ssh_host": None,
                "ssh_port": None,
                "status": "active",
                "last_tested_at": "2024-12-01T10:00:00Z",
                "last_successful_connection_at": "2024-12-01T10:00:00Z",
                "schema_discovered_at": "2024-12-01T09:00:00Z",
                "schema_auto_refresh": True,
                "tags": ["production", "database"],
                "created_at": "2024-12-01T08:00:00Z",
                "updated_at": "2024-12-01T10:00:00Z",
            }
        ],
        "pagination": {
            "page": 1,
            "page_size": 20,
            "total_items": 1,
            "total_pages": 1,
            "has_next": False,
            "has_previous": False,
        },
    }


def test_a_list_reads_rows_as_column_dicts_not_model_instances(api, workspace, monkeypatch):
    make_source(workspace, name="Orders")

    def no_instance(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the list built a model instance")

    monkeypatch.setattr(DataSource, "from_db", classmethod(no_instance))

    for params in ({}, {"page_size": 1, "page": 1}, {"search": "ord", "sort_by": "name"}):
        assert ids(list_data(api, params))


@pytest.mark.owasp("API3")
def test_no_credential_appears_in_any_item(api, workspace):
    secrets = {
        "username": "cred-user-7f3a",
        "password": "cred-password-7f3a",
        "ssh_username": "cred-ssh-user-7f3a",
        "ssh_private_key": "cred-private-key-7f3a",
    }
    for index in range(3):
        make_source(workspace, use_ssh_tunnel=True, ssh_host="bastion", ssh_port=22, tags=[f"t{index}"], **secrets)

    for params in ({}, {"page_size": 1}, {"sort_by": "name", "sort_order": "asc"}, {"search": "data source"}):
        response = api.get(DATA_SOURCES_URL, params)
        data = assert_list_envelope(response)  # checks every item's keys
        assert len(data["items"]) == (1 if params.get("page_size") == 1 else 3)
        assert "7f3a" not in response.content.decode()


def test_null_timestamps_and_empty_tags_are_null_and_an_empty_list(api, workspace):
    source = make_source(workspace, tags=[])
    item = list_data(api)["items"][0]
    assert item["id"] == source.id
    assert item["tags"] == []
    assert item["last_tested_at"] is None
    assert item["last_successful_connection_at"] is None
    assert item["schema_discovered_at"] is None
    assert TIMESTAMP.match(item["created_at"]) and TIMESTAMP.match(item["updated_at"])


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_every_role_may_list(member_client, organization, workspace, role):
    source = make_source(workspace)
    assert_page(list_data(member_client(role, organization)), [source.id])


def test_without_a_token_is_401(db):
    response = APIClient().get(DATA_SOURCES_URL)
    assert assert_error(response, 401, "UNAUTHORIZED") is None
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_without_an_organization_is_403(user_without_organization):
    response = bearer_client(user_without_organization).get(DATA_SOURCES_URL)
    assert assert_error(response, 403, "FORBIDDEN") is None


# --- tenancy ---------------------------------------------------------------------------


def test_only_the_current_organizations_rows_are_listed_and_counted(api, workspace, foreign_sources):
    own = [make_source(workspace) for _ in range(2)]
    data = list_data(api)
    assert_page(data, newest_first(*own))
    assert not {source.id for source in foreign_sources} & set(ids(data))


@pytest.mark.parametrize(
    "params",
    [
        {"search": "Production warehouse"},
        {"search": "foreign"},
        {"tags": "foreign-only"},
        {"type": "csv"},
        {"status_filter": "failed"},
        {"status_filter": "maintenance", "type": "mysql"},
        {"sort_by": "port", "sort_order": "asc", "page_size": 100},
    ],
)
def test_filters_search_and_sorting_never_reach_another_organization(api, workspace, params):
    own = make_source(workspace, name="Own source", description="nothing to see", tags=["own"])
    expected = [own.id] if set(params) <= {"sort_by", "sort_order", "page_size"} else []
    assert_page(list_data(api, params), expected, page_size=params.get("page_size", 20))


def test_another_organizations_workspace_matches_nothing(api, workspace, foreign_workspace):
    make_source(workspace)
    assert_page(list_data(api, {"workspace_id": foreign_workspace.id}), [])


def test_the_organization_header_selects_which_organizations_rows_are_listed(
    api, organization, other_organization, workspace, foreign_sources
):
    own = make_source(workspace)
    MembershipFactory.create(user=api.user, organization=other_organization, role=Role.VIEWER)

    assert_page(list_data(api), [own.id])  # the earliest membership by default
    other = list_data(api, headers={"X-Organization-ID": str(other_organization.id)})
    assert_page(other, newest_first(*foreign_sources))
    assert {item["organization_id"] for item in other["items"]} == {other_organization.id}
    assert_page(list_data(api, headers={"X-Organization-ID": str(organization.id)}), [own.id])


# --- workspace_id ----------------------------------------------------------------------


def test_workspace_id_filters_to_that_workspace(api, workspace, other_workspace):
    in_first = [make_source(workspace) for _ in range(2)]
    in_second = make_source(other_workspace)

    assert_page(list_data(api, {"workspace_id": workspace.id}), newest_first(*in_first))
    assert_page(list_data(api, {"workspace_id": str(other_workspace.id)}), [in_second.id])


@pytest.mark.parametrize("value", [MAX_BIGINT, str(MAX_BIGINT)])
def test_workspace_id_at_the_64_bit_limit_is_valid_and_matches_nothing(api, workspace, value):
    make_source(workspace)
    assert_page(list_data(api, {"workspace_id": value}), [])


@pytest.mark.parametrize(
    "value",
    ["0", "-1", "abc", "1.5", str(2**63), "1e3", "0x10", "\uff11\uff12", "1\x00", "9" * 5000, str(-(2**63))],
)
def test_invalid_workspace_id_is_400(api, workspace, value):
    make_source(workspace)
    assert_invalid(api, {"workspace_id": value}, "workspace_id")


# --- type and status_filter -------------------------------------------------------------


@pytest.fixture
def one_per_type(workspace: Workspace) -> dict[str, DataSource]:
    return {value: make_source(workspace, value, name=f"Source {value}") for value in DataSourceType.values}


@pytest.mark.parametrize("value", DataSourceType.values)
def test_type_filters_on_each_type(api, one_per_type, value):
    assert_page(list_data(api, {"type": value}), [one_per_type[value].id])


@pytest.mark.parametrize(
    ("params", "types"),
    [
        ({"type": "postgresql,csv"}, ["postgresql", "csv"]),
        ({"type": ["postgresql", "csv"]}, ["postgresql", "csv"]),
        ({"type": ["postgresql,mysql", "csv"]}, ["postgresql", "mysql", "csv"]),
        ({"type": "bigquery,bigquery"}, ["bigquery"]),
    ],
    ids=["comma-separated", "repeated", "mixed", "duplicate"],
)
def test_type_accepts_several_values(api, one_per_type, params, types):
    expected = newest_first(*(one_per_type[value] for value in types))
    assert_page(list_data(api, params), expected)


@pytest.mark.parametrize("value", ["", ","])
def test_empty_type_means_no_filter(api, one_per_type, value):
    assert_page(list_data(api, {"type": value}), newest_first(*one_per_type.values()))


@pytest.mark.parametrize(
    "value", ["oracle2", "postgres", "postgresql,nosql", ["postgresql", "unknown"], "active", "postgresql\x00"]
)
def test_unknown_type_is_400(api, one_per_type, value):
    assert_invalid(api, {"type": value}, "type")


@pytest.fixture
def one_per_status(workspace: Workspace) -> dict[str, DataSource]:
    return {value: make_source(workspace, name=f"Source {value}", status=value) for value in DataSourceStatus.values}


@pytest.mark.parametrize("value", DataSourceStatus.values)
def test_status_filter_filters_on_each_status(api, one_per_status, value):
    assert_page(list_data(api, {"status_filter": value}), [one_per_status[value].id])


@pytest.mark.parametrize(
    ("params", "statuses"),
    [
        ({"status_filter": "active,failed"}, ["active", "failed"]),
        ({"status_filter": ["active", "failed"]}, ["active", "failed"]),
        ({"status_filter": ["active,testing", "maintenance"]}, ["active", "testing", "maintenance"]),
    ],
    ids=["comma-separated", "repeated", "mixed"],
)
def test_status_filter_accepts_several_values(api, one_per_status, params, statuses):
    expected = newest_first(*(one_per_status[value] for value in statuses))
    assert_page(list_data(api, params), expected)


def test_empty_status_filter_means_no_filter(api, one_per_status):
    assert_page(list_data(api, {"status_filter": ""}), newest_first(*one_per_status.values()))


@pytest.mark.parametrize("value", ["deleted", "enabled", "active,broken", ["inactive", "gone"], "postgresql"])
def test_unknown_status_filter_is_400(api, one_per_status, value):
    assert_invalid(api, {"status_filter": value}, "status_filter")


def test_status_is_not_a_filter_parameter_and_is_ignored(api, one_per_status):
    # The contract's parameter is status_filter; `status` is just an unknown parameter.
    assert_page(list_data(api, {"status": "failed"}), newest_first(*one_per_status.values()))


def test_invalid_type_and_status_filter_are_both_reported(api, workspace):
    make_source(workspace)
    details = assert_error(
        api.get(DATA_SOURCES_URL, {"type": "nope", "status_filter": "nope"}), 400, "VALIDATION_ERROR"
    )
    assert set(details) == {"type", "status_filter"}


# --- search ------------------------------------------------------------------------------


@pytest.fixture
def searchable(workspace: Workspace) -> dict[str, DataSource]:
    return {
        "production": make_source(workspace, name="Production PostgreSQL", description="Main database"),
        "staging": make_source(workspace, name="Staging", description="Nightly mirror of PRODUCTION"),
        "analytics": make_source(workspace, name="Analytics", description=None),
    }


@pytest.mark.parametrize(
    ("term", "keys"),
    [
        ("production", ["production", "staging"]),
        ("PRODUCTION", ["production", "staging"]),
        ("pRoDuCtIoN", ["production", "staging"]),
        ("uctio", ["production", "staging"]),
        ("nightly", ["staging"]),
        ("analytics", ["analytics"]),
        ("main DATABASE", ["production"]),
        ("database main", []),
        ("no such thing", []),
    ],
)
def test_search_is_a_case_insensitive_substring_of_name_or_description(api, searchable, term, keys):
    assert_page(list_data(api, {"search": term}), newest_first(*(searchable[key] for key in keys)))


def test_search_of_200_characters_is_accepted(api, workspace):
    long_match = make_source(workspace, name="Long", description="x" * 200)
    make_source(workspace, name="Short", description="x" * 199)
    assert_page(list_data(api, {"search": "X" * 200}), [long_match.id])


def test_search_longer_than_200_characters_is_400(api, workspace):
    make_source(workspace, description="x" * 201)
    assert_invalid(api, {"search": "x" * 201}, "search")


@pytest.mark.parametrize("term", ["\x00", "prod\x00", "\x00uction"])
def test_search_with_a_nul_byte_is_400(api, searchable, term):
    assert_invalid(api, {"search": term}, "search")


@pytest.mark.parametrize(
    ("term", "key"),
    [("100%", "percent"), ("%", "percent"), ("pii_", "underscore"), ("_", "underscore"), ("C:\\", "backslash")],
)
def test_search_wildcards_are_literal(api, workspace, term, key):
    sources = {
        "percent": make_source(workspace, name="Uptime", description="100% uptime"),
        "no percent": make_source(workspace, name="Uptime 2", description="1000 uptime"),
        "underscore": make_source(workspace, name="pii_data"),
        "no underscore": make_source(workspace, name="piiXdata"),
        "backslash": make_source(workspace, name="Export", description="C:\\exports"),
        "no backslash": make_source(workspace, name="Export 2", description="C:exports"),
    }
    assert_page(list_data(api, {"search": term}), [sources[key].id])


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite's LIKE folds the case of ASCII letters only")
def test_search_folds_the_case_of_non_ascii_letters(api, workspace):
    source = make_source(workspace, name="Über analytics")
    assert_page(list_data(api, {"search": "über"}), [source.id])
    assert_page(list_data(api, {"search": "ÜBER"}), [source.id])


def page_through(client: APIClient, params: dict[str, Any]) -> tuple[list[int], set[int]]:
    """Every id of every page, and the `total_items` each page reported."""
    found: list[int] = []
    totals: set[int] = set()
    for page in range(1, 100):
        data = list_data(client, {**params, "page": page})
        found += ids(data)
        totals.add(data["pagination"]["total_items"])
        if not data["pagination"]["has_next"]:
            return found, totals
    raise AssertionError("more pages than expected")


@pytest.mark.parametrize(
    "term", ["warehouse", "WARE", "ling", "e", "ex", "7", "42", "2024", "gwarehouse", "ex-prod", "café", "nope"]
)
def test_search_total_is_the_number_of_rows_paged_through(api, workspace, term):
    # Full pages of 3, so every page's total is counted, not read off a short first page.
    for index in range(4):
        make_source(workspace, name=f"Billing warehouse {index}", description="Daily export, v2 (eu-west-1)")
        make_source(workspace, name=f"ex-prod-{index:02d}", description=f"Zebra42abc {7 * index} 2024")
        make_source(workspace, name=f"Café-Prod {index}", description=None)
    expected = DataSource.objects.filter(organization=workspace.organization).filter(
        models.Q(name__icontains=term) | models.Q(description__icontains=term)
    )

    found, totals = page_through(api, {"search": term, "page_size": 3})

    assert sorted(found) == sorted(expected.values_list("id", flat=True))
    assert totals == {len(found)}


def test_search_total_follows_writes_through_the_api(api, workspace):
    def total(term: str) -> int:
        # One row per page: the total is counted whenever anything matches.
        return list_data(api, {"search": term, "page_size": 1})["pagination"]["total_items"]

    body = {"workspace_id": workspace.id, "type": "postgresql", "host": "db", "database_name": "app"}
    created = [
        assert_success(api.post(DATA_SOURCES_URL, {**body, "name": f"Ledger {n}"}, format="json"), 201, CREATED)
        for n in range(3)
    ]
    assert (total("ledger"), total("invoice"), total("ledg"), total("2")) == (3, 0, 3, 1)

    assert_success(
        api.patch(f"{DATA_SOURCES_URL}/{created[0]['id']}", {"name": "Invoices"}, format="json"), 200, UPDATED
    )
    assert_success(
        api.patch(f"{DATA_SOURCES_URL}/{created[1]['id']}", {"description": "invoice copy"}, format="json"),
        200,
        UPDATED,
    )
    assert (total("ledger"), total("invoice"), total("ledg"), total("2")) == (2, 2, 2, 1)

    assert_success(api.delete(f"{DATA_SOURCES_URL}/{created[1]['id']}"), 200, DELETED)
    assert_success(api.delete(f"{DATA_SOURCES_URL}/{created[2]['id']}"), 200, DELETED)
    assert (total("ledger"), total("invoice"), total("ledg"), total("2")) == (0, 1, 0, 0)


def test_search_combines_with_the_filters(api, workspace, other_workspace):
    match = make_source(workspace, name="Prod orders", status=DataSourceStatus.ACTIVE, tags=["pii", "prod"])
    make_source(workspace, name="Prod users", status=DataSourceStatus.FAILED, tags=["pii", "prod"])
    make_source(workspace, DataSourceType.CSV, name="Prod export", status=DataSourceStatus.ACTIVE, tags=["pii"])
    make_source(other_workspace, name="Prod archive", status=DataSourceStatus.ACTIVE, tags=["pii", "prod"])
    make_source(workspace, name="Staging orders", status=DataSourceStatus.ACTIVE, tags=["pii", "prod"])

    params = {
        "search": "prod",
        "workspace_id": workspace.id,
        "type": "postgresql,csv",
        "status_filter": "active",
        "tags": "pii,prod",
    }
    assert_page(list_data(api, params), [match.id])


# --- tags ---------------------------------------------------------------------------------


@pytest.fixture
def tagged(workspace: Workspace) -> dict[str, DataSource]:
    return {
        "prod+pii": make_source(workspace, tags=["prod", "pii"]),
        "prod": make_source(workspace, tags=["prod"]),
        "pii+finance": make_source(workspace, tags=["pii", "finance"]),
        "none": make_source(workspace, tags=[]),
    }


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("prod", ["prod+pii", "prod"]),
        ("pii", ["prod+pii", "pii+finance"]),
        ("prod,pii", ["prod+pii"]),
        ("pii,prod", ["prod+pii"]),
        (" Prod ,PII", ["prod+pii"]),
        ("PROD", ["prod+pii", "prod"]),
        ("prod,finance", []),
        ("pro", []),
        ("production", []),
    ],
)
def test_tags_match_rows_carrying_all_of_them(api, tagged, value, keys):
    assert_page(list_data(api, {"tags": value}), newest_first(*(tagged[key] for key in keys)))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tags": "pii"}, 2),  # one tag alone: its trigger-kept counter
        ({"tags": " PII "}, 2),
        ({"tags": "prod,pii"}, 1),  # several tags, or a tag with other filters: rows counted
        ({"tags": "pii", "type": "postgresql"}, 2),
        ({"tags": "pii", "type": "mysql"}, 0),
        ({"tags": "pii", "status_filter": "inactive"}, 2),
        ({"tags": "nothing"}, 0),
    ],
)
def test_tag_totals_are_exact_on_a_full_first_page(api, tagged, params, expected):
    """page_size 1 fills the first page, so the total is counted rather than inferred."""
    data = list_data(api, {**params, "page_size": 1})

    assert data["pagination"]["total_items"] == expected
    assert data["pagination"]["total_pages"] == expected


def test_a_tag_total_follows_writes_made_around_the_api(api, tagged):
    DataSource.objects.filter(pk=tagged["none"].pk).update(tags=["pii"])
    DataSource.objects.filter(pk=tagged["prod+pii"].pk).delete()

    assert list_data(api, {"tags": "pii", "page_size": 1})["pagination"]["total_items"] == 2


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_empty_tags_means_no_filter(api, tagged, value):
    assert_page(list_data(api, {"tags": value}), newest_first(*tagged.values()))


def test_twenty_tags_are_accepted(api, workspace):
    twenty = [f"tag{index}" for index in range(20)]
    carrier = make_source(workspace, tags=twenty)
    make_source(workspace, tags=twenty[:19])
    assert_page(list_data(api, {"tags": ",".join(twenty)}), [carrier.id])


def test_more_than_twenty_tags_is_400(api, workspace):
    make_source(workspace, tags=["tag0"])
    assert_invalid(api, {"tags": ",".join(f"tag{index}" for index in range(21))}, "tags")


# --- page and page_size --------------------------------------------------------------------


@pytest.fixture
def twenty_five(workspace: Workspace) -> list[int]:
    """25 rows; their ids in the default order (newest first)."""
    return newest_first(*(make_source(workspace) for _ in range(25)))


def test_page_and_page_size_default_to_1_and_20(api, twenty_five):
    data = list_data(api)
    assert ids(data) == twenty_five[:20]
    assert data["pagination"] == {
        "page": 1,
        "page_size": 20,
        "total_items": 25,
        "total_pages": 2,
        "has_next": True,
        "has_previous": False,
    }


def test_the_last_page_is_partial(api, twenty_five):
    data = list_data(api, {"page": 2})
    assert ids(data) == twenty_five[20:]
    assert data["pagination"] == {
        "page": 2,
        "page_size": 20,
        "total_items": 25,
        "total_pages": 2,
        "has_next": False,
        "has_previous": True,
    }


def test_a_middle_page_has_next_and_previous(api, twenty_five):
    data = list_data(api, {"page": 3, "page_size": 5})
    assert ids(data) == twenty_five[10:15]
    assert data["pagination"] == {
        "page": 3,
        "page_size": 5,
        "total_items": 25,
        "total_pages": 5,
        "has_next": True,
        "has_previous": True,
    }


@pytest.mark.parametrize(("page_size", "total_pages"), [(1, 25), (5, 5), (7, 4), (24, 2), (25, 1), (26, 1), (100, 1)])
def test_total_pages_is_the_ceiling(api, twenty_five, page_size, total_pages):
    data = list_data(api, {"page_size": page_size})
    assert ids(data) == twenty_five[:page_size]
    assert data["pagination"] == {
        "page": 1,
        "page_size": page_size,
        "total_items": 25,
        "total_pages": total_pages,
        "has_next": total_pages > 1,
        "has_previous": False,
    }


def test_walking_every_page_yields_every_row_once_in_order(api, twenty_five):
    seen: list[int] = []
    for page in range(1, 5):
        data = list_data(api, {"page": page, "page_size": 7})
        assert data["pagination"]["has_next"] is (page < 4)
        seen.extend(ids(data))
    assert seen == twenty_five


@pytest.mark.parametrize("page", [3, 4, 1_000_000])
def test_a_page_past_the_end_is_empty_with_the_true_total(api, twenty_five, page):
    data = list_data(api, {"page": page})
    assert data == {
        "items": [],
        "pagination": {
            "page": page,
            "page_size": 20,
            "total_items": 25,
            "total_pages": 2,
            "has_next": False,
            "has_previous": True,
        },
    }


def test_no_match_has_zero_pages(api, twenty_five):
    data = list_data(api, {"search": "nothing matches this"})
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


def test_an_empty_organization_has_zero_pages_on_any_page(api):
    data = list_data(api, {"page": 2})
    assert data == {
        "items": [],
        "pagination": {
            "page": 2,
            "page_size": 20,
            "total_items": 0,
            "total_pages": 0,
            "has_next": False,
            "has_previous": True,
        },
    }


def test_exact_multiple_of_page_size_has_no_next_page(api, workspace):
    expected = newest_first(*(make_source(workspace) for _ in range(10)))
    data = list_data(api, {"page": 2, "page_size": 5})
    assert ids(data) == expected[5:]
    assert data["pagination"] == {
        "page": 2,
        "page_size": 5,
        "total_items": 10,
        "total_pages": 2,
        "has_next": False,
        "has_previous": True,
    }


@pytest.mark.parametrize("page_size", [1, 2, 99, 100, "100"])
def test_page_size_bounds_are_accepted(api, twenty_five, page_size):
    size = int(page_size)
    data = list_data(api, {"page_size": page_size})
    assert ids(data) == twenty_five[:size]
    assert data["pagination"]["page_size"] == size
    assert data["pagination"]["total_items"] == 25


def test_page_size_of_100_returns_100_rows(api, workspace):
    expected = newest_first(*(make_source(workspace) for _ in range(101)))
    data = list_data(api, {"page_size": 100})
    assert ids(data) == expected[:100]
    assert data["pagination"] == {
        "page": 1,
        "page_size": 100,
        "total_items": 101,
        "total_pages": 2,
        "has_next": True,
        "has_previous": False,
    }


@pytest.mark.parametrize("page_size", ["0", "101", "x", "-1", "1.5", "1e2", "9" * 5000, "\uff11"])
def test_invalid_page_size_is_400(api, twenty_five, page_size):
    assert_invalid(api, {"page_size": page_size}, "page_size")


@pytest.mark.parametrize("page", ["0", "-1", "1000001", "x", "1.5", "9" * 5000, str(2**63)])
def test_invalid_page_is_400(api, twenty_five, page):
    assert_invalid(api, {"page": page}, "page")


def test_empty_parameters_mean_their_defaults(api, twenty_five):
    params = {
        "page": "",
        "page_size": "",
        "sort_by": "",
        "sort_order": "",
        "search": "",
        "workspace_id": "",
        "type": "",
        "status_filter": "",
        "tags": "",
    }
    assert list_data(api, params) == list_data(api)


# --- sort_by and sort_order ------------------------------------------------------------------


# Values chosen so that every collation orders them alike (same case, punctuation at the
# same positions), with ties among non-null values and at least two nulls per nullable
# field, so the id tie-break and "nulls last" are both exercised in both directions.
SORT_ROWS: list[dict[str, Any]] = [
    {
        "name": "delta",
        "type": "postgresql",
        "status": "active",
        "workspace": 2,
        "host": "hostb",
        "port": 5432,
        "database_name": "salesdb",
        "schema_name": "public",
        "use_ssh_tunnel": True,
        "ssh_host": "bastiona",
        "ssh_port": 22,
        "schema_auto_refresh": True,
        "last_tested_at": at(2),
        "last_successful_connection_at": at(1),
        "schema_discovered_at": at(3),
        "created_at": at(2),
        "updated_at": at(1),
    },
    {
        "name": "alpha",
        "type": "mysql",
        "status": "failed",
        "workspace": 1,
        "host": "hosta",
        "port": 3306,
        "database_name": "crmdb",
        "use_ssh_tunnel": True,
        "ssh_host": "bastiona",
        "ssh_port": 22,
        "schema_auto_refresh": False,
        "last_successful_connection_at": at(2),
        "created_at": at(1),
        "updated_at": at(2),
    },
    {
        "name": "foxtrot",
        "type": "csv",
        "status": "inactive",
        "workspace": 2,
        "file_path": "/data/b.csv",
        "last_tested_at": at(1),
        "schema_discovered_at": at(1),
        "created_at": at(2),
        "updated_at": at(1),
    },
    {
        "name": "bravo",
        "type": "postgresql",
        "status": "maintenance",
        "workspace": 1,
        "host": "hostb",
        "port": 5432,
        "database_name": "crmdb",
        "schema_name": "public",
        "use_ssh_tunnel": True,
        "ssh_host": "bastionb",
        "ssh_port": 2222,
        "schema_auto_refresh": False,
        "last_tested_at": at(2),
        "last_successful_connection_at": at(1),
        "created_at": at(3),
        "updated_at": at(3),
    },
    {
        "name": "echo",
        "type": "sqlite",
        "status": "active",
        "workspace": 1,
        "schema_name": "analytics",
        "file_path": "/data/a.db",
        "schema_discovered_at": at(3),
        "created_at": at(1),
        "updated_at": at(2),
    },
    {
        "name": "charlie",
        "type": "redshift",
        "status": "testing",
        "workspace": 2,
        "host": "hostc",
        "port": 5439,
        "database_name": "salesdb",
        "schema_name": "analytics",
        "last_tested_at": at(3),
        "last_successful_connection_at": at(3),
        "created_at": at(0),
        "updated_at": at(1),
    },
    {
        "name": "golf",
        "type": "bigquery",
        "status": "inactive",
        "workspace": 1,
        "database_name": "proj",
        "schema_auto_refresh": False,
        "schema_discovered_at": at(1),
        "created_at": at(3),
        "updated_at": at(0),
    },
]


@pytest.fixture
def sortable(workspace: Workspace, other_workspace: Workspace) -> list[DataSource]:
    """SORT_ROWS as stored, read back from the database."""
    workspaces = {1: workspace, 2: other_workspace}
    for row in SORT_ROWS:
        fields = {key: value for key, value in row.items() if key not in ("workspace", "created_at", "updated_at")}
        fields = {"host": None, "port": None, "database_name": None, "schema_name": None, **fields}
        source = DataSourceFactory.create(workspace=workspaces[row["workspace"]], **fields)
        set_timestamps(source, created_at=row["created_at"], updated_at=row["updated_at"])
    return list(DataSource.objects.filter(workspace__in=workspaces.values()))


def expected_order(sources: list[DataSource], field: str, *, descending: bool) -> list[int]:
    """Non-null values in order, ties by id in the same direction, then nulls (by id too)."""
    present = [source for source in sources if getattr(source, field) is not None]
    missing = [source for source in sources if getattr(source, field) is None]
    present.sort(key=lambda source: (getattr(source, field), source.id), reverse=descending)
    missing.sort(key=lambda source: source.id, reverse=descending)
    return [source.id for source in present + missing]


def test_the_sort_dataset_exercises_ties_and_nulls(sortable):
    for field in SORT_FIELDS:
        values = [getattr(source, field) for source in sortable]
        if field not in ("id", "name", "file_path"):
            non_null = [value for value in values if value is not None]
            assert len(set(non_null)) < len(non_null), f"{field} has no tie"
        model_field = DataSource._meta.get_field(field)
        assert isinstance(model_field, models.Field), field
        if model_field.null:
            assert values.count(None) >= 2, f"{field} has fewer than two nulls"


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
def test_every_contract_sort_field_sorts(api, sortable, sort_by, sort_order):
    data = list_data(api, {"sort_by": sort_by, "sort_order": sort_order})
    assert_page(data, expected_order(sortable, sort_by, descending=sort_order == "desc"))


@pytest.mark.parametrize("sort_by", ["status", "created_at", "use_ssh_tunnel", "port"])
def test_paging_through_ties_is_stable(api, sortable, sort_by):
    expected = expected_order(sortable, sort_by, descending=True)
    seen: list[int] = []
    for page in range(1, 5):
        seen.extend(ids(list_data(api, {"sort_by": sort_by, "page": page, "page_size": 2})))
    assert seen == expected


def test_default_sort_is_created_at_descending_ties_by_id_descending(api, workspace):
    older = make_source(workspace)
    tied_first = make_source(workspace)
    tied_second = make_source(workspace)
    newest = make_source(workspace)
    set_timestamps(older, created_at=at(1))
    set_timestamps(tied_first, created_at=at(2))
    set_timestamps(tied_second, created_at=at(2))
    set_timestamps(newest, created_at=at(3))

    expected = [newest.id, tied_second.id, tied_first.id, older.id]
    assert_page(list_data(api), expected)
    assert_page(list_data(api, {"sort_by": "created_at", "sort_order": "desc"}), expected)
    assert_page(list_data(api, {"sort_order": "asc"}), expected[::-1])


def test_sort_by_alone_sorts_descending(api, workspace):
    b = make_source(workspace, name="b")
    a = make_source(workspace, name="a")
    c = make_source(workspace, name="c")
    assert_page(list_data(api, {"sort_by": "name"}), [c.id, b.id, a.id])


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_null_last_tested_at_sorts_last_in_both_directions(api, workspace, sort_order):
    never_a = make_source(workspace)
    early = make_source(workspace, last_tested_at=at(1))
    never_b = make_source(workspace)
    late = make_source(workspace, last_tested_at=at(5))

    expected = {
        "asc": [early.id, late.id, never_a.id, never_b.id],
        "desc": [late.id, early.id, never_b.id, never_a.id],
    }[sort_order]
    assert_page(list_data(api, {"sort_by": "last_tested_at", "sort_order": sort_order}), expected)


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_null_port_sorts_last_in_both_directions(api, workspace, sort_order):
    csv = make_source(workspace, DataSourceType.CSV)
    mysql = make_source(workspace, DataSourceType.MYSQL, port=3306)
    bigquery = make_source(workspace, DataSourceType.BIGQUERY)
    postgres = make_source(workspace, DataSourceType.POSTGRESQL, port=5432)
    other_mysql = make_source(workspace, DataSourceType.MARIADB, port=3306)

    expected = {
        "asc": [mysql.id, other_mysql.id, postgres.id, csv.id, bigquery.id],
        "desc": [postgres.id, other_mysql.id, mysql.id, bigquery.id, csv.id],
    }[sort_order]
    assert_page(list_data(api, {"sort_by": "port", "sort_order": sort_order}), expected)


@pytest.mark.parametrize(
    ("sort_order", "same_as"), [("DESC", "desc"), ("Desc", "desc"), ("ASC", "asc"), ("aSc", "asc")]
)
def test_sort_order_is_case_insensitive(api, sortable, sort_order, same_as):
    assert list_data(api, {"sort_by": "name", "sort_order": sort_order}) == list_data(
        api, {"sort_by": "name", "sort_order": same_as}
    )


@pytest.mark.parametrize(
    "sort_by",
    [
        "password",
        "username",
        "ssh_username",
        "ssh_private_key",
        "organization_id",
        "organization",
        "description",
        "tags",
        "workspace",
        "workspace__name",
        "-name",
        "name,id",
        "NAME",
        "name\x00",
        "random",
    ],
)
def test_unknown_sort_by_is_400(api, sortable, sort_by):
    assert_invalid(api, {"sort_by": sort_by}, "sort_by")


@pytest.mark.parametrize("sort_order", ["descending", "ascending", "up", "1", "-1", "asc,desc", "random"])
def test_invalid_sort_order_is_400(api, sortable, sort_order):
    assert_invalid(api, {"sort_by": "name", "sort_order": sort_order}, "sort_order")


# --- the rest of §3 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"foo": "bar"},
        {"ordering": "name"},
        {"limit": "1", "offset": "2"},
        {"cursor": "abc"},
        {"status": "failed"},
        {"q": "alpha", "filter": "x", "page[size]": "1", "sortBy": "name"},
    ],
)
def test_unknown_query_parameters_are_ignored(api, sortable, params):
    assert list_data(api, params) == list_data(api)


@pytest.mark.parametrize(
    "params",
    [{}, {"type": "postgresql,csv", "sort_by": "name", "sort_order": "asc"}, {"page": 2, "page_size": 3}],
)
def test_a_trailing_slash_gives_the_same_answer(api, sortable, params):
    with_slash = api.get(f"{DATA_SOURCES_URL}/", params)
    assert with_slash.status_code == 200 and "Location" not in with_slash
    assert list_data(api, params, path=f"{DATA_SOURCES_URL}/") == list_data(api, params)


def test_a_trailing_slash_gives_the_same_errors(api, workspace):
    without = api.get(DATA_SOURCES_URL, {"page_size": 0})
    with_slash = api.get(f"{DATA_SOURCES_URL}/", {"page_size": 0})
    assert assert_error(with_slash, 400, "VALIDATION_ERROR") == assert_error(without, 400, "VALIDATION_ERROR")


# --- bounded SQL ---------------------------------------------------------------------------------

# One request: the membership (which also checks the token's user is active), the page of rows, and COUNT(*).
LIST_QUERIES = 3


def _datasource_queries(context: CaptureQueriesContext) -> list[str]:
    table = DataSource._meta.db_table
    return [query["sql"] for query in context.captured_queries if table in query["sql"]]


def test_the_number_of_queries_does_not_grow_with_the_page_size(api: APIClient, workspace: Workspace):
    for index in range(120):
        make_source(workspace, tags=["prod", "pii", f"t{index}"], password="secret", ssh_private_key="key")

    counts: dict[int, int] = {}
    for page_size in (1, 20, 100):
        with CaptureQueriesContext(connection) as context:
            data = list_data(api, {"page_size": page_size, "tags": "prod"})
        assert len(data["items"]) == page_size
        assert data["pagination"]["total_items"] == 120
        counts[page_size] = len(context.captured_queries)
        # The page and the count only; credentials are not even read from the table.
        datasource_queries = _datasource_queries(context)
        assert len(datasource_queries) == 2
        for sql in datasource_queries:
            assert '"password"' not in sql and '"ssh_private_key"' not in sql
    assert counts == {1: LIST_QUERIES, 20: LIST_QUERIES, 100: LIST_QUERIES}


def test_a_short_page_needs_no_count_query(
    api: APIClient, workspace: Workspace, django_assert_num_queries: Callable[..., Any]
):
    for _ in range(5):
        make_source(workspace, tags=["prod"])
    with django_assert_num_queries(LIST_QUERIES - 1):
        data = list_data(api)
    assert data["pagination"]["total_items"] == 5


def test_the_count_uses_the_same_filters_as_the_page(api: APIClient, workspace: Workspace):
    matching = [make_source(workspace, tags=["prod"]) for _ in range(3)]
    for _ in range(4):
        make_source(workspace, tags=["dev"])
    data = list_data(api, {"tags": "prod", "page_size": 2, "page": 2})
    assert ids(data) == newest_first(*matching)[2:]
    assert data["pagination"]["total_items"] == 3
    data = list_data(api, {"tags": "prod", "page_size": 2, "page": 3})
    assert data["items"] == [] and data["pagination"]["total_items"] == 3


def test_items_keep_the_serializers_key_order_whichever_way_they_are_represented(api, workspace, monkeypatch):
    make_source(workspace, name="Orders", tags=["b", "a"], last_tested_at=at(10))
    make_source(workspace, name="Billing")
    handed_on = list_data(api)

    # Without the shortcut every row goes through the serializer: the same items, in the same key order.
    monkeypatch.setattr(DataSourceSerializer, "represent_rows", classmethod(lambda cls, rows: None))
    serialized = list_data(api)

    assert serialized == handed_on
    assert [list(item) for item in handed_on["items"]] == [list(DataSourceSerializer.read_columns)] * 2
    assert [list(item) for item in serialized["items"]] == [list(DataSourceSerializer.read_columns)] * 2
