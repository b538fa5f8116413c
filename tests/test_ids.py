"""The one parser of ids that come from outside."""

import pytest

from rivergen.ids import MAX_BIGINT, parse_bigint_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), ("1", 1), (MAX_BIGINT, MAX_BIGINT), (str(MAX_BIGINT), MAX_BIGINT), ("42", 42)],
)
def test_positive_64_bit_ids_parse(value: object, expected: int) -> None:
    assert parse_bigint_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *(0, "0", -1, "-1", MAX_BIGINT + 1, str(MAX_BIGINT + 1), "9" * 5000),
        *(True, 1.0, "1.0", "+1", " 1", "²", "", None, [1]),
    ],
)
def test_anything_else_is_not_an_id(value: object) -> None:
    assert parse_bigint_id(value) is None


def test_leading_zeros_only_where_allowed() -> None:
    assert parse_bigint_id("007") is None
    assert parse_bigint_id("007", allow_leading_zeros=True) == 7
    assert parse_bigint_id("000", allow_leading_zeros=True) is None
