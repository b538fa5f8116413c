from typing import Any

from rest_framework import throttling
from rest_framework.settings import api_settings


def _configured_rate(scope: str | None) -> str | None:
    """The rate read at request time, so settings overrides (tests) take effect."""
    rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
    return rates.get(scope or "")


class AnonThrottle(throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)


class UserThrottle(throttling.UserRateThrottle):
    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)
