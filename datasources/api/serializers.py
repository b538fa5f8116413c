from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings

from datasources import services
from datasources.models import DataSource, DataSourceType, normalize_tags
from organizations.models import Workspace
from rivergen.api.fields import OptionalCharField, StrictBooleanField, StrictCharField, StrictIntegerField
from rivergen.api.serializers import ColumnRepresentationMixin
from rivergen.api.tenancy import OrganizationScopedRelatedField


class TagListField(serializers.Field):
    """A list of tags, normalized by the model's own rule (trimmed, lower-cased, unique)."""

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return normalize_tags(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value: list[str]) -> list[str]:
        return list(value or [])


class DataSourceSerializer(ColumnRepresentationMixin, serializers.ModelSerializer):
    """The contract's data source object; credentials are accepted but never returned."""

    organization_id = serializers.IntegerField(read_only=True)
    workspace_id = OrganizationScopedRelatedField(model=Workspace, source="workspace")
    name = StrictCharField(max_length=255)
    type = serializers.ChoiceField(choices=DataSourceType.choices)
    description = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)
    host = OptionalCharField(max_length=255)
    port = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=65535)
    database_name = OptionalCharField(max_length=255)
    schema_name = OptionalCharField(max_length=255)
    file_path = OptionalCharField(max_length=1024)
    use_ssh_tunnel = StrictBooleanField(required=False)
    ssh_host = OptionalCharField(max_length=255)
    ssh_port = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=65535)
    schema_auto_refresh = StrictBooleanField(required=False)
    tags = TagListField(required=False)
    username = OptionalCharField(write_only=True, max_length=255)
    password = OptionalCharField(write_only=True, max_length=1024, trim_whitespace=False)
    ssh_username = OptionalCharField(write_only=True, max_length=255)
    ssh_private_key = OptionalCharField(write_only=True, max_length=16_384, trim_whitespace=False)

    class Meta:
        model = DataSource
        fields = [
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
            *DataSource.CREDENTIAL_FIELDS,
        ]
        read_only_fields = [
            "id",
            "status",
            "last_tested_at",
            "last_successful_connection_at",
            "schema_discovered_at",
            "created_at",
            "updated_at",
        ]

    read_columns = tuple(field for field in Meta.fields if field not in DataSource.CREDENTIAL_FIELDS)

    def create(self, validated_data: dict[str, Any]) -> DataSource:
        with self._model_errors_as_field_errors():
            return services.datasource_create(organization=self.context["view"].organization, **validated_data)

    def update(self, instance: DataSource, validated_data: dict[str, Any]) -> DataSource:
        with self._model_errors_as_field_errors():
            return services.datasource_update(datasource=instance, **validated_data)

    @contextmanager
    def _model_errors_as_field_errors(self) -> Iterator[None]:
        """Report the model's rules under the API's field names (workspace -> workspace_id)."""
        try:
            yield
        except DjangoValidationError as error:
            api_names = {field.source: name for name, field in self.fields.items()}
            api_names[NON_FIELD_ERRORS] = api_settings.NON_FIELD_ERRORS_KEY
            raise serializers.ValidationError(
                {api_names.get(field, field): messages for field, messages in error.message_dict.items()}
            ) from None
