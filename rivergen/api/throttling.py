from rest_framework import throttling
from rest_framework.settings import api_settings


class _RateFromSettings:
    """Read the rate at request time, so settings overrides (tests) take effect."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RateFromSettings, throttling.AnonRateThrottle):
    pass


class UserThrottle(_RateFromSettings, throttling.UserRateThrottle):
    pass
