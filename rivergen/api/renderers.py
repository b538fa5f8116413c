import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework import renderers

#: The contract's timestamps: UTC, second precision, `Z` suffix (also DRF's DATETIME_FORMAT).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# orjson writes a UTC datetime in exactly that format with these options; naive ones are
# read as UTC (USE_TZ stores UTC). An aware datetime in another zone would keep its offset:
# datetimes must reach the renderer in UTC, as the database and ColumnRepresentationMixin
# hand them over (the fallback below converts; orjson cannot without a Python call each).
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC
# Keys other than str (an int, a date, a str subclass): orjson's option for them slows
# every dict by a quarter, so it is only used for a body refused without it (render).
_ANY_KEYS = orjson.OPT_NON_STR_KEYS


def in_utc(value: Any) -> Any:
    """A datetime in UTC (a naive one is UTC: USE_TZ stores UTC); anything else unchanged."""
    if not isinstance(value, datetime):
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _default(value: Any) -> Any:
    """Types orjson does not know: lazy translation strings (DRF's messages), decimals.

    The standard library's encoder (the fallback below) knows no datetimes either.
    """
    if isinstance(value, datetime):
        return in_utc(value).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, Promise | Decimal):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class JSONRenderer(renderers.JSONRenderer):
    """JSON with orjson (several times faster than the standard library's encoder).

    Declares the charset the contract names; DRF's browsable API asks for indentation.
    Datetimes are written as the contract's timestamps (TIMESTAMP_FORMAT).
    """

    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        options = _OPTIONS
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            options |= orjson.OPT_INDENT_2
        for attempt in (options, options | _ANY_KEYS):
            try:
                return orjson.dumps(data, default=_default, option=attempt)
            except orjson.JSONEncodeError:
                continue
        # Strings orjson refuses (lone surrogates): the standard library escapes them.
        return json.dumps(data, default=_default, ensure_ascii=True).encode()
