"""Serializer pieces shared by the API's apps."""

from datetime import UTC, datetime
from typing import Any

#: The contract's timestamps: UTC, second precision, `Z` suffix (also DRF's DATETIME_FORMAT).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


class ColumnRepresentationMixin:
    """Represent an object straight from its columns, without a serializer field per value.

    `read_columns` are model attribute names that are also the API's keys, in output
    order; `timestamp_columns` among them are formatted. The list endpoint reads rows
    as `.values(*read_columns)` (no model instances at all) and passes the dicts here;
    one object passes the instance. The declared fields still validate writes and
    describe the schema; a test checks both representations agree.
    """

    read_columns: tuple[str, ...] = ()
    timestamp_columns: frozenset[str] = frozenset()
    _read_column_set: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._read_column_set = frozenset(cls.read_columns)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, dict):
            # A list row, `.values(*read_columns)`: copied whole when it holds exactly these
            # keys (the list path: a C-level copy), else only these are taken, whatever else
            # it holds (an annotation, a credential). Only the timestamps are rewritten.
            if instance.keys() == self._read_column_set:
                row = dict(instance)
            else:
                row = {column: instance[column] for column in self.read_columns}
            for column in self.timestamp_columns:
                row[column] = format_timestamp(row[column])
            return row
        timestamps = self.timestamp_columns
        return {
            column: format_timestamp(getattr(instance, column)) if column in timestamps else getattr(instance, column)
            for column in self.read_columns
        }
