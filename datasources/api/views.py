from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from datasources import selectors, services
from datasources.api.serializers import DataSourceSerializer
from datasources.filtersets import DataSourceFilterSet
from datasources.models import MAX_TAGS, DataSource
from rivergen.api.filters import ContainsSearchFilter, FilterSetBackend, SortFilter
from rivergen.api.viewsets import (
    CreateModelMixin,
    DestroyModelMixin,
    ListModelMixin,
    OrganizationScopedViewSet,
    PartialUpdateModelMixin,
    RetrieveModelMixin,
)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "tags",
                # Commas separate the tags, so no tag holds one; nor a NUL character.
                type={"type": "array", "items": {"type": "string", "pattern": r"^[^,\x00]*$"}, "maxItems": MAX_TAGS},
                style="form",
                explode=False,
                description=(
                    "Only data sources carrying all of these tags (matched trimmed and case-insensitively): "
                    "comma-separated (`tags=a,b`) or repeated (`tags=a&tags=b`)."
                ),
            )
        ]
    )
)
class DataSourceViewSet(
    ListModelMixin,
    RetrieveModelMixin,
    CreateModelMixin,
    PartialUpdateModelMixin,
    DestroyModelMixin,
    OrganizationScopedViewSet,
):
    """Data sources of the caller's current organization."""

    # Credentials are never returned: do not even read (and decrypt) them.
    queryset = DataSource.objects.defer(*DataSource.CREDENTIAL_FIELDS)
    serializer_class = DataSourceSerializer
    filter_backends = [FilterSetBackend, ContainsSearchFilter, SortFilter]
    filterset_class = DataSourceFilterSet
    search_fields = ("name", "description")
    sort_fields = (
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
    )
    default_sort_by = "created_at"
    default_sort_order = "desc"

    def count_rows(self, queryset: QuerySet[Any]) -> int:
        """Read the trigger-kept counters when they answer the filters exactly.

        Workspace, type and status: sum the bucket counters. One tag alone: its counter.
        Search, several tags, or a tag with other filters match inside rows: count rows,
        once per version of the organization's data sources.
        """
        filters = self.list_filters
        assert filters is not None, "FilterSetBackend validated them"
        organization_id = self.membership.organization_id
        if ContainsSearchFilter().get_search_terms(self.request):
            return selectors.remembered_count(
                queryset, organization_id=organization_id, statement_key=self.statement_key()
            )
        tags = filters["tags"]
        if tags:
            alone = filters["workspace_id"] is None and not filters["type"] and not filters["status_filter"]
            if len(tags) == 1 and alone:
                return selectors.datasource_tag_count(organization_id=organization_id, tag=tags[0])
            return selectors.remembered_count(
                queryset, organization_id=organization_id, statement_key=self.statement_key()
            )
        return selectors.datasource_count(
            organization_id=organization_id,
            workspace_id=filters["workspace_id"],
            types=filters["type"],
            statuses=filters["status_filter"],
        )

    def perform_destroy(self, datasource: DataSource) -> None:
        services.datasource_delete(datasource=datasource)
