from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from datasources.models import MAX_TAGS, DataSource, DataSourceStatus, DataSourceType
from rivergen.api.filters import CSVChoiceInFilter, FilterSet, PositiveBigIntegerFilter


class TagListQueryField(forms.Field):
    """`tags=a,b` (or repeated): trimmed, lower-cased, at most MAX_TAGS."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else (value or [])
        tags = [part.strip().lower() for item in items for part in str(item).split(",") if part.strip()]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags are allowed.", code="max_tags")
        if any("\x00" in tag for tag in tags):
            raise forms.ValidationError("Tags cannot contain null characters.", code="null_characters")
        return list(dict.fromkeys(tags))


class TagsContainAllFilter(django_filters.Filter):
    field_class = TagListQueryField

    def filter(self, qs: QuerySet[Any], value: list[str]) -> QuerySet[Any]:
        return qs.filter(tags__contains_all=value) if value else qs


class DataSourceFilterSet(FilterSet):
    # Ids, fixed choices and tags, parsed from the query string; nothing looked up.
    reads_query_alone = True

    workspace_id = PositiveBigIntegerFilter(field_name="workspace_id")
    type = CSVChoiceInFilter(field_name="type", choices=DataSourceType.choices)
    status_filter = CSVChoiceInFilter(field_name="status", choices=DataSourceStatus.choices)
    tags = TagsContainAllFilter(field_name="tags")

    class Meta:
        model = DataSource
        fields = ["workspace_id", "type", "status_filter", "tags"]
