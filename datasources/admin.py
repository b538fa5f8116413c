import contextlib
import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from datasources import services
from datasources.models import MAX_TAG_LENGTH, DataSource, DataSourceStatus
from organizations.admin import NullSafeSearchMixin, OddInputMixin
from organizations.models import Workspace
from rivergen.errors import NotFoundError
from rivergen.ids import MAX_BIGINT

ORGANIZATION_PARAMETER = "organization__id__exact"


def _selected_organization_id(request: HttpRequest) -> int | None:
    """The organization chosen in the change list's organization filter, if any."""
    value = request.GET.get(ORGANIZATION_PARAMETER, "")
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value) if int(value) <= MAX_BIGINT else None  # larger ids exist in no bigint column


def most_common_tags(*, limit: int, organization_id: int | None = None) -> list[tuple[str, int]]:
    """The `limit` most used tags with their counts, most used first, on SQLite or PostgreSQL.

    One aggregate query in the database (tags are a JSON list per row); other
    databases get no suggestions, and the tag filter still works from its URL.
    """
    connection = connections[router.db_for_read(DataSource)]
    table = connection.ops.quote_name(DataSource._meta.db_table)
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT tag, COUNT(*) FROM {table} CROSS JOIN LATERAL jsonb_array_elements_text({table}.tags) AS tag "
            f"WHERE jsonb_typeof({table}.tags) = 'array'"
        )
    elif connection.vendor == "sqlite":
        sql = (
            f"SELECT tag.value, COUNT(*) FROM {table}, json_each({table}.tags) AS tag "
            f"WHERE json_type({table}.tags) = 'array'"
        )
    else:
        return []
    params: list[Any] = []
    if organization_id is not None:
        sql += f" AND {table}.organization_id = %s"
        params.append(organization_id)
    sql += " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(tag, count) for tag, count in cursor.fetchall()]


class TagListFilter(admin.SimpleListFilter):
    """The most used tags (of the chosen organization, if one is); any tag works as `?tag=`.

    Counting tags reads every row (about 50 ms for 100,000 on PostgreSQL), so the
    suggestions are cached for a few minutes: a new tag may take that long to be offered.
    """

    title = "tag"
    parameter_name = "tag"
    suggestions = 15
    cache_seconds = 300

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        organization_id = _selected_organization_id(request)
        key = f"datasources:admin:common-tags:{organization_id or 'all'}"
        common = cache.get(key)
        if common is None:
            common = most_common_tags(limit=self.suggestions, organization_id=organization_id)
            cache.set(key, common, self.cache_seconds)
        tags = [tag for tag, _count in common]
        current = self.value()
        if current and current not in tags:
            tags.append(current)  # a tag typed into the URL still shows as selected
        return [(tag, tag) for tag in tags]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> QuerySet[DataSource]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(self.condition(value))

    def condition(self, value: str) -> Q:
        tag = value.strip().lower()
        if not tag or len(tag) > MAX_TAG_LENGTH or "\x00" in tag:
            return Q(pk__in=[])  # no stored tag can look like this
        return Q(tags__contains_all=[tag])


class LastTestedListFilter(admin.SimpleListFilter):
    """When the connection was last tested: recently, a while ago, or never."""

    title = "last tested"
    parameter_name = "tested"
    RECENT = timedelta(hours=24)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("24h", "In the last 24 hours"), ("older", "More than 24 hours ago"), ("never", "Never")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> QuerySet[DataSource]:
        condition = self.condition(self.value())
        return queryset if condition is None else queryset.filter(condition)

    def condition(self, value: str | None) -> Q | None:
        since = timezone.now() - self.RECENT
        return {
            "24h": Q(last_tested_at__gte=since),
            "older": Q(last_tested_at__lt=since),
            "never": Q(last_tested_at__isnull=True),
        }.get(value or "")


class WorkspaceListFilter(admin.RelatedFieldListFilter):
    """Workspaces labelled with their organization, only the chosen organization's if one is."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[Any, Any]]:
        workspaces = Workspace.objects.select_related("organization").order_by("organization__name", "name", "id")
        organization_id = _selected_organization_id(request)
        if organization_id is not None:
            workspaces = workspaces.filter(organization_id=organization_id)
        return [(workspace.pk, f"{workspace.organization} / {workspace}") for workspace in workspaces]


class TagsJSONField(forms.JSONField):
    """The tags' JSON: input json.loads cannot read, or text UTF-8 cannot carry, is invalid."""

    def to_python(self, value: Any) -> Any:
        try:
            converted = super().to_python(value)
            json.dumps(converted, ensure_ascii=False).encode()  # a lone surrogate (\ud800)
        except (RecursionError, ValueError, UnicodeEncodeError):  # deep nesting, 5,000 digits
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        """What the form shows again: the text as sent, when it is no valid input."""
        if self.disabled:
            return initial
        try:
            return self.to_python(data)
        except ValidationError:
            return forms.fields.InvalidJSONInput(data)


class DataSourceAdminForm(forms.ModelForm):
    """Credentials can be set or cleared here, but their stored values are never shown."""

    username = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}), help_text="Leave blank to keep."
    )
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Leave blank to keep."
    )
    ssh_username = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}), help_text="Leave blank to keep."
    )
    ssh_private_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Leave blank to keep."
    )
    clear_credentials = forms.MultipleChoiceField(
        required=False,
        choices=[(name, name) for name in DataSource.CREDENTIAL_FIELDS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Remove these stored credentials.",
    )

    class Meta:
        model = DataSource
        field_classes = {"tags": TagsJSONField}
        fields = [
            "organization",
            "workspace",
            "name",
            "type",
            "description",
            "tags",
            "host",
            "port",
            "database_name",
            "schema_name",
            "file_path",
            "use_ssh_tunnel",
            "ssh_host",
            "ssh_port",
            "schema_auto_refresh",
            *DataSource.CREDENTIAL_FIELDS,
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name in DataSource.CREDENTIAL_FIELDS:
            self.initial[name] = ""  # never render a stored credential

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleared = set(cleaned.get("clear_credentials") or [])
        for name in DataSource.CREDENTIAL_FIELDS:
            if name in cleared:
                cleaned[name] = None
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name) if self.instance.pk else None
        return cleaned


@admin.register(DataSource)
class DataSourceAdmin(OddInputMixin, NullSafeSearchMixin, admin.ModelAdmin):
    """Operators' view of every organization's data sources.

    Built to stay fast at 100,000 rows (bench/admin_changelist.py): no full count and
    no facet counts, filter choices from small tables or a cached aggregate, and
    indexes for the default order, the filters and the search (migration 0003).
    """

    form = DataSourceAdminForm
    list_display = ["name", "organization", "workspace", "type", "status", "tag_list", "last_tested_at", "created_at"]
    list_filter = [
        "organization",
        ("workspace", WorkspaceListFilter),
        "type",
        "status",
        TagListFilter,
        LastTestedListFilter,
    ]
    list_select_related = ["organization", "workspace"]
    search_fields = ["name", "description", "host"]
    search_help_text = "Search by name, description or host."
    date_hierarchy = "created_at"
    # No full count, and no per-choice counts ("Show counts"): each is a scan of every
    # data source (facets took 0.5-1.4 s at 100,000 rows).
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ["organization", "workspace"]
    actions = ["mark_as_maintenance", "mark_as_inactive"]
    readonly_fields = [
        "status",
        "last_tested_at",
        "last_successful_connection_at",
        "schema_discovered_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["organization", "workspace", "name", "type", "description", "tags"]}),
        ("Connection", {"fields": ["host", "port", "database_name", "schema_name", "file_path"]}),
        ("SSH tunnel", {"fields": ["use_ssh_tunnel", "ssh_host", "ssh_port"]}),
        ("Credentials", {"fields": [*DataSource.CREDENTIAL_FIELDS, "clear_credentials"]}),
        ("Health (server-owned)", {"fields": [*readonly_fields, "schema_auto_refresh"]}),
    ]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Credentials are never shown, so no URL filter may reveal them either
        # (?username__startswith=a, then ab, ...): Django's admin allows any local field.
        if lookup.split(LOOKUP_SEP)[0] in DataSource.CREDENTIAL_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DataSource]:
        # The change list never shows credentials, so never decrypts them.
        return super().get_queryset(request).defer(*DataSource.CREDENTIAL_FIELDS)

    @admin.display(description="tags")
    def tag_list(self, obj: DataSource) -> str:
        return ", ".join(obj.tags or [])

    def save_model(self, request: HttpRequest, obj: DataSource, form: Any, change: bool) -> None:
        services.datasource_save(datasource=obj)

    def delete_model(self, request: HttpRequest, obj: DataSource) -> None:
        # Deleted by someone else since the confirmation page: gone all the same.
        with contextlib.suppress(NotFoundError):
            services.datasource_delete(datasource=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> None:
        # The "delete selected" action goes through the service too, one data source at a time.
        # Every selected row is locked first, in id order: the first delete takes the
        # organization's version row (migration 0009) until commit, so a concurrent write
        # must not hold one of the rows still to delete (each would wait for the other).
        with transaction.atomic():
            selected = queryset.select_related(None).select_for_update(of=("self",)).order_by("pk").only("pk")
            for datasource in list(selected):
                services.datasource_delete(datasource=datasource)

    @admin.action(description="Mark as maintenance", permissions=["change"])
    def mark_as_maintenance(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> None:
        self._set_status(request, queryset, DataSourceStatus.MAINTENANCE)

    @admin.action(description="Mark as inactive", permissions=["change"])
    def mark_as_inactive(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> None:
        self._set_status(request, queryset, DataSourceStatus.INACTIVE)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[DataSource], status: DataSourceStatus) -> None:
        """Set a server-owned status in one UPDATE, log each change, and say how many changed."""
        label = status.label.lower()
        with transaction.atomic():
            selected = queryset.count()
            changing = queryset.exclude(status=status)
            # Locked so the logged rows are the updated ones (a no-op on SQLite, which locks the database).
            logged = list(changing.select_related(None).select_for_update(of=("self",)).only("pk", "name"))
            updated = changing.update(status=status, updated_at=timezone.now())
            if logged:
                LogEntry.objects.log_actions(
                    user_id=request.user.pk or 0,  # the admin only runs actions for signed-in staff
                    queryset=logged,
                    action_flag=CHANGE,
                    change_message=[{"changed": {"fields": ["Status"]}}],
                )
        unchanged = selected - updated
        if updated:
            message = ngettext(
                "%(count)d data source marked as %(status)s.", "%(count)d data sources marked as %(status)s.", updated
            ) % {"count": updated, "status": label}
            if unchanged:
                message += " " + ngettext(
                    "%(count)d was already %(status)s.", "%(count)d were already %(status)s.", unchanged
                ) % {"count": unchanged, "status": label}
            self.message_user(request, message, messages.SUCCESS)
        else:
            self.message_user(
                request,
                ngettext(
                    "No data source changed: the selected one was already %(status)s.",
                    "No data source changed: all %(count)d selected were already %(status)s.",
                    selected,
                )
                % {"count": selected, "status": label},
                messages.WARNING,
            )
