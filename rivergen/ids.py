"""Ids from outside (paths, query strings, headers, bodies, token claims)."""

import re

#: The largest id any bigint column holds; larger ones exist nowhere.
MAX_BIGINT = 2**63 - 1
# At most 19 ASCII digits (2**63-1 has 19): int() of thousands of digits raises.
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_bigint_id(value: object, *, allow_leading_zeros: bool = False) -> int | None:
    """A positive 64-bit id from an int or a string of ASCII digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value) or (value.startswith("0") and not allow_leading_zeros):
            return None
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_BIGINT:
        return value
    return None
