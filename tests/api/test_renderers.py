"""The JSON renderer writes every datetime as the contract's timestamp, on either encoder."""

import json
from datetime import UTC, date, datetime

import pytest

from rivergen.api.renderers import JSONRenderer

AWARE = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.mark.parametrize("value", [AWARE, AWARE.replace(tzinfo=None)], ids=["utc", "naive (USE_TZ stores UTC)"])
def test_datetimes_are_written_in_utc_to_the_second_with_a_z(value: datetime) -> None:
    assert json.loads(JSONRenderer().render({"at": value})) == {"at": "2025-01-02T03:04:05Z"}


def test_the_standard_library_fallback_writes_them_the_same() -> None:
    # A lone surrogate makes orjson refuse the body; the standard library's encoder takes over.
    body = JSONRenderer().render({"at": AWARE, "text": "\ud800"})
    assert json.loads(body) == {"at": "2025-01-02T03:04:05Z", "text": "\ud800"}


class Field(str):
    """A str subclass, as DRF's ErrorDetail is."""


def test_keys_other_than_str_are_written_as_orjson_writes_them() -> None:
    data = {1: "é", Field("name"): ["x"], 2.5: None, date(2024, 1, 1): 1, "at": AWARE}

    body = JSONRenderer().render(data)

    assert body == b'{"1":"\xc3\xa9","name":["x"],"2.5":null,"2024-01-01":1,"at":"2025-01-02T03:04:05Z"}'
