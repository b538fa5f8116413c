"""API3: what a caller may read and write of a data source, property by property.

- No credential, ciphertext or key material in any response (2xx or error) or log line.
- Server-owned fields sent by a client are ignored, on create and on update.
- PATCH without a credential keeps the stored one.
- Sorting, filtering or searching on a credential is refused or ignored: never an oracle.
"""

import logging
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from datasources.models import DataSource, DataSourceStatus
from organizations.models import Organization, Role, Workspace
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, MemberClient, MemberClientFactory, assert_error, detail_url
from tests.factories import DataSourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API3")]

SECRETS = {
    "username": "svc-username-7f3a",
    "password": "pw-7f3a-correct-horse",
    "ssh_username": "tunnel-user-7f3a",
    "ssh_private_key": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA7f3a\n-----END OPENSSH PRIVATE KEY-----"
    ),
}
CREDENTIAL_FIELDS = list(SECRETS)


@pytest.fixture
def admin(member_client: MemberClientFactory, organization: Organization) -> MemberClient:
    return member_client(Role.ADMIN, organization)


@pytest.fixture
def secret_source(admin: MemberClient, workspace: Workspace) -> DataSource:
    body = {
        "workspace_id": workspace.id,
        "name": "Vault",
        "type": "postgresql",
        "host": "db.example.com",
        "database_name": "analytics",
        "use_ssh_tunnel": True,
        "ssh_host": "bastion.example.com",
        **SECRETS,
    }
    response = admin.post(DATA_SOURCES_URL, body, format="json")
    assert response.status_code == 201, response.content
    return DataSource.objects.get(pk=response.json()["data"]["id"])


def stored_ciphertexts(source: DataSource) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, ssh_private_key FROM datasources_datasource WHERE id = %s", [source.pk])
        row = cursor.fetchone()
    assert all(value for value in row)
    return list(row)


def forbidden_strings(source: DataSource) -> list[str]:
    """Every credential, each stored ciphertext, and every key the service holds."""
    keys = [settings.SECRET_KEY, settings.SIMPLE_JWT["SIGNING_KEY"], *settings.CREDENTIALS_ENCRYPTION_KEYS]
    ciphertexts = stored_ciphertexts(source)
    # Secrets are also looked for in part: a truncated echo is a leak too.
    return [*SECRETS.values(), SECRETS["password"][:12], *ciphertexts, *(c[:40] for c in ciphertexts), *keys]


def requests_touching_the_source(client: MemberClient, source: DataSource) -> list[Any]:
    """Reads, writes, validation errors, conflicts and metadata, each naming the source."""
    url = detail_url(source.id)
    with_secrets = {
        **SECRETS,
        "workspace_id": source.workspace_id,
        "type": "postgresql",
        "host": "db.example.com",
        "database_name": "analytics",
    }
    return [
        client.get(DATA_SOURCES_URL),
        client.get(DATA_SOURCES_URL, {"page_size": "100", "search": "vault", "sort_by": "name"}),
        client.get(url),
        client.options(DATA_SOURCES_URL),
        client.options(url),
        client.get(WORKSPACES_URL),
        client.patch(url, {"description": "rotated"}, format="json"),
        client.patch(url, {"password": SECRETS["password"], "port": "not a port"}, format="json"),
        client.patch(url, {"ssh_private_key": SECRETS["ssh_private_key"], "type": "csv"}, format="json"),
        client.post(DATA_SOURCES_URL, {**with_secrets, "name": "Vault"}, format="json"),  # 409: name taken
        client.post(DATA_SOURCES_URL, {**with_secrets, "name": ""}, format="json"),  # 400
        client.post(DATA_SOURCES_URL, {**with_secrets, "name": "x", "password": "p" * 2000}, format="json"),  # 400
        client.get(DATA_SOURCES_URL, {"sort_by": "password"}),
        client.get(url, HTTP_ACCEPT="text/html"),  # the browsable API's forms
    ]


def test_no_credential_ciphertext_or_key_in_any_response(admin: MemberClient, secret_source: DataSource) -> None:
    forbidden = forbidden_strings(secret_source)

    responses = requests_touching_the_source(admin, secret_source)

    statuses = {response.status_code for response in responses}
    assert {200, 400, 409} <= statuses  # successes and errors were both looked at
    for response in responses:
        body = response.content.decode()
        leaked = [value for value in forbidden if value in body]
        assert not leaked, (response.status_code, response.request["PATH_INFO"], leaked)


def test_no_credential_ciphertext_or_key_in_any_log_line(
    admin: MemberClient, secret_source: DataSource, caplog: pytest.LogCaptureFixture
) -> None:
    forbidden = forbidden_strings(secret_source)
    caplog.set_level(logging.DEBUG)

    requests_touching_the_source(admin, secret_source)

    assert caplog.records  # the request log wrote something to look at
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        leaked = [value for value in forbidden if value in text]
        assert not leaked, (record.name, leaked)


def test_no_credential_field_in_a_listed_or_fetched_item(admin: MemberClient, secret_source: DataSource) -> None:
    item = admin.get(detail_url(secret_source.id)).json()["data"]
    listed = admin.get(DATA_SOURCES_URL).json()["data"]["items"][0]

    for field in [*CREDENTIAL_FIELDS, "password_encrypted", "credentials"]:
        assert field not in item
        assert field not in listed


# --- Server-owned fields ---------------------------------------------------------------------------

SERVER_OWNED = {
    "id": 987_654,
    "organization_id": "<other organization>",
    "status": DataSourceStatus.ACTIVE,
    "last_tested_at": "2001-02-03T04:05:06Z",
    "last_successful_connection_at": "2001-02-03T04:05:06Z",
    "schema_discovered_at": "2001-02-03T04:05:06Z",
    "created_at": "2001-02-03T04:05:06Z",
    "updated_at": "2001-02-03T04:05:06Z",
}


def sent_value(field: str, other_organization: Organization) -> Any:
    value = SERVER_OWNED[field]
    return other_organization.id if value == "<other organization>" else value


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_fields_sent_on_create_are_ignored(
    admin: MemberClient, organization: Organization, other_organization: Organization, workspace: Workspace, field: str
) -> None:
    value = sent_value(field, other_organization)
    body = {"workspace_id": workspace.id, "name": "Fresh", "type": "csv", "file_path": "/d.csv", field: value}

    response = admin.post(DATA_SOURCES_URL, body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data[field] != value
    stored = DataSource.objects.get(pk=data["id"])
    assert stored.organization_id == organization.id
    assert stored.status == DataSourceStatus.INACTIVE
    assert stored.last_tested_at is None


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_fields_sent_on_update_are_ignored(
    admin: MemberClient, other_organization: Organization, workspace: Workspace, field: str
) -> None:
    source = DataSourceFactory.create(workspace=workspace)
    before = DataSource.objects.filter(pk=source.pk).values().get()

    response = admin.patch(detail_url(source.id), {field: sent_value(field, other_organization)}, format="json")

    assert response.status_code == 200, response.content
    after = DataSource.objects.filter(pk=source.pk).values().get()
    assert {key: value for key, value in after.items() if key != "updated_at"} == {
        key: value for key, value in before.items() if key != "updated_at"
    }
    assert DataSource.objects.filter(pk=987_654).count() == 0


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_a_patch_without_a_credential_keeps_the_stored_one(
    admin: MemberClient, secret_source: DataSource, field: str
) -> None:
    admin.patch(detail_url(secret_source.id), {"description": "touched"}, format="json")

    secret_source.refresh_from_db()
    assert getattr(secret_source, field) == SECRETS[field]
    assert secret_source.description == "touched"


# --- Credentials are no sort key, filter or search term ----------------------------------------


@pytest.mark.parametrize("field", [*CREDENTIAL_FIELDS, "-password", "password_encrypted"])
def test_sorting_on_a_credential_is_refused(admin: MemberClient, secret_source: DataSource, field: str) -> None:
    details = assert_error(admin.get(DATA_SOURCES_URL, {"sort_by": field}), 400, "VALIDATION_ERROR")

    assert list(details) == ["sort_by"]


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize("lookup", ["", "__startswith", "__icontains", "__gt"])
def test_filtering_on_a_credential_is_ignored_so_it_reveals_nothing(
    admin: MemberClient, workspace: Workspace, secret_source: DataSource, field: str, lookup: str
) -> None:
    DataSourceFactory.create(workspace=workspace, name="Other")
    unfiltered = admin.get(DATA_SOURCES_URL).json()

    right = admin.get(DATA_SOURCES_URL, {f"{field}{lookup}": SECRETS[field][:5]}).json()
    wrong = admin.get(DATA_SOURCES_URL, {f"{field}{lookup}": "zzz-not-it"}).json()

    assert right == wrong == unfiltered


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_search_never_matches_a_credential(admin: MemberClient, secret_source: DataSource, field: str) -> None:
    data = admin.get(DATA_SOURCES_URL, {"search": SECRETS[field][:10]}).json()["data"]

    assert data["items"] == []
    assert data["pagination"]["total_items"] == 0
