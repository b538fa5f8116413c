"""The write services the API and the admin share: datasource_create, _update, _save, _delete."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from datasources import services
from datasources.models import DataSource, DataSourceStatus, DataSourceType
from rivergen.errors import ConflictError, NotFoundError
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

NAME_TAKEN = "A data source with this name already exists in this organization."


def create(organization, workspace, **fields):
    defaults = {"name": "Warehouse", "type": DataSourceType.POSTGRESQL, "host": "db.example.com", "database_name": "dw"}
    return services.datasource_create(organization=organization, workspace=workspace, **{**defaults, **fields})


def validation_errors(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        call()
    return excinfo.value.message_dict


class TestCreate:
    def test_creates_a_normalized_inactive_row(self, organization, workspace):
        datasource = create(organization, workspace, name="  Sales DB ", tags=[" Prod", "prod ", "EU"])
        stored = DataSource.objects.get()
        assert stored.pk == datasource.pk
        assert stored.organization_id == organization.id
        assert stored.workspace_id == workspace.id
        assert stored.name == "Sales DB"
        assert stored.tags == ["prod", "eu"]
        assert stored.port == 5432
        assert stored.status == DataSourceStatus.INACTIVE
        assert (stored.last_tested_at, stored.last_successful_connection_at, stored.schema_discovered_at) == (
            None,
            None,
            None,
        )
        assert stored.created_at is not None
        assert stored.updated_at is not None

    def test_duplicate_name_is_a_conflict_case_insensitively(self, organization, workspace):
        create(organization, workspace, name="Sales DB")
        with pytest.raises(ConflictError) as excinfo:
            create(organization, WorkspaceFactory.create(organization=organization), name=" SALES db ")
        assert excinfo.value.status_code == 409
        assert excinfo.value.code == "CONFLICT"
        assert excinfo.value.message == NAME_TAKEN
        assert excinfo.value.details == {"name": [NAME_TAKEN]}
        assert DataSource.objects.count() == 1

    def test_the_transaction_is_usable_after_a_conflict(self, organization, workspace):
        create(organization, workspace, name="Sales DB")
        with pytest.raises(ConflictError):
            create(organization, workspace, name="sales db")
        create(organization, workspace, name="Billing DB")
        assert sorted(DataSource.objects.values_list("name", flat=True)) == ["Billing DB", "Sales DB"]

    def test_same_name_in_another_organization_is_fine(self, organization, workspace, other_organization):
        create(organization, workspace, name="Sales DB")
        create(other_organization, WorkspaceFactory.create(organization=other_organization), name="Sales DB")
        assert DataSource.objects.filter(name="Sales DB").count() == 2

    def test_workspace_of_another_organization_is_refused(self, organization, other_organization):
        foreign = WorkspaceFactory.create(organization=other_organization)
        assert validation_errors(lambda: create(organization, foreign)) == {
            "workspace": ["The workspace must belong to the data source's organization."]
        }
        assert not DataSource.objects.exists()

    def test_workspace_is_required(self, organization):
        errors = validation_errors(lambda: create(organization, None))
        assert errors == {"workspace": ["This field cannot be null."]}

    @pytest.mark.parametrize(
        ("fields", "errors"),
        [
            ({"name": "   "}, {"name": ["This field may not be blank."]}),
            ({"name": "n" * 256}, {"name": ["Ensure this value has at most 255 characters (it has 256)."]}),
            ({"type": "mssql"}, {"type": ["Value 'mssql' is not a valid choice."]}),
            (
                {"type": "csv", "host": None, "database_name": None},
                {"file_path": ["This field is required for type csv."]},
            ),
            (
                {"type": "bigquery", "database_name": ""},
                {"database_name": ["This field is required for type bigquery (the project id)."]},
            ),
            (
                {"host": "", "database_name": None},
                {
                    "host": ["This field is required for type postgresql."],
                    "database_name": ["This field is required for type postgresql."],
                },
            ),
            ({"use_ssh_tunnel": True}, {"ssh_host": ["This field is required when use_ssh_tunnel is true."]}),
            ({"port": 0}, {"port": ["Ensure this value is between 1 and 65535."]}),
            ({"port": 65536}, {"port": ["Ensure this value is between 1 and 65535."]}),
            ({"ssh_port": 70000}, {"ssh_port": ["Ensure this value is between 1 and 65535."]}),
            ({"tags": [f"t{i}" for i in range(21)]}, {"tags": ["At most 20 tags are allowed."]}),
            ({"tags": ["x" * 51]}, {"tags": ["Each tag must be 1 to 50 characters long."]}),
            ({"tags": "x"}, {"tags": ["Expected a list of strings."]}),
        ],
    )
    def test_the_models_rules_apply(self, organization, workspace, fields, errors):
        assert validation_errors(lambda: create(organization, workspace, **fields)) == errors
        assert not DataSource.objects.exists()

    @pytest.mark.parametrize(("type_", "port"), [("mysql", 3306), ("mongodb", 27017), ("snowflake", None)])
    def test_default_ports(self, organization, workspace, type_, port):
        assert create(organization, workspace, type=type_).port == port

    def test_ssh_port_defaults_to_22(self, organization, workspace):
        datasource = create(organization, workspace, use_ssh_tunnel=True, ssh_host="bastion")
        assert DataSource.objects.get(pk=datasource.pk).ssh_port == 22

    @pytest.mark.parametrize(
        "field",
        [
            "status",
            "organization_id",
            "id",
            "pk",
            "last_tested_at",
            "last_successful_connection_at",
            "schema_discovered_at",
            "created_at",
            "updated_at",
            "unknown",
        ],
    )
    def test_server_owned_fields_are_not_writable(self, organization, workspace, field):
        with pytest.raises(TypeError, match=f"Not writable: {field}"):
            create(organization, workspace, **{field: None})
        assert not DataSource.objects.exists()

    def test_credentials_are_encrypted(self, organization, workspace):
        datasource = create(organization, workspace, username="u", password="hunter2", ssh_private_key="KEY-DATA")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT username, password, ssh_private_key FROM datasources_datasource WHERE id = %s",
                [datasource.id],
            )
            username, password, key = cursor.fetchone()
        assert username == "u"
        assert "hunter2" not in password
        assert "KEY-DATA" not in key
        stored = DataSource.objects.get(pk=datasource.pk)
        assert (stored.password, stored.ssh_private_key) == ("hunter2", "KEY-DATA")


class TestUpdate:
    def test_updates_the_given_fields_only(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace, name="Orders", description="old", password="keep-me")
        datasource = DataSource.objects.get(pk=datasource.pk)
        services.datasource_update(datasource=datasource, description="new", tags=["A", "a"])
        stored = DataSource.objects.get(pk=datasource.pk)
        assert (stored.name, stored.description, stored.tags, stored.password) == ("Orders", "new", ["a"], "keep-me")

    def test_with_deferred_credentials_omitted_ones_are_kept(self, workspace):
        DataSourceFactory.create(workspace=workspace, username="u", password="p", ssh_private_key="k")
        datasource = DataSource.objects.defer(*DataSource.CREDENTIAL_FIELDS).get()
        services.datasource_update(datasource=datasource, password=None, name="Renamed")
        stored = DataSource.objects.get()
        assert (stored.name, stored.username, stored.password, stored.ssh_private_key) == ("Renamed", "u", None, "k")

    def test_validates_the_resulting_object(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        errors = validation_errors(lambda: services.datasource_update(datasource=datasource, type="parquet"))
        assert errors == {"file_path": ["This field is required for type parquet."]}
        assert DataSource.objects.get(pk=datasource.pk).type == DataSourceType.POSTGRESQL

    def test_renaming_onto_a_taken_name_is_a_conflict(self, workspace):
        DataSourceFactory.create(workspace=workspace, name="Billing")
        datasource = DataSourceFactory.create(workspace=workspace, name="Orders")
        with pytest.raises(ConflictError) as excinfo:
            services.datasource_update(datasource=datasource, name="BILLING")
        assert excinfo.value.details == {"name": [NAME_TAKEN]}
        assert DataSource.objects.get(pk=datasource.pk).name == "Orders"

    def test_renaming_to_its_own_name_in_another_case_is_fine(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace, name="Orders")
        services.datasource_update(datasource=datasource, name="ORDERS")
        assert DataSource.objects.get(pk=datasource.pk).name == "ORDERS"

    def test_moving_to_another_organizations_workspace_is_refused(self, workspace, other_organization):
        datasource = DataSourceFactory.create(workspace=workspace)
        foreign = WorkspaceFactory.create(organization=other_organization)
        errors = validation_errors(lambda: services.datasource_update(datasource=datasource, workspace=foreign))
        assert errors == {"workspace": ["The workspace must belong to the data source's organization."]}
        assert DataSource.objects.get(pk=datasource.pk).workspace_id == workspace.id

    @pytest.mark.parametrize("field", ["status", "organization", "last_tested_at", "created_at"])
    def test_server_owned_fields_are_not_writable(self, workspace, other_organization, field):
        datasource = DataSourceFactory.create(workspace=workspace)
        value = {"status": DataSourceStatus.ACTIVE, "organization": other_organization}.get(field)
        with pytest.raises(TypeError, match=f"Not writable: {field}"):
            services.datasource_update(datasource=datasource, **{field: value})
        stored = DataSource.objects.get(pk=datasource.pk)
        assert (stored.status, stored.organization_id) == (DataSourceStatus.INACTIVE, workspace.organization_id)

    def test_all_unknown_fields_are_named(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        with pytest.raises(TypeError, match="Not writable: id, status"):
            services.datasource_update(datasource=datasource, status="active", id=5, name="fine")


class TestSave:
    def test_saves_a_valid_object_after_normalizing_it(self, workspace):
        datasource = DataSourceFactory.build(workspace=workspace, name=" Admin made ", port=None, tags=["X", "x"])
        services.datasource_save(datasource=datasource)
        stored = DataSource.objects.get()
        assert (stored.name, stored.port, stored.tags) == ("Admin made", 5432, ["x"])

    def test_refuses_an_invalid_object(self, workspace):
        datasource = DataSourceFactory.build(workspace=workspace, type=DataSourceType.JSON)
        assert validation_errors(lambda: services.datasource_save(datasource=datasource)) == {
            "file_path": ["This field is required for type json."]
        }
        assert not DataSource.objects.exists()

    def test_duplicate_name_is_a_conflict(self, workspace):
        DataSourceFactory.create(workspace=workspace, name="Orders")
        with pytest.raises(ConflictError):
            services.datasource_save(datasource=DataSourceFactory.build(workspace=workspace, name="orders"))
        assert DataSource.objects.count() == 1

    def test_server_owned_fields_set_by_the_server_are_kept(self, workspace):
        # Only the API refuses writes to these; server code (health checks) saves them here.
        datasource = DataSourceFactory.create(workspace=workspace)
        datasource.status = DataSourceStatus.ACTIVE
        services.datasource_save(datasource=datasource)
        assert DataSource.objects.get(pk=datasource.pk).status == DataSourceStatus.ACTIVE

    def test_invalid_status_is_a_validation_error(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        datasource.status = "broken"
        assert validation_errors(lambda: services.datasource_save(datasource=datasource)) == {
            "status": ["Value 'broken' is not a valid choice."]
        }


def test_delete_removes_only_that_row(workspace):
    kept = DataSourceFactory.create(workspace=workspace)
    doomed = DataSourceFactory.create(workspace=workspace)
    services.datasource_delete(datasource=doomed)
    assert list(DataSource.objects.values_list("pk", flat=True)) == [kept.pk]


def test_an_update_applies_its_fields_to_the_row_as_it_is_now(workspace):
    loaded = services.datasource_create(
        organization=workspace.organization, workspace=workspace, name="Orders", type="csv", file_path="/a.csv"
    )
    # Another request updates other fields after this one loaded the row.
    services.datasource_update(datasource=DataSource.objects.get(pk=loaded.pk), description="theirs", tags=["x"])

    saved = services.datasource_update(datasource=loaded, file_path="/b.csv")

    row = DataSource.objects.get(pk=loaded.pk)
    assert (row.description, row.tags, row.file_path) == ("theirs", ["x"], "/b.csv")
    assert (saved.description, saved.tags, saved.file_path) == ("theirs", ["x"], "/b.csv")


@pytest.mark.parametrize(("first", "second"), [("ÄBC", "äbc"), ("Über", "über"), ("ΣΟΦΊΑ", "σοφία")])
def test_names_differing_only_in_the_case_of_any_letter_conflict(workspace, first, second):
    services.datasource_create(
        organization=workspace.organization, workspace=workspace, name=first, type="csv", file_path="/a.csv"
    )

    with pytest.raises(ConflictError):
        services.datasource_create(
            organization=workspace.organization, workspace=workspace, name=second, type="csv", file_path="/b.csv"
        )


def test_deleting_a_data_source_deleted_meanwhile_is_not_found(workspace):
    loaded = DataSourceFactory.create(workspace=workspace)
    kept = DataSourceFactory.create(workspace=workspace)
    DataSource.objects.filter(pk=loaded.pk).delete()  # a concurrent DELETE wins the race

    with pytest.raises(NotFoundError):
        services.datasource_delete(datasource=loaded)

    assert list(DataSource.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.parametrize("deferred", [True, False], ids=["credentials-deferred", "all-fields-loaded"])
def test_updating_a_data_source_deleted_meanwhile_is_not_found_and_not_resurrected(deferred: bool) -> None:
    source = DataSourceFactory.create()
    queryset = DataSource.objects.defer(*DataSource.CREDENTIAL_FIELDS) if deferred else DataSource.objects.all()
    loaded = queryset.get(pk=source.pk)
    DataSource.objects.filter(pk=source.pk).delete()  # a concurrent DELETE wins the race

    with pytest.raises(NotFoundError):
        services.datasource_update(datasource=loaded, description="too late")

    assert not DataSource.objects.filter(pk=source.pk).exists()
