"""Serializer pieces shared by the API's apps."""

from typing import Any

from rivergen.api.renderers import in_utc


class ColumnRepresentationMixin:
    """Represent an object straight from its columns, without a serializer field per value.

    `read_columns` are model attribute names that are also the API's keys, in output
    order. The list endpoint reads rows as `.values(*read_columns)` (no model instances
    at all) and passes the dicts here; one object passes the instance. Timestamps stay
    datetimes, in UTC: the JSON renderer writes them in the contract's format, in C
    (`rivergen/api/renderers.py`), which formatting each in Python cost 3 µs apiece, a
    fifth of a 100-row page's CPU. The declared fields still validate writes and
    describe the schema; a test checks both representations render alike.
    """

    read_columns: tuple[str, ...] = ()
    _read_column_set: frozenset[str] = frozenset()
    _rows_as_read: frozenset[str] = frozenset()  # represent_rows's columns (none: never)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Rows stand for their own representation only while it is this mixin's: a
        # subclass that masks or adds a field, or lists through a serializer of its own,
        # makes every row go through it.
        cls._read_column_set = frozenset(cls.read_columns)
        as_read = cls.to_representation is ColumnRepresentationMixin.to_representation and not hasattr(
            getattr(cls, "Meta", None), "list_serializer_class"
        )
        cls._rows_as_read = cls._read_column_set if as_read else frozenset()

    @classmethod
    def represent_rows(cls, rows: list[Any]) -> list[dict[str, Any]] | None:
        """A list page's representation without building a serializer: None if it needs one.

        Rows read as `.values(*read_columns)` (the list path) already are what
        `to_representation` would copy, key for key and in order; they are fresh dicts
        nobody else holds, so they are handed on as they are. Each row's keys are checked,
        or once for all the rows of one statement (`rivergen.db.statements.ColumnRows`).
        Building the list serializer and its child only to copy them cost 8% of a list
        request's instructions.
        """
        columns = cls._rows_as_read
        if not columns:
            return None
        if not rows:
            return rows
        read: tuple[str, ...] | None = getattr(rows, "columns", None)
        if read is not None:
            # One statement's rows (ColumnRows): their shared keys are checked once, not per row.
            return rows if len(read) == len(columns) and columns.issuperset(read) else None
        for row in rows:
            if type(row) is not dict or row.keys() != columns:
                return None
        return rows

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, dict):
            # A list row, `.values(*read_columns)`: copied whole when it holds exactly these
            # keys (the list path: a C-level copy), else only these are taken, whatever else
            # it holds (an annotation, a credential). The database hands timestamps back in
            # UTC: Django sets the connection's time zone to UTC (USE_TZ).
            if instance.keys() == self._read_column_set:
                return dict(instance)
            return {column: instance[column] for column in self.read_columns}
        # An instance may hold a datetime set in code, in any time zone.
        return {column: in_utc(getattr(instance, column)) for column in self.read_columns}
