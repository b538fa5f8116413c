"""Base viewsets: organization scope, roles, and the success envelope for each action.

A concrete viewset only declares its queryset, serializer, filters and sort fields.
Messages come from the model's verbose names: "Data source created successfully".
"""

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import permissions, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from rivergen.api.envelope import success_response
from rivergen.api.filters import ContainsSearchFilter, SortFilter
from rivergen.api.tenancy import OrganizationScopedMixin, RolePermission
from rivergen.db.statements import STATEMENTS
from rivergen.ids import parse_bigint_id

#: Path ids: any one path segment, so `/data-sources/abc` is authenticated and answers
#: the same 404 as a missing id; only positive 64-bit integers are looked up.
ID_PATTERN = "[^/]+"


class OrganizationScopedViewSet(OrganizationScopedMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, RolePermission]
    filter_backends = [ContainsSearchFilter, SortFilter]
    lookup_value_regex = ID_PATTERN
    search_fields: tuple[str, ...] = ()
    sort_fields: tuple[str, ...] = ("id",)
    default_sort_by = "id"
    default_sort_order = "asc"
    #: Longer query strings are not keyed (statement_key).
    max_statement_key_query = 1024
    _builds_list_from_query_alone: bool  # per class
    # PUT is not part of the contract: updates are partial (PATCH).
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_object(self) -> Any:
        not_found = NotFound(f"{self._verbose_name().capitalize()} not found.")
        lookup = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if parse_bigint_id(lookup, allow_leading_zeros=True) is None:
            raise not_found
        try:
            return super().get_object()
        except Http404:
            # Same answer for another organization's rows and for missing ones.
            raise not_found from None

    def filter_queryset(self, queryset: Any) -> Any:
        # List parameters shape lists only. DRF's get_object would apply them too, so
        # `GET /data-sources/1?sort_by=x` answered 400 and `?workspace_id=2` hid the row;
        # on a detail route they are unknown parameters, and those are ignored.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def count_rows(self, queryset: QuerySet[Any]) -> int:
        """The exact number of rows of the filtered list (a view may know a cheaper way)."""
        return queryset.count()

    def statement_key(self) -> Hashable | None:
        """Everything a list's queryset is built from (rivergen/db/statements.py).

        Under this key the list's queryset is built and validated once (`list_queryset`),
        and its count's and pages' SQL compiled once (the paginator adds each page's slice).
        `get_queryset` and `filter_queryset` read the organization, the action and the query
        string (filters, search, sort; not the page and its size, which only the paginator
        reads), nothing else. A view whose list depends on more (the user, a header) adds
        it here; the test settings' STATEMENT_CACHE_VERIFY catches a miss.
        None, so that the list is built and compiled as usual: when a filter backend may
        read more than the query string (`builds_list_from_query_alone`), and for a long
        query string, so no client can make the remembered statements hold much memory (an
        entry is ~20 KB with a short one).
        """
        if not hasattr(self, "_statement_key"):
            self._statement_key: Hashable | None = None
            short = len(self.request.META.get("QUERY_STRING", "")) <= self.max_statement_key_query
            if short and self.builds_list_from_query_alone():
                paging = {getattr(self.paginator, name, None) for name in ("page_query_param", "page_size_query_param")}
                query = tuple(
                    (name, tuple(values))
                    for name, values in sorted(self.request.query_params.lists())
                    if name not in paging
                )
                kwargs = tuple(sorted(self.kwargs.items()))
                self._statement_key = (type(self), self.action, kwargs, self.membership.organization_id, query)
        return self._statement_key

    @classmethod
    def builds_list_from_query_alone(cls) -> bool:
        """Whether each filter backend validates and filters by the query string alone (rivergen/api/filters.py).

        Worked out once per class, from its `filter_backends` and `filterset_class` as they
        are at its first list request.
        """
        if "_builds_list_from_query_alone" not in cls.__dict__:
            cls._builds_list_from_query_alone = all(
                getattr(backend(), "builds_from_query_alone", lambda view: False)(cls)
                for backend in cls.filter_backends
            )
        return cls._builds_list_from_query_alone

    def message(self, verb: str, plural: bool = False) -> str:
        return f"{self._verbose_name(plural).capitalize()} {verb} successfully"

    def _verbose_name(self, plural: bool = False) -> str:
        assert self.queryset is not None, "scoped viewsets declare `queryset`"
        meta = self.queryset.model._meta
        return str(meta.verbose_name_plural if plural else meta.verbose_name)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        metadata = super().options(request, *args, **kwargs).data
        return success_response(metadata, "Options retrieved successfully")


class ListModelMixin(OrganizationScopedViewSet):
    _list_querysets: dict[tuple[str, ...], QuerySet[Any]]  # per class, by read columns

    #: The list's validated filters, as the filter backends left them (read only: shared).
    list_filters: Mapping[str, Any] | None = None

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.list_queryset())
        assert page is not None, "every list is paginated (EnvelopePagination)"
        return self.get_paginated_response(self.represent_page(page))

    def represent_page(self, page: Sequence[Any]) -> Any:
        """The page's items: the serializer's, or its rows as they are when they already are that."""
        represent_rows = getattr(self.get_serializer_class(), "represent_rows", None)
        items = represent_rows(page) if represent_rows is not None else None
        return self.get_serializer(page, many=True).data if items is None else items

    def list_queryset(self) -> QuerySet[Any]:
        """`filter_queryset(get_queryset())`, built once per `statement_key` (rivergen/db/statements.py).

        Building it (scope, filter form, search, sort) cost ~0.65 ms of a list request's
        CPU. The same key builds the same queryset and passes the same validation, so
        later requests reuse it, and the filters it validated (`list_filters`).
        """
        key = self.statement_key()
        if key is None:
            return self.filter_queryset(self.get_queryset())

        def build() -> tuple[QuerySet[Any], Mapping[str, Any] | None]:
            return self.filter_queryset(self.get_queryset()), self.list_filters

        queryset, self.list_filters = STATEMENTS.queryset(key, build)
        return queryset

    def unscoped_queryset(self) -> QuerySet[Any]:
        """For a list, rows as dicts of exactly the returned columns: no model instances to build.

        The serializer's `read_columns` (ColumnRepresentationMixin); `.values()` resolves
        them once per viewset and serializer, not per request (it cost ~0.2 ms of CPU).
        """
        read_columns = getattr(self.get_serializer_class(), "read_columns", ())
        if self.action != "list" or not read_columns:
            return super().unscoped_queryset()
        cls = type(self)
        if "_list_querysets" not in cls.__dict__:
            cls._list_querysets = {}
        if read_columns not in cls._list_querysets:
            cls._list_querysets[read_columns] = super().unscoped_queryset().values(*read_columns)
        return cls._list_querysets[read_columns].all()


class RetrieveModelMixin(OrganizationScopedViewSet):
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return success_response(self.get_serializer(self.get_object()).data, self.message("retrieved"))


class CreateModelMixin(OrganizationScopedViewSet):
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return success_response(serializer.data, self.message("created"), status=201)


class PartialUpdateModelMixin(OrganizationScopedViewSet):
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return success_response(serializer.data, self.message("updated"))


class DestroyModelMixin(OrganizationScopedViewSet):
    def perform_destroy(self, instance: Any) -> None:
        raise NotImplementedError("Delete through the app's service function.")

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.perform_destroy(self.get_object())
        return success_response(None, self.message("deleted"))
