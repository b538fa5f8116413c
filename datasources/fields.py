from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import DataContains

from rivergen import crypto


class EncryptedTextField(models.TextField):
    """Stored as a Fernet token, read back as clear text. Cannot be filtered or sorted on."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        return crypto.encrypt(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else crypto.decrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        # Lookups would compare against ciphertext: refuse all but null checks.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None


class TagListField(models.JSONField):
    """A JSON list of tag strings, with a `contains_all` lookup on every database."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # orjson: a third of json's time, and every listed row has tags. Anything else a
        # database hands back (a KeyTransform's scalar) goes through Django's own.
        if isinstance(value, str) and self.decoder is None:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)


@TagListField.register_lookup
class ContainsAll(DataContains):
    """Rows whose list holds every value of the given list.

    PostgreSQL uses jsonb `@>` (GIN-indexable); SQLite has no JSON containment, so
    each wanted value must appear among the row's JSON_EACH values.
    """

    lookup_name = "contains_all"

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = (
            f"NOT EXISTS (SELECT 1 FROM JSON_EACH({rhs}) AS wanted "
            # Text values only: a null element would make NOT IN unknown, matching any tag.
            f"WHERE wanted.value NOT IN (SELECT have.value FROM JSON_EACH({lhs}) AS have WHERE have.type = 'text'))"
        )
        return sql, (*rhs_params, *lhs_params)
