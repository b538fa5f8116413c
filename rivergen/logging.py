"""Structured logging: the request id of the current request, and the log formatters.

`RequestLogMiddleware` binds each request's id with `bind_request_id`; a log record
factory stamps it on every record as `record.request_id`, so every line logged while
the request runs (the request log, the API's exception handler, Django's own errors)
carries it, whichever handler writes the line: ours, gunicorn's or pytest's caplog.

`JSONFormatter` writes one JSON object per line; `PlainFormatter` is for a terminal.
This module imports nothing from Django: gunicorn's master loads it too.
"""

import json
import logging
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import orjson

LOG_FORMATS = ("json", "plain")

_request_id: ContextVar[str | None] = ContextVar("rivergen_request_id", default=None)


def get_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str | None) -> Token[str | None]:
    return _request_id.set(request_id)


def _install_record_factory() -> None:
    """Stamp `request_id` on every record created from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    record_factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_factory)


_install_record_factory()

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}
_JSON_SCALARS = (str, int, float, bool, type(None))


def _utc_timestamp(created: float) -> str:
    """2024-12-01T10:00:00.123Z"""
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras.

    Only scalar `extra=` values are written: objects such as Django's `request`
    (headers, cookies, Authorization) are never serialised into a log line.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and isinstance(value, _JSON_SCALARS):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            # orjson: a third of the standard library's cost, on every request's line.
            line = orjson.dumps(entry, default=_number_or_text).decode()
        except (orjson.JSONEncodeError, TypeError):  # a lone surrogate, an integer past 64 bits
            line = ""
        # ASCII only, as the standard library writes it: a line must survive any stream
        # encoding. Anything else (or nothing) goes through the standard library's escaping.
        return line if line and line.isascii() else json.dumps(entry, default=str, separators=(",", ":"))


def _number_or_text(value: Any) -> Any:
    """What orjson does not write itself: a float subclass stays a number; the rest, text."""
    return float(value) if isinstance(value, float) else str(value)


class PlainFormatter(logging.Formatter):
    """Human-readable lines for development, with the request id when there is one."""

    def __init__(self, fmt: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        # Other handlers share the record: show "-" without changing it for them.
        record.request_id = request_id or "-"
        try:
            return super().format(record)
        finally:
            record.request_id = request_id
