from typing import Any

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from datasources.models import DataSource
from organizations.models import Membership, Organization, Workspace


class NullSafeSearchMixin:
    """A search term with a NUL character matches nothing instead of failing.

    The change list's search form already refuses such terms, but the autocomplete
    view (autocomplete_fields) passes its `term` straight to get_search_results, and
    PostgreSQL cannot compare text with a NUL in it.
    """

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]


class WorkspaceInline(admin.TabularInline):
    model = Workspace
    extra = 0
    fields = ["name", "created_at"]
    readonly_fields = ["created_at"]
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(NullSafeSearchMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "data_source_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    inlines = [WorkspaceInline, MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        # One correlated count per listed organization, answered from the data sources'
        # organization index: no query per row, and no GROUP BY over every data source
        # (which the autocomplete, also built on this queryset, would pay for each keystroke).
        data_sources = (
            DataSource.objects.filter(organization=OuterRef("pk"))
            .order_by()
            .values("organization")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(data_source_count=Coalesce(Subquery(data_sources, output_field=IntegerField()), 0))
        )

    @admin.display(description="data sources", ordering="data_source_count")
    def data_source_count(self, obj: Organization) -> int:
        return obj.data_source_count  # type: ignore[attr-defined]


@admin.register(Workspace)
class WorkspaceAdmin(NullSafeSearchMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A workspace never moves between organizations: its data sources would follow.
        return ["organization", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    raw_id_fields = ["user"]
