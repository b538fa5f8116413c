"""The data source model: the database's own constraints (bypassing the services) and `clean`."""

from typing import Any

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import IntegrityError, connection, transaction

from datasources.models import DEFAULT_PORTS, DataSource, DataSourceType, normalize_tags
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def assert_refused_by_database(write: Any, constraint: str | None = None) -> None:
    """The write raises IntegrityError (naming `constraint` when given) and leaves the transaction usable."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    if constraint is not None:
        assert constraint in str(excinfo.value)


def unsaved(**fields: Any) -> DataSource:
    """A data source built (not saved) by the factory, valid unless `fields` say otherwise."""
    return DataSourceFactory.build(**fields)


# --- Database constraints -----------------------------------------------------------------


class TestNameUniqueness:
    def test_same_name_in_another_case_in_the_organization_is_refused(self, workspace):
        DataSourceFactory.create(workspace=workspace, name="Sales DB")
        assert_refused_by_database(
            lambda: DataSourceFactory.create(workspace=workspace, name="SALES db"),
            "datasource_name_unique_per_organization_ci",
        )
        assert DataSource.objects.count() == 1

    def test_the_rule_spans_the_organizations_workspaces(self, organization, workspace):
        DataSourceFactory.create(workspace=workspace, name="Sales DB")
        other_workspace = WorkspaceFactory.create(organization=organization)
        assert_refused_by_database(lambda: DataSourceFactory.create(workspace=other_workspace, name="sales db"))

    def test_renaming_onto_a_taken_name_is_refused(self, workspace):
        DataSourceFactory.create(workspace=workspace, name="Sales DB")
        datasource = DataSourceFactory.create(workspace=workspace, name="Billing DB")
        assert_refused_by_database(lambda: DataSource.objects.filter(pk=datasource.pk).update(name="sales DB"))
        datasource.refresh_from_db()
        assert datasource.name == "Billing DB"

    def test_same_name_in_another_organization_is_allowed(self, workspace, other_organization):
        DataSourceFactory.create(workspace=workspace, name="Sales DB")
        DataSourceFactory.create(workspace=WorkspaceFactory.create(organization=other_organization), name="Sales DB")
        assert DataSource.objects.filter(name="Sales DB").count() == 2


class TestCheckConstraints:
    @pytest.mark.parametrize("type_", ["nosql", "PostgreSQL", ""])
    def test_unknown_type_is_refused(self, workspace, type_):
        assert_refused_by_database(
            lambda: DataSourceFactory.create(workspace=workspace, type=type_), "datasource_type_valid"
        )

    @pytest.mark.parametrize("type_", DataSourceType.values)
    def test_every_known_type_is_accepted(self, workspace, type_):
        assert DataSourceFactory.create(workspace=workspace, type=type_).type == type_

    @pytest.mark.parametrize("status", ["broken", "Active", ""])
    def test_unknown_status_is_refused(self, workspace, status):
        assert_refused_by_database(
            lambda: DataSourceFactory.create(workspace=workspace, status=status), "datasource_status_valid"
        )

    def test_status_cannot_be_updated_to_an_unknown_value(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        assert_refused_by_database(lambda: DataSource.objects.filter(pk=datasource.pk).update(status="deleted"))

    def test_empty_name_is_refused(self, workspace):
        assert_refused_by_database(
            lambda: DataSourceFactory.create(workspace=workspace, name=""), "datasource_name_not_empty"
        )

    @pytest.mark.parametrize("field", ["port", "ssh_port"])
    @pytest.mark.parametrize("value", [0, 65536, 100_000])
    def test_ports_out_of_range_are_refused(self, workspace, field, value):
        assert_refused_by_database(
            lambda: DataSourceFactory.create(workspace=workspace, **{field: value}), f"datasource_{field}_range"
        )

    @pytest.mark.parametrize("field", ["port", "ssh_port"])
    def test_negative_ports_are_refused(self, workspace, field):
        assert_refused_by_database(lambda: DataSourceFactory.create(workspace=workspace, **{field: -1}))

    @pytest.mark.parametrize("field", ["port", "ssh_port"])
    @pytest.mark.parametrize("value", [None, 1, 65535])
    def test_ports_in_range_or_null_are_accepted(self, workspace, field, value):
        datasource = DataSourceFactory.create(workspace=workspace, **{field: value})
        datasource.refresh_from_db()
        assert getattr(datasource, field) == value

    def test_port_cannot_be_updated_out_of_range(self, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        assert_refused_by_database(
            lambda: DataSource.objects.filter(pk=datasource.pk).update(port=70000), "datasource_port_range"
        )


class TestWorkspaceOrganizationConsistency:
    """Migration 0002: SQLite triggers, PostgreSQL a composite foreign key. No service involved."""

    def test_insert_with_another_organizations_workspace_is_refused(self, organization, other_organization):
        foreign_workspace = WorkspaceFactory.create(organization=other_organization)
        assert_refused_by_database(
            lambda: DataSource.objects.create(
                organization=organization,
                workspace=foreign_workspace,
                name="Misplaced",
                type=DataSourceType.POSTGRESQL,
                host="db",
                database_name="db",
            ),
            "datasource_workspace_same_organization",
        )
        assert not DataSource.objects.exists()

    def test_bulk_create_with_another_organizations_workspace_is_refused(self, organization, other_organization):
        foreign_workspace = WorkspaceFactory.create(organization=other_organization)
        assert_refused_by_database(
            lambda: DataSource.objects.bulk_create(
                [unsaved(workspace=foreign_workspace, organization=organization, name="Misplaced")]
            )
        )
        assert not DataSource.objects.exists()

    def test_moving_to_another_organizations_workspace_is_refused(self, workspace, other_organization):
        datasource = DataSourceFactory.create(workspace=workspace)
        foreign_workspace = WorkspaceFactory.create(organization=other_organization)
        assert_refused_by_database(
            lambda: DataSource.objects.filter(pk=datasource.pk).update(workspace=foreign_workspace),
            "datasource_workspace_same_organization",
        )

        def save_moved() -> None:
            moved = DataSource.objects.get(pk=datasource.pk)
            moved.workspace = foreign_workspace
            moved.save()

        assert_refused_by_database(save_moved)
        datasource.refresh_from_db()
        assert datasource.workspace_id == workspace.id

    def test_moving_to_another_organization_keeping_the_workspace_is_refused(self, workspace, other_organization):
        datasource = DataSourceFactory.create(workspace=workspace)
        assert_refused_by_database(
            lambda: DataSource.objects.filter(pk=datasource.pk).update(organization=other_organization),
            "datasource_workspace_same_organization",
        )
        datasource.refresh_from_db()
        assert datasource.organization_id == workspace.organization_id

    def test_moving_workspace_and_organization_together_is_allowed(self, workspace, other_organization):
        datasource = DataSourceFactory.create(workspace=workspace)
        foreign_workspace = WorkspaceFactory.create(organization=other_organization)
        DataSource.objects.filter(pk=datasource.pk).update(workspace=foreign_workspace, organization=other_organization)
        datasource.refresh_from_db()
        assert (datasource.workspace_id, datasource.organization_id) == (foreign_workspace.id, other_organization.id)

    def test_moving_within_the_organization_is_allowed(self, organization, workspace):
        datasource = DataSourceFactory.create(workspace=workspace)
        sibling = WorkspaceFactory.create(organization=organization)
        DataSource.objects.filter(pk=datasource.pk).update(workspace=sibling)
        datasource.refresh_from_db()
        assert datasource.workspace_id == sibling.id

    def test_workspace_with_data_sources_cannot_change_organization(self, workspace, other_organization):
        DataSourceFactory.create(workspace=workspace)
        assert_refused_by_database(
            lambda: type(workspace).objects.filter(pk=workspace.pk).update(organization=other_organization)
        )

        def save_moved() -> None:
            workspace.organization = other_organization
            workspace.save()

        assert_refused_by_database(save_moved)
        workspace.refresh_from_db()
        assert workspace.organization_id != other_organization.id

    def test_workspace_without_data_sources_can_change_organization(self, workspace, other_organization):
        # The database only protects data sources; the rule against moving workspaces
        # at all is Workspace.clean's (see organizations' tests).
        type(workspace).objects.filter(pk=workspace.pk).update(organization=other_organization)
        workspace.refresh_from_db()
        assert workspace.organization_id == other_organization.id

    def test_deleting_the_workspace_cascades(self, workspace):
        DataSourceFactory.create(workspace=workspace)
        workspace.delete()
        assert not DataSource.objects.exists()

    def test_the_database_mechanism_matches_the_vendor(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.table_constraints"
                    " WHERE constraint_name = 'datasource_workspace_same_organization'"
                    " AND constraint_type = 'FOREIGN KEY'"
                )
                assert cursor.fetchone()[0] == 1
            else:
                assert connection.vendor == "sqlite"
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
                assert {row[0] for row in cursor.fetchall()} >= {
                    "datasource_workspace_same_organization_insert",
                    "datasource_workspace_same_organization_update",
                    "workspace_keeps_organization",
                }


# --- Model.clean --------------------------------------------------------------------------


def clean_errors(datasource: DataSource) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        datasource.clean()
    return excinfo.value.message_dict


class TestClean:
    def test_valid_object_passes_and_is_normalized(self, workspace):
        datasource = unsaved(workspace=workspace, name="  Sales DB ", port=None, tags=[" EU ", "eu", "Prod"])
        datasource.clean()
        assert datasource.name == "Sales DB"
        assert datasource.port == 5432
        assert datasource.tags == ["eu", "prod"]

    @pytest.mark.parametrize("name", ["", "   ", None])
    def test_blank_name(self, workspace, name):
        assert clean_errors(unsaved(workspace=workspace, name=name)) == {"name": ["This field may not be blank."]}

    def test_null_tags_become_an_empty_list(self, workspace):
        datasource = unsaved(workspace=workspace, tags=None)
        datasource.clean()
        assert datasource.tags == []

    @pytest.mark.parametrize(
        ("tags", "message"),
        [
            ([f"t{i}" for i in range(21)], "At most 20 tags are allowed."),
            (["x" * 51], "Each tag must be 1 to 50 characters long."),
            ([" "], "Each tag must be 1 to 50 characters long."),
            ([3], "Each tag must be a string."),
            ("a,b", "Expected a list of strings."),
            (["a\x00"], "Tags cannot contain null characters."),
        ],
    )
    def test_invalid_tags(self, workspace, tags, message):
        assert clean_errors(unsaved(workspace=workspace, tags=tags)) == {"tags": [message]}

    def test_workspace_of_another_organization(self, organization, other_organization):
        foreign_workspace = WorkspaceFactory.create(organization=other_organization)
        datasource = unsaved(workspace=foreign_workspace, organization=organization)
        assert clean_errors(datasource) == {
            "workspace": ["The workspace must belong to the data source's organization."]
        }

    @pytest.mark.parametrize(("type_", "port"), list(DEFAULT_PORTS.items()))
    def test_default_ports(self, workspace, type_, port):
        datasource = unsaved(workspace=workspace, type=type_, port=None)
        datasource.clean()
        assert datasource.port == port

    def test_no_default_port_for_snowflake(self, workspace):
        datasource = unsaved(workspace=workspace, type=DataSourceType.SNOWFLAKE, port=None)
        datasource.clean()
        assert datasource.port is None

    def test_explicit_port_is_kept(self, workspace):
        datasource = unsaved(workspace=workspace, type=DataSourceType.MYSQL, port=3307)
        datasource.clean()
        assert datasource.port == 3307

    @pytest.mark.parametrize(
        "type_", ["postgresql", "mysql", "mariadb", "sqlserver", "oracle", "redshift", "snowflake", "mongodb"]
    )
    def test_network_types_need_host_and_database_name(self, workspace, type_):
        datasource = unsaved(workspace=workspace, type=type_, host="", database_name=None)
        assert clean_errors(datasource) == {
            "host": [f"This field is required for type {type_}."],
            "database_name": [f"This field is required for type {type_}."],
        }

    def test_bigquery_needs_only_database_name(self, workspace):
        datasource = unsaved(
            workspace=workspace, type=DataSourceType.BIGQUERY, host=None, database_name=None, port=None
        )
        assert clean_errors(datasource) == {
            "database_name": ["This field is required for type bigquery (the project id)."]
        }
        datasource.database_name = "my-project"
        datasource.clean()
        assert datasource.port is None

    @pytest.mark.parametrize("type_", ["sqlite", "csv", "excel", "json", "parquet"])
    def test_file_types_need_file_path_only(self, workspace, type_):
        datasource = unsaved(workspace=workspace, type=type_, host=None, database_name=None, port=None)
        assert clean_errors(datasource) == {"file_path": [f"This field is required for type {type_}."]}
        datasource.file_path = "/data/file"
        datasource.clean()
        assert datasource.port is None

    def test_ssh_tunnel_needs_ssh_host_and_defaults_the_port(self, workspace):
        datasource = unsaved(workspace=workspace, use_ssh_tunnel=True)
        assert clean_errors(datasource) == {"ssh_host": ["This field is required when use_ssh_tunnel is true."]}
        datasource.ssh_host = "bastion"
        datasource.clean()
        assert datasource.ssh_port == 22

    def test_without_tunnel_ssh_port_stays_unset(self, workspace):
        datasource = unsaved(workspace=workspace, use_ssh_tunnel=False)
        datasource.clean()
        assert datasource.ssh_port is None

    def test_all_errors_are_reported_together(self, workspace):
        datasource = unsaved(workspace=workspace, name=" ", type="csv", tags="x", use_ssh_tunnel=True)
        assert set(clean_errors(datasource)) == {"name", "tags", "file_path", "ssh_host"}

    @pytest.mark.parametrize("field", ["port", "ssh_port"])
    @pytest.mark.parametrize("value", [0, 65536])
    def test_ports_out_of_range(self, workspace, field, value):
        datasource = unsaved(workspace=workspace, **{field: value})
        assert clean_errors(datasource) == {field: ["Ensure this value is between 1 and 65535."]}


def test_normalize_tags_keeps_first_seen_order():
    assert normalize_tags(("B", "a", " b ", "C")) == ["b", "a", "c"]


def test_credentials_round_trip_through_the_encrypted_field(workspace):
    datasource = DataSourceFactory.create(workspace=workspace, password="hunter2", ssh_private_key="KEY")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, ssh_private_key FROM datasources_datasource WHERE id = %s", [datasource.id])
        stored_password, stored_key = cursor.fetchone()
    assert "hunter2" not in stored_password
    assert "KEY" not in stored_key
    fresh = DataSource.objects.get(pk=datasource.pk)
    assert (fresh.password, fresh.ssh_private_key) == ("hunter2", "KEY")


def test_encrypted_field_refuses_lookups_on_ciphertext(workspace):
    DataSourceFactory.create(workspace=workspace, password="hunter2")
    assert DataSource.objects.filter(password__isnull=False).count() == 1
    with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
        DataSource.objects.filter(password="hunter2").count()
