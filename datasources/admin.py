from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from datasources import services
from datasources.models import DataSource


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
        cleaned = super().clean()
        cleared = set(cleaned.get("clear_credentials") or [])
        for name in DataSource.CREDENTIAL_FIELDS:
            if name in cleared:
                cleaned[name] = None
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name) if self.instance.pk else None
        return cleaned


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    form = DataSourceAdminForm
    list_display = ["name", "organization", "workspace", "type", "status", "last_tested_at"]
    list_filter = ["type", "status", "organization"]
    list_select_related = ["organization", "workspace"]
    search_fields = ["name", "description", "host"]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[DataSource]:
        # The change list never shows credentials, so never decrypts them.
        return super().get_queryset(request).defer(*DataSource.CREDENTIAL_FIELDS)

    def save_model(self, request: HttpRequest, obj: DataSource, form: Any, change: bool) -> None:
        services.datasource_save(datasource=obj)

    def delete_model(self, request: HttpRequest, obj: DataSource) -> None:
        services.datasource_delete(datasource=obj)
