"""The data source admin: lists, filters, search, and forms that never show a credential."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from datasources.admin import DataSourceAdmin
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from tests.factories import DataSourceFactory, OrganizationFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:datasources_datasource_changelist")
ADD = reverse("admin:datasources_datasource_add")
SECRETS = {
    "username": "svc-reader-7f3a",
    "password": "pa55-w0rd-never-shown",
    "ssh_username": "tunnel-user-9c1e",
    "ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-secret\n",
}


def change_url(source: DataSource) -> str:
    return reverse("admin:datasources_datasource_change", args=[source.pk])


def results(response: Any) -> list[Any]:
    assert response.status_code == 200, response.content[:500]
    return list(response.context["cl"].result_list)


def form_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, "expected the form again, with errors"
    errors = response.context["adminform"].form.errors
    assert errors
    return errors


def form_data(source: DataSource | None = None, **overrides: Any) -> dict[str, Any]:
    """What the browser posts for `source` (credential fields left blank), with overrides."""
    values: dict[str, Any] = {
        "organization": source.organization_id if source else "",
        "workspace": source.workspace_id if source else "",
        "name": source.name if source else "",
        "type": source.type if source else "",
        "description": (source.description or "") if source else "",
        "tags": json.dumps(source.tags if source else []),
        "host": (source.host or "") if source else "",
        "port": (source.port or "") if source else "",
        "database_name": (source.database_name or "") if source else "",
        "schema_name": (source.schema_name or "") if source else "",
        "file_path": (source.file_path or "") if source else "",
        "use_ssh_tunnel": bool(source and source.use_ssh_tunnel),
        "ssh_host": (source.ssh_host or "") if source else "",
        "ssh_port": (source.ssh_port or "") if source else "",
        "schema_auto_refresh": source.schema_auto_refresh if source else True,
        "username": "",
        "password": "",
        "ssh_username": "",
        "ssh_private_key": "",
        "_save": "Save",
        **overrides,
    }
    # Unchecked checkboxes are simply not sent.
    return {key: ("on" if value is True else value) for key, value in values.items() if value is not False}


@pytest.fixture
def secret_source() -> DataSource:
    return DataSourceFactory.create(
        name="Vault", use_ssh_tunnel=True, ssh_host="bastion.example.com", ssh_port=22, **SECRETS
    )


# --- Change list ----------------------------------------------------------------------------------------


def test_changelist_renders_every_organizations_sources(admin_client):
    sources = [
        DataSourceFactory.create(),
        DataSourceFactory.create(),
        DataSourceFactory.create(workspace=WorkspaceFactory.create()),
    ]

    assert set(results(admin_client.get(CHANGELIST))) == set(sources)


def test_changelist_never_shows_credentials(admin_client, secret_source):
    html = admin_client.get(CHANGELIST).content.decode()

    assert "Vault" in html
    for secret in SECRETS.values():
        assert secret.strip() not in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda s: {"type__exact": "csv"}, "csv"),
        (lambda s: {"status__exact": "maintenance"}, "maintenance"),
        (lambda s: {"organization__id__exact": s["other"].organization_id}, "other"),
        (lambda s: {"workspace__id__exact": s["other"].workspace_id}, "other"),
        (lambda s: {"tag": "Finance"}, "tagged"),
        (lambda s: {"tested": "24h"}, "maintenance"),
        (lambda s: {"tested": "older"}, "csv"),
    ],
)
def test_changelist_filters(admin_client, params, expected):
    workspace = WorkspaceFactory.create()
    sources = {
        "csv": DataSourceFactory.create(
            workspace=workspace, type=DataSourceType.CSV, host=None, port=None, file_path="/data/a.csv"
        ),
        "maintenance": DataSourceFactory.create(workspace=workspace),
        "tagged": DataSourceFactory.create(workspace=workspace, tags=["finance", "daily"]),
        "other": DataSourceFactory.create(workspace=WorkspaceFactory.create(), tags=["daily"]),
    }
    now = timezone.now()
    DataSource.objects.filter(pk=sources["maintenance"].pk).update(
        status=DataSourceStatus.MAINTENANCE, last_tested_at=now - timedelta(hours=1)
    )
    DataSource.objects.filter(pk=sources["csv"].pk).update(last_tested_at=now - timedelta(days=3))

    assert results(admin_client.get(CHANGELIST, params(sources))) == [sources[expected]]


def test_changelist_filter_for_never_tested(admin_client):
    never = DataSourceFactory.create()
    tested = DataSourceFactory.create()
    DataSource.objects.filter(pk=tested.pk).update(last_tested_at=timezone.now())

    assert results(admin_client.get(CHANGELIST, {"tested": "never"})) == [never]


def test_changelist_filters_combine(admin_client):
    workspace = WorkspaceFactory.create()
    wanted = DataSourceFactory.create(workspace=workspace, tags=["pii"])
    DataSourceFactory.create(workspace=workspace)
    DataSourceFactory.create(tags=["pii"])

    rows = results(admin_client.get(CHANGELIST, {"organization__id__exact": workspace.organization_id, "tag": "pii"}))

    assert rows == [wanted]


@pytest.mark.parametrize(
    ("term", "expected"),
    [("orders", "by_name"), ("NEEDLE", "by_description"), ("db-17.internal", "by_host")],
)
def test_changelist_search_matches_name_description_and_host(admin_client, term, expected):
    sources = {
        "by_name": DataSourceFactory.create(name="Orders DB", description="x"),
        "by_description": DataSourceFactory.create(name="Plain", description="a needle inside"),
        "by_host": DataSourceFactory.create(name="Hosted", description="y", host="db-17.internal"),
    }

    assert results(admin_client.get(CHANGELIST, {"q": term})) == [sources[expected]]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "nul\x00byte"},
        {"tag": "x" * 60},
        {"tag": "bad\x00tag"},
        {"tested": "sometime"},
        {"organization__id__exact": "not-a-number"},
        {"workspace__id__exact": "not-a-number"},
        {"o": "99"},
    ],
)
def test_odd_changelist_parameters_never_fail(admin_client, params):
    DataSourceFactory.create()

    response = admin_client.get(CHANGELIST, params)

    assert response.status_code == 200


def test_changelist_offers_the_most_used_tags(admin_client):
    DataSourceFactory.create(tags=["popular", "rare"])
    DataSourceFactory.create(tags=["popular"])

    response = admin_client.get(CHANGELIST)

    tag_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", None) == "tag"
    )
    assert [value for value, _label in tag_filter.lookup_choices] == ["popular", "rare"]


def test_workspace_filter_lists_only_the_chosen_organizations_workspaces(admin_client):
    mine = WorkspaceFactory.create(name="Mine")
    also_mine = WorkspaceFactory.create(name="Also mine", organization=mine.organization)
    WorkspaceFactory.create(name="Theirs")
    DataSourceFactory.create(workspace=mine)

    response = admin_client.get(CHANGELIST, {"organization__id__exact": mine.organization_id})

    workspace_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "field_path", None) == "workspace"
    )
    assert [pk for pk, _label in workspace_filter.lookup_choices] == [also_mine.pk, mine.pk]


def test_mark_as_maintenance_action_sets_the_status(admin_client):
    chosen = DataSourceFactory.create()
    untouched = DataSourceFactory.create()

    response = admin_client.post(
        CHANGELIST, {"action": "mark_as_maintenance", "_selected_action": [chosen.pk], "index": 0}
    )

    assert response.status_code == 302
    chosen.refresh_from_db()
    untouched.refresh_from_db()
    assert chosen.status == DataSourceStatus.MAINTENANCE
    assert untouched.status == DataSourceStatus.INACTIVE


# --- Add and change forms --------------------------------------------------------------------------------


def test_add_form_renders(admin_client):
    response = admin_client.get(ADD)

    assert response.status_code == 200


def test_change_form_renders_without_any_stored_credential(admin_client, secret_source):
    response = admin_client.get(change_url(secret_source))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Vault" in html
    for secret in SECRETS.values():
        assert secret.strip() not in html
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in html


def test_change_form_shows_server_owned_fields_read_only(admin_client, secret_source):
    tested_at = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    DataSource.objects.filter(pk=secret_source.pk).update(status=DataSourceStatus.FAILED, last_tested_at=tested_at)

    response = admin_client.get(change_url(secret_source))

    form = response.context["adminform"].form
    for field in ("status", "last_tested_at", "last_successful_connection_at", "schema_discovered_at"):
        assert field not in form.fields
    for field in ("created_at", "updated_at"):
        assert field not in form.fields
    html = response.content.decode()
    assert 'name="status"' not in html
    assert "Failed" in html


def test_add_creates_an_inactive_source(admin_client):
    workspace = WorkspaceFactory.create()

    response = admin_client.post(
        ADD,
        form_data(
            organization=workspace.organization_id,
            workspace=workspace.pk,
            name="  Added in admin  ",
            type="postgresql",
            host="db.example.com",
            database_name="app",
            tags='["Ops", "ops", " Daily "]',
            password="initial-secret",
        ),
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    source = DataSource.objects.get(name="Added in admin")
    assert source.status == DataSourceStatus.INACTIVE
    assert source.port == 5432
    assert source.tags == ["ops", "daily"]
    assert source.password == "initial-secret"


def test_add_applies_the_models_rules_as_form_errors(admin_client):
    workspace = WorkspaceFactory.create()

    response = admin_client.post(
        ADD,
        form_data(organization=workspace.organization_id, workspace=workspace.pk, name="No host", type="mysql"),
    )

    errors = form_errors(response)
    assert {"host", "database_name"} <= set(errors)
    assert not DataSource.objects.exists()


def test_saving_with_blank_credentials_keeps_them(admin_client, secret_source):
    response = admin_client.post(change_url(secret_source), form_data(secret_source, description="edited"))

    assert response.status_code == 302
    stored = DataSource.objects.get(pk=secret_source.pk)
    assert stored.description == "edited"
    for field, secret in SECRETS.items():
        assert getattr(stored, field) == secret


def test_saving_with_new_credentials_replaces_only_those(admin_client, secret_source):
    response = admin_client.post(change_url(secret_source), form_data(secret_source, password="rotated-password"))

    assert response.status_code == 302
    stored = DataSource.objects.get(pk=secret_source.pk)
    assert stored.password == "rotated-password"
    assert stored.username == SECRETS["username"]
    assert stored.ssh_private_key == SECRETS["ssh_private_key"]


def test_clear_credentials_clears_the_chosen_ones(admin_client, secret_source):
    response = admin_client.post(
        change_url(secret_source), form_data(secret_source, clear_credentials=["password", "ssh_private_key"])
    )

    assert response.status_code == 302
    stored = DataSource.objects.get(pk=secret_source.pk)
    assert stored.password is None
    assert stored.ssh_private_key is None
    assert stored.username == SECRETS["username"]
    assert stored.ssh_username == SECRETS["ssh_username"]


def test_clear_credentials_wins_over_a_typed_value(admin_client, secret_source):
    response = admin_client.post(
        change_url(secret_source), form_data(secret_source, password="typed", clear_credentials=["password"])
    )

    assert response.status_code == 302
    assert DataSource.objects.get(pk=secret_source.pk).password is None


def test_credentials_are_stored_encrypted(admin_client, secret_source):
    admin_client.post(change_url(secret_source), form_data(secret_source, password="fresh-admin-secret"))

    raw = DataSource.objects.filter(pk=secret_source.pk).values_list("password", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT password FROM {DataSource._meta.db_table} WHERE id = %s", [secret_source.pk])
        (stored,) = cursor.fetchone()
    assert stored and "fresh-admin-secret" not in stored
    assert list(raw) == ["fresh-admin-secret"]


def test_posted_server_owned_fields_are_ignored(admin_client, secret_source):
    created_at = secret_source.created_at

    response = admin_client.post(
        change_url(secret_source),
        form_data(secret_source, status="active", last_tested_at="2020-01-01 00:00:00", created_at="2020-01-01"),
    )

    assert response.status_code == 302
    stored = DataSource.objects.get(pk=secret_source.pk)
    assert stored.status == DataSourceStatus.INACTIVE
    assert stored.last_tested_at is None
    assert stored.created_at == created_at


def test_workspace_of_another_organization_is_a_form_error(admin_client):
    source = DataSourceFactory.create(name="Stays put")
    foreign_workspace = WorkspaceFactory.create(organization=OrganizationFactory.create())

    response = admin_client.post(change_url(source), form_data(source, workspace=foreign_workspace.pk))

    assert "workspace" in form_errors(response)
    source.refresh_from_db()
    assert source.workspace_id != foreign_workspace.pk


def test_adding_with_a_workspace_of_another_organization_is_a_form_error(admin_client):
    organization = OrganizationFactory.create()
    foreign_workspace = WorkspaceFactory.create()

    response = admin_client.post(
        ADD,
        form_data(
            organization=organization.pk,
            workspace=foreign_workspace.pk,
            name="Misplaced",
            type="csv",
            file_path="/a.csv",
        ),
    )

    assert "workspace" in form_errors(response)
    assert not DataSource.objects.exists()


@pytest.mark.parametrize("name", ["orders", "ORDERS", "Orders"])
def test_duplicate_name_in_the_organization_is_a_form_error(admin_client, name):
    existing = DataSourceFactory.create(name="Orders")

    response = admin_client.post(
        ADD,
        form_data(
            organization=existing.organization_id,
            workspace=existing.workspace_id,
            name=name,
            type="csv",
            file_path="/b.csv",
        ),
    )

    assert "A data source with this name already exists in this organization." in str(form_errors(response))
    assert DataSource.objects.filter(name__iexact="orders").count() == 1


def test_renaming_onto_a_taken_name_is_a_form_error(admin_client):
    existing = DataSourceFactory.create(name="Orders")
    other = DataSourceFactory.create(workspace=existing.workspace, name="Invoices")

    response = admin_client.post(change_url(other), form_data(other, name="oRdErS"))

    form_errors(response)
    other.refresh_from_db()
    assert other.name == "Invoices"


def test_same_name_in_another_organization_is_allowed(admin_client):
    DataSourceFactory.create(name="Orders")
    workspace = WorkspaceFactory.create()

    response = admin_client.post(
        ADD,
        form_data(
            organization=workspace.organization_id,
            workspace=workspace.pk,
            name="Orders",
            type="csv",
            file_path="/c.csv",
        ),
    )

    assert response.status_code == 302
    assert DataSource.objects.filter(name="Orders").count() == 2


def test_delete_goes_through_and_renders_a_confirmation(admin_client):
    source = DataSourceFactory.create()
    url = reverse("admin:datasources_datasource_delete", args=[source.pk])

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not DataSource.objects.filter(pk=source.pk).exists()


def test_deleting_a_row_someone_deleted_meanwhile_counts_as_done():
    # The admin's delete view found the row; another delete removed it before this one ran.
    loaded = DataSourceFactory.create()
    DataSource.objects.filter(pk=loaded.pk).delete()

    DataSourceAdmin(DataSource, admin.site).delete_model(RequestFactory().post("/"), loaded)

    assert not DataSource.objects.filter(pk=loaded.pk).exists()


@pytest.mark.parametrize(
    "query", ["username__startswith=rea", "username=reader", "password__isnull=False", "ssh_private_key__contains=KEY"]
)
def test_credentials_cannot_be_guessed_through_list_filters(admin_client, query):
    DataSourceFactory.create(username="reader", password="s3cret")
    url = reverse("admin:datasources_datasource_changelist")

    response = admin_client.get(f"{url}?{query}")

    assert response.status_code == 400
    assert b"reader" not in response.content


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=99999999999999999999",
        "created_at__year=9999&created_at__month=12&created_at__day=31",
        "name=%00",
        "type__exact=%00",
        "name__regex=(",
        "port=99999999999999999999999",
    ],
)
@pytest.mark.parametrize("model", ["datasources/datasource", "organizations/organization", "organizations/workspace"])
def test_odd_url_filter_values_show_the_list_or_djangos_invalid_lookup_notice(admin_client, model, query):
    DataSourceFactory.create()
    if not query.startswith(("created_at", "name")) and model != "datasources/datasource":
        query = "name=%00"  # the other lists have no type or port

    response = admin_client.get(f"/admin/{model}/?{query}")

    if response.status_code == 302:  # the database or Python refused the value
        assert response["Location"].endswith("?e=1")
        assert admin_client.get(response["Location"]).status_code == 200
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("selected", ["abc", "1.5", "99999999999999999999999999999", "\x00"])
def test_an_action_on_a_selection_that_is_not_ids_changes_nothing(admin_client, selected):
    source = DataSourceFactory.create(status=DataSourceStatus.ACTIVE)
    url = reverse("admin:datasources_datasource_changelist")

    response = admin_client.post(
        url, {"action": "mark_as_maintenance", "_selected_action": [str(source.pk), selected]}, follow=True
    )

    assert response.status_code == 200
    assert "not an id" in response.content.decode()
    source.refresh_from_db()
    assert source.status == DataSourceStatus.ACTIVE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organization", "abc"),
        ("organization", "\x00"),
        ("workspace", "99999999999999999999"),
        ("workspace", "1.5"),
        ("tags", '["\\ud800"]'),  # a lone surrogate, as JSON writes it
        ("tags", "[" * 5000),
        ("tags", "[" + "9" * 5000 + "]"),
    ],
)
def test_odd_values_in_the_change_form_show_it_again_with_an_error(admin_client, field, value):
    source = DataSourceFactory.create(type=DataSourceType.CSV, file_path="/before.csv", description="before")
    url = reverse("admin:datasources_datasource_change", args=[source.pk])
    form = {
        "organization": source.organization_id,
        "workspace": source.workspace_id,
        "name": source.name,
        "type": "csv",
        "file_path": "/after.csv",
        "description": "after",
        "tags": "[]",
        field: value,
    }

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    source.refresh_from_db()
    assert (source.file_path, source.description) == ("/before.csv", "before")


def test_workspace_autocomplete_answers(admin_client):
    workspace = WorkspaceFactory.create(name="Autocomplete me")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "datasources", "model_name": "datasource", "field_name": "workspace", "term": "autocomplete"},
    )

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(workspace.pk)]


def test_non_staff_users_cannot_open_the_data_source_admin(client):
    client.force_login(UserFactory.create())

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
