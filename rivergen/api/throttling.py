"""Rate limits, counted in the `throttle` cache so that every worker shares the counts.

The store is Redis when REDIS_URL is set, else a database table (settings.CACHES). Scopes:
"user" (per user, the API), "anon" (per client address: the token endpoints) and "auth"
(per client address, stricter: the token endpoints only, against password guessing).
Clients are told apart by REMOTE_ADDR unless NUM_PROXIES trusts X-Forwarded-For.
"""

import hashlib
import ipaddress
import logging
from typing import Any

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

logger = logging.getLogger("rivergen.api")

CACHE_ALIAS = "throttle"


class SharedRateThrottle(throttling.SimpleRateThrottle):
    """A SimpleRateThrottle on the shared store, with a Retry-After on every refusal."""

    num_requests: int | None  # set from the rate by SimpleRateThrottle.__init__
    duration: int | None

    def __init__(self) -> None:
        super().__init__()
        # Looked up per request: a settings override (tests) or a new worker gets the right store.
        self.cache = caches[CACHE_ALIAS]

    def get_rate(self) -> str | None:
        """The rate read at request time, so settings overrides (tests) take effect."""
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope or "")

    def get_ident(self, request: Request) -> str:
        """The client's address; an IPv6 address stands for its /64, as one host holds all of it.

        Anything else a trusted proxy might pass on is hashed, to a key any store accepts.
        """
        ident = super().get_ident(request) or ""
        try:
            address = ipaddress.ip_address(ident)
        except ValueError:
            return "sha256-" + hashlib.sha256(ident.encode(errors="replace")).hexdigest()
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
            return str(ipaddress.ip_network((address, 64), strict=False))
        return str(address)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as error:
            # Availability over rate limiting: a Redis outage must not take the API down.
            logger.error("throttle store unavailable, %s scope not enforced: %s", self.scope, type(error).__name__)
            return True

    def wait(self) -> float | None:
        # DRF answers None when the history holds more than the rate (a lowered rate, or
        # two workers racing): the refusal still gets a Retry-After, until the oldest expires.
        wait = super().wait()
        if wait is None and self.history and self.duration is not None:
            return max(0.0, self.duration - (self.now - self.history[-1]))
        return wait


class AnonThrottle(SharedRateThrottle, throttling.AnonRateThrottle):
    """Requests without credentials, per client address ("anon")."""


class UserThrottle(SharedRateThrottle, throttling.UserRateThrottle):
    """Authenticated requests per user ("user"); per client address without credentials."""


class AuthThrottle(SharedRateThrottle):
    """Attempts at the token endpoints per client address ("auth"), whatever they carry."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
