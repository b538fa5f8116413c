from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import DataError, NotSupportedError, OperationalError, router, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from datasources.models import DataSource
from organizations.models import Membership, Organization, Workspace
from rivergen.ids import parse_bigint_id


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


class IdModelChoiceField(forms.ModelChoiceField):
    """A foreign key chosen by id: a value that is no id (abc, a NUL, 30 digits) is an
    invalid choice, never a query PostgreSQL refuses."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and parse_bigint_id(str(value), allow_leading_zeros=True) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdAutocompleteSelect(AutocompleteSelect):
    """The autocomplete widget, shown again after an invalid choice: it looks up only ids."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        ids = [item for item in value if parse_bigint_id(str(item), allow_leading_zeros=True) is not None]
        return super().optgroups(name, ids, attr)


class OddInputMixin:
    """Odd values in a change list's URL, an action's selection or an autocomplete field
    answer like other bad input, never a 500.

    Django's admin checks a URL filter's field, not its value: a value the database or
    Python refuses (a NUL in a text lookup on PostgreSQL, a year past 9999, a broken
    regex) raised a 500. The list is now built and read here, and such a failure is
    Django's own "invalid lookup" answer (the list again, with ?e=1). An action on
    selected ids that are not ids (abc, 1.5, 30 digits) selects nothing.
    """

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        try:
            # In its own transaction (a savepoint inside one): PostgreSQL refuses any
            # statement after an error until the transaction it happened in ends.
            with transaction.atomic(using=router.db_for_read(self.model)):  # type: ignore[attr-defined]
                changelist = super().get_changelist_instance(request)  # type: ignore[misc]
                len(changelist.result_list)  # read here, not while the template renders
        except (DataError, NotSupportedError, OperationalError, ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
        return changelist

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs.setdefault("widget", IdAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using")))  # type: ignore[attr-defined]
            kwargs.setdefault("form_class", IdModelChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(parse_bigint_id(value, allow_leading_zeros=True) is None for value in selected):
            self.message_user(request, "The selection held something that is not an id.", messages.WARNING)  # type: ignore[attr-defined]
            return None
        return super().response_action(request, queryset)  # type: ignore[misc]


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
class OrganizationAdmin(OddInputMixin, NullSafeSearchMixin, admin.ModelAdmin):
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
class WorkspaceAdmin(OddInputMixin, NullSafeSearchMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A workspace never moves between organizations: its data sources would follow.
        return ["organization", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]


@admin.register(Membership)
class MembershipAdmin(OddInputMixin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    raw_id_fields = ["user"]
