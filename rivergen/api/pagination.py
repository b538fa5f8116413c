"""The one pagination class: builds every list envelope.

Schema of `data`:
    {"items": [...],
     "pagination": {"page", "page_size", "total_items", "total_pages",
                    "has_next", "has_previous"}}
"""

import math
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.db.models.query import ValuesIterable
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from rivergen.api.envelope import success_response
from rivergen.db.statements import STATEMENTS

_DIGITS = re.compile(r"[0-9]{1,12}")


def parse_bounded_int(request: Request, param: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(param)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise ValidationError({param: [f"Must be an integer between 1 and {maximum:,}."]})
    return int(raw)


class EnvelopePagination(BasePagination):
    #: From this many skipped rows on, a page is read as a deferred join (see `_rows`).
    deferred_join_from = 1_000
    page_query_param = "page"
    page_size_query_param = "page_size"
    default_page_size = 20
    max_page_size = 100
    max_page = 1_000_000

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        if not queryset.ordered:
            # Unordered pages repeat and skip rows between requests.
            raise ImproperlyConfigured("EnvelopePagination needs an ordered queryset.")
        self.page = parse_bounded_int(request, self.page_query_param, 1, self.max_page)
        self.page_size = parse_bounded_int(
            request, self.page_size_query_param, self.default_page_size, self.max_page_size
        )
        self.message = view.message("retrieved", plural=True)
        # The view's name for what it built the queryset from: each page's SQL is compiled once.
        self.statement_key = view.statement_key() if hasattr(view, "statement_key") else None
        if self.page == 1:
            items = self._read(lambda: queryset[: self.page_size], queryset, "page", 0, self.page_size)
            # A short first page is the whole list: the total is exact without a COUNT.
            self.total_items = len(items) if len(items) < self.page_size else view.count_rows(queryset)
            return items
        self.total_items = view.count_rows(queryset)
        return self._page_of(queryset, offset=(self.page - 1) * self.page_size)

    def _page_of(self, queryset: QuerySet[Any], offset: int) -> list[Any]:
        """The rows at offset, read from whichever end of the ordering is nearer.

        OFFSET walks and discards every row before the page; for the last pages of a
        long list, reading the reversed ordering from the end skips far fewer rows.
        """
        end = min(offset + self.page_size, self.total_items)
        if offset >= end:
            return []
        if offset <= self.total_items - end:
            return self._rows(queryset, True, offset, end)
        rows_after_page = self.total_items - end
        return self._rows(queryset, False, rows_after_page, rows_after_page + end - offset)

    def _rows(self, queryset: QuerySet[Any], forward: bool, start: int, stop: int) -> list[Any]:
        """Rows start..stop of `queryset` (forward) or of its reverse, in `queryset`'s order.

        Far from both ends, walking the ordering's index to the page fetched every skipped
        row from the table (page 2,000 of 500,000 rows: 20-30 ms). There the page's ids are
        read first, from the index alone, and only those rows fetched (6 ms).
        """

        def walked() -> QuerySet[Any]:
            return queryset if forward else queryset.reverse()

        if start < self.deferred_join_from:
            rows = self._read(lambda: walked()[start:stop], queryset, "page", start, stop, forward)
            if not forward:
                rows.reverse()  # in place: still the statement's rows (ColumnRows)
            return rows
        return self._read(
            lambda: queryset.filter(pk__in=walked().values("pk")[start:stop]), queryset, "ids", start, stop, forward
        )

    def _read(self, build: Callable[[], QuerySet[Any]], listed: QuerySet[Any], *page: Any) -> list[Any]:
        """The rows of the page `build()` reads from the `listed` queryset.

        Under a statement key the page's statement is compiled once, and `build` (slicing,
        reversing, the deferred join: each a queryset clone) only called then.
        """
        if self.statement_key is None or listed._iterable_class is not ValuesIterable:
            return list(build())
        return STATEMENTS.values((self.statement_key, *page), build, using=listed.db)

    def get_paginated_response(self, data: Any) -> Response:
        total_pages = math.ceil(self.total_items / self.page_size)
        pagination = {
            "page": self.page,
            "page_size": self.page_size,
            "total_items": self.total_items,
            "total_pages": total_pages,
            "has_next": self.page < total_pages,
            "has_previous": self.page > 1,
        }
        return success_response({"items": data, "pagination": pagination}, self.message)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["success", "data", "message"],
            "properties": {
                "success": {"type": "boolean", "enum": [True]},
                "message": {"type": "string"},
                "data": {
                    "type": "object",
                    "required": ["items", "pagination"],
                    "properties": {
                        "items": schema,
                        "pagination": {
                            "type": "object",
                            "required": ["page", "page_size", "total_items", "total_pages", "has_next", "has_previous"],
                            "properties": {
                                "page": {"type": "integer", "minimum": 1},
                                "page_size": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
                                "total_items": {"type": "integer", "minimum": 0},
                                "total_pages": {"type": "integer", "minimum": 0},
                                "has_next": {"type": "boolean"},
                                "has_previous": {"type": "boolean"},
                            },
                        },
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "1-based page number.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page, "default": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Items per page.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.default_page_size,
                },
            },
        ]
