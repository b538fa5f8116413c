"""Serializer fields with the contract's input rules."""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of coercing them."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean that refuses what DRF would coerce (`0`, `1`, `"yes"`, `"false"`)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer that refuses what DRF would coerce (`"5432"`, `5432.0`, `true`)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class OptionalCharField(StrictCharField):
    """An optional string where `null`, `""` and blanks all mean "no value" (stored as null)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        super().__init__(allow_null=True, allow_blank=True, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return None if value == "" else value
