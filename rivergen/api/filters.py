"""List query parameters shared by the API's viewsets: search, sorting, filter fields.

Every backend validates its parameters and raises ValidationError, which the
exception handler answers as 400 VALIDATION_ERROR with the parameter as the field.

A backend whose validation and filtering read nothing but the query string says so with
`builds_from_query_alone(view)`: a list's queryset and SQL are then built once per query
string and organization (OrganizationScopedViewSet.statement_key). A list with any other
backend is built and compiled on every request.
"""

import copy
from typing import Any

import django_filters
from django import forms
from django.db.models import F, OrderBy, QuerySet
from django.http import QueryDict
from django_filters.filters import AllValuesFilter, AllValuesMultipleFilter, DateRangeFilter, QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, SearchFilter
from rest_framework.request import Request

from rivergen.ids import MAX_BIGINT, parse_bigint_id


class ContainsSearchFilter(SearchFilter):
    """`search`: one case-insensitive substring, matched against any `search_fields`.

    Unlike DRF's default, the value is not split into words: `search=prod db`
    matches "Prod DB replica" but not "DB for prod".
    """

    search_param = "search"
    max_length = 200

    def builds_from_query_alone(self, view: Any) -> bool:
        return True

    def get_search_terms(self, request: Request) -> list[str]:
        value = request.query_params.get(self.search_param, "")
        if len(value) > self.max_length:
            raise ValidationError({self.search_param: [f"Must be at most {self.max_length} characters."]})
        if "\x00" in value:
            raise ValidationError({self.search_param: ["Must not contain null characters."]})
        value = value.strip()
        return [value] if value else []

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        search_fields = getattr(view, "search_fields", None)
        if not search_fields:
            return []  # Nothing to search: the parameter would filter nothing.
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": f"Case-insensitive substring of {' or '.join(search_fields)}.",
                # No NUL character (API.md §3).
                "schema": {"type": "string", "maxLength": self.max_length, "pattern": r"^[^\x00]*$"},
            }
        ]


class SortFilter(BaseFilterBackend):
    """`sort_by` and `sort_order`, OrderingFilter-style, against the view's `sort_fields`.

    Only the listed fields can be sorted on (never credentials). Nulls sort last in
    both directions, and ties are broken by `id` in the same direction, so paging is
    stable.
    """

    sort_by_param = "sort_by"
    sort_order_param = "sort_order"

    def builds_from_query_alone(self, view: Any) -> bool:
        return True

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        sort_fields: tuple[str, ...] = view.sort_fields
        sort_by = request.query_params.get(self.sort_by_param) or view.default_sort_by
        if sort_by not in sort_fields:
            raise ValidationError({self.sort_by_param: [f"Must be one of: {', '.join(sort_fields)}."]})
        sort_order = (request.query_params.get(self.sort_order_param) or view.default_sort_order).lower()
        if sort_order not in ("asc", "desc"):
            raise ValidationError({self.sort_order_param: ['Must be "asc" or "desc".']})
        return queryset.order_by(*self.order_by(queryset.model, sort_by, descending=sort_order == "desc"))

    @staticmethod
    def order_by(model: Any, field_name: str, *, descending: bool) -> list[OrderBy]:
        fields = [field_name] if field_name == "id" else [field_name, "id"]
        expressions = []
        for name in fields:
            # Only nullable columns get NULLS LAST, so the others can use plain indexes.
            nulls_last = True if model._meta.get_field(name).null else None
            expression = F(name).desc(nulls_last=nulls_last) if descending else F(name).asc(nulls_last=nulls_last)
            expressions.append(expression)
        return expressions

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.sort_by_param,
                "required": False,
                "in": "query",
                "description": "Field to sort by; ties are broken by id.",
                "schema": {"type": "string", "enum": list(view.sort_fields), "default": view.default_sort_by},
            },
            {
                "name": self.sort_order_param,
                "required": False,
                "in": "query",
                "description": "Sort direction, case-insensitive. Nulls sort last either way.",
                "schema": {"type": "string", "enum": ["asc", "desc"], "default": view.default_sort_order},
            },
        ]


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, building its form class once per class, not per request.

    The stock `get_form_class` makes a new Form class from the filters on every
    request; the fields depend only on the declared filters, and Django copies a form's
    base fields for each form instance anyway.
    """

    _form_class: type[forms.Form] | None = None
    #: True when every filter's validation and effect depend on its query value alone (no
    #: rows, no clock, no user): lists may then remember what they built (FilterSetBackend).
    reads_query_alone = False

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Any] | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        """django-filter's __init__, copying each filter shallowly instead of deep-copying all.

        The deep copy also copied every filter's form field, choices and widget: 0.35 ms
        of each list request's CPU. Each instance still gets filters of its own (`parent`,
        `model` and `extra` per instance); a filter's `method` is re-bound to its copy.
        """
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: copy.copy(filter_) for name, filter_ in self.base_filters.items()}
        for filter_ in self.filters.values():
            # Some filters (ModelChoiceFilter, AllValuesFilter) write per-request values here.
            filter_.extra = dict(filter_.extra)
            if filter_.method is not None:
                filter_.method = filter_.method  # a FilterMethod of its own, bound to this copy
            filter_.model = queryset.model
            filter_.parent = self

    def get_form_class(self) -> type[forms.Form]:
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            form_class = cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            form_class.base_fields = _SharedFields(form_class.base_fields)  # type: ignore[attr-defined]
        return form_class


class _SharedFields(dict[str, forms.Field]):
    """A form's base fields that every form instance shares instead of deep-copying.

    Django deep-copies a form's fields (widgets, choices) for each instance, so that one
    instance may alter its own; a filter form never does, and the copy cost ~0.15 ms of
    every list request. Each instance still gets its own dict of them.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


class FilterSetBackend(DjangoFilterBackend):
    """django-filter's backend, keeping the validated filters on the view.

    Views read `view.list_filters` when they need the parsed filters again
    (DataSourceViewSet counts from them). Only the values: a list's queryset and its
    filters are remembered across requests (ListModelMixin.list_queryset), the form and
    the request are not.
    """

    def builds_from_query_alone(self, view: Any) -> bool:
        """Whether the view's FilterSet declares `reads_query_alone` (rivergen.api.filters.FilterSet).

        Declared, not inferred: a filter may read the clock (DateRangeFilter), the request's
        user (a `method`, a queryset callable) or rows (ModelChoiceFilter: a row gone would
        go on being accepted), and no list of such filters is ever complete. Even declared,
        a FilterSet holding one of the kinds known to read more is refused.
        """
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None:
            return getattr(view, "filterset_fields", None) is None  # no filters at all
        if not getattr(filterset_class, "reads_query_alone", False):
            return False
        return not any(
            isinstance(filter_, _READS_MORE_THAN_ITS_VALUE) or filter_.method is not None
            for filter_ in filterset_class.base_filters.values()
        )

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        view.list_filters = filterset.form.cleaned_data
        return filterset.qs


_READS_MORE_THAN_ITS_VALUE = (QuerySetRequestMixin, AllValuesFilter, AllValuesMultipleFilter, DateRangeFilter)


class CSVMultipleChoiceField(forms.MultipleChoiceField):
    """Choices given comma-separated, repeated, or both: `type=a,b&type=c`."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else (value or [])
        return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


class CSVChoiceInFilter(django_filters.Filter):
    """Rows whose field is any of the given choices."""

    field_class = CSVMultipleChoiceField

    def filter(self, qs: QuerySet[Any], value: list[str]) -> QuerySet[Any]:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class PositiveBigIntegerField(forms.Field):
    default_error_messages = {"invalid": f"Must be a positive integer no larger than {MAX_BIGINT}."}

    def to_python(self, value: Any) -> int | None:
        value = (value or "").strip()
        if not value:
            return None
        parsed = parse_bigint_id(value, allow_leading_zeros=True)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class PositiveBigIntegerFilter(django_filters.Filter):
    """An id parameter: digits only, 1..2**63-1 (so it fits any database's bigint)."""

    field_class = PositiveBigIntegerField
