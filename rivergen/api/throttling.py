"""Rate limits, counted in the `throttle` cache so that every worker shares the counts.

The store is Redis when REDIS_URL is set, else a database table (settings.CACHES). Scopes:
"user" (per user, the API), "anon" (per client address: the token endpoints) and "auth"
(per client address, stricter: the token endpoints only, against password guessing).
Clients are told apart by REMOTE_ADDR unless NUM_PROXIES trusts X-Forwarded-For.

Counting: a window of the rate's duration opens at a client's first request and closes
when it expires; at most N requests pass in it, the refusals say when it closes. Why not
DRF's own log of timestamps: it is read, extended and written back by every request, so
two workers serving one client at once each write their own copy and one request is lost
(concurrent password guesses slip past the limit), and its size, and so each request's
cost, grows with the rate. In Redis the window is one integer that one Lua script counts
atomically (SET NX EX, INCRBY, PTTL) in one round trip, whatever the concurrency. Other
stores (the database table, memory in tests) keep (opened at, count) with a get and a set.

Leases: at a rate of 128 or more per window a worker process counts several requests at
once, and serves them without asking the store again (`_Leases`): one round trip per up to
16 requests instead of one per request. A lease only holds counts the store handed out, all
≤ N, so in Redis at most N requests still pass in a window. (The other stores read, then
write: two workers racing can both write the same count, and with leases a lost race
loses up to 16 counts instead of one. Another reason for Redis in production.) What a
lease costs is the other way: counts a worker took and never used when the window closes
are lost, so a client served by several workers can be refused a little before N: at most
15 counts per other worker process. A worker takes at most 1/64 of what it last saw left of
the budget, so it takes the last 64 counts it sees one at a time, and rates under 128 (the
token endpoints' 10/min, anonymous 60/min) are always counted one request at a time,
exactly as before. A lease is never used past its window's end; if the window itself is
lost early (Redis flushed or evicting, the database table culled), a worker's lease still
serves its remaining counts (at most 15) in the new one. Other ways counts are lost (a client
refused a little early, never late): two threads of one process (gthread, runserver) taking
a lease for the same client at once keep only the second; a lease pushed out of a worker's
4,096 keys by other clients' leases within one window.
"""

import functools
import hashlib
import ipaddress
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

logger = logging.getLogger("rivergen.api")

CACHE_ALIAS = "throttle"


class _Lease(NamedTuple):
    rate: tuple[int, int]  # (requests, seconds) it was taken under: a changed rate takes a new one
    next: int  # the next count it holds
    last: int  # the last count it holds (next > last: spent)
    ends: float  # the window's end, on the throttle's timer


class _Leases:
    """Counts a worker process has taken from the store ahead of its requests, per throttle key.

    One per process, not per cache object: Django hands each thread, and under ASGI each
    request, a cache object of its own, and a lease kept there would be thrown away. Locked:
    threads (gthread, runserver) share it.
    """

    most = 16  # counts taken at once, at most
    share = 64  # and at most this share of what the window had left when last seen
    keys = 4096  # keys remembered, the least recently used dropped first

    def __init__(self) -> None:
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._lock = threading.Lock()

    def spend(self, key: str, rate: tuple[int, int], now: float) -> bool:
        """Count one request against the key's lease; False if it holds none for now."""
        with self._lock:
            lease = self._leases.get(key)
            if lease is None or lease.rate != rate or now >= lease.ends or lease.next > lease.last:
                return False
            self._leases[key] = lease._replace(next=lease.next + 1)
            self._leases.move_to_end(key)
            return True

    def size_for(self, key: str, rate: tuple[int, int], now: float) -> int:
        """How many counts to take: 1 under 128 per window, and for the last 64 seen."""
        if rate[0] < 2 * self.share:
            return 1
        with self._lock:
            lease = self._leases.get(key)
            counted = lease.last if lease is not None and lease.rate == rate and now < lease.ends else 0
        return max(1, min(self.most, (rate[0] - counted) // self.share))

    def keep(self, key: str, lease: _Lease) -> None:
        if lease.rate[0] < 2 * self.share:
            return  # counted one at a time: nothing to keep, and no other key's lease pushed out
        with self._lock:
            self._leases[key] = lease
            self._leases.move_to_end(key)
            if len(self._leases) > self.keys:
                self._leases.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


PROCESS_LEASES = _Leases()


@receiver(setting_changed, dispatch_uid="rivergen-throttle-leases")
def _forget_leases(*, setting: str, **kwargs: Any) -> None:
    """A lease belongs to the store and rates it was taken under (tests change both)."""
    if setting in ("CACHES", "REST_FRAMEWORK"):
        PROCESS_LEASES.clear()


class SharedRateThrottle(throttling.SimpleRateThrottle):
    """A SimpleRateThrottle on the shared store, with a Retry-After on every refusal."""

    #: This worker process's leases (tests give each worker they play its own).
    leases = PROCESS_LEASES
    num_requests: int | None  # set from the rate by SimpleRateThrottle.__init__
    duration: int | None
    # Not DRF's key: its timestamp lists, left in the store by an earlier release, are no
    # counter (INCR on one fails, and would let requests through unthrottled).
    cache_format = "throttle_window_%(scope)s_%(ident)s"

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
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        rate, now = (self.num_requests, self.duration), self.timer()
        leases = self.leases
        if leases.spend(key, rate, now):
            return True
        size = leases.size_for(key, rate, now)
        try:
            count, self.seconds_left = self._count(key, self.duration, size)
        except RedisError as error:
            # Availability over rate limiting: a Redis outage must not take the API down.
            logger.error("throttle store unavailable, %s scope not enforced: %s", self.scope, type(error).__name__)
            return True
        # This request is the first of the counts taken; the others are kept for the next ones.
        first = count - size + 1
        if first > self.num_requests:
            return False
        leases.keep(key, _Lease(rate, first + 1, min(count, self.num_requests), now + self.seconds_left))
        return True

    def _count(self, key: str, duration: int, amount: int = 1) -> tuple[int, float]:
        """Add `amount` requests to the key's window; (its count after them, seconds it has left)."""
        if isinstance(self.cache, RedisCache):
            return self._count_in_redis(self.cache, key, duration, amount)
        now = self.timer()
        stored = self.cache.get(key)
        opened, count = stored if _is_window(stored) else (now, 0)
        if now - opened >= duration:  # the store kept it past its expiry (the database store culls lazily)
            opened, count = now, 0
        seconds_left = opened + duration - now
        self.cache.set(key, (opened, count + amount), timeout=math.ceil(seconds_left))
        return count + amount, seconds_left

    @staticmethod
    def _count_in_redis(store: RedisCache, key: str, duration: int, amount: int) -> tuple[int, float]:
        count, milliseconds_left = _window_script(store)(
            keys=[store.make_and_validate_key(key)], args=[duration, amount]
        )
        return int(count), milliseconds_left / 1000

    def wait(self) -> float | None:
        """Seconds until the window closes (at least 1: Retry-After is in whole seconds)."""
        return max(1.0, math.ceil(getattr(self, "seconds_left", self.duration or 1)))


# Atomic in Redis: the window cannot expire between its creation and the INCRBY. A counter
# found without expiry (restored, PERSISTed) gets one, else it would refuse its client forever.
_WINDOW_LUA = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    left = ARGV[1] * 1000
end
return {count, left}
"""


def _window_script(store: RedisCache) -> Script:
    """The window script bound to a client of the store's pool, made once per store.

    Django's own RedisCache builds a new client (~0.1 ms) on every call (rivergen.cache's
    keeps one), and registering the script builds a Script: both once per store. EVALSHA,
    reloaded if Redis lost the script.
    """
    script: Script | None = getattr(store, "_rivergen_window_script", None)
    if script is None:
        # Django exposes no public handle on the cache's client.
        client = store._cache.get_client(write=True)  # type: ignore[attr-defined]
        script = store._rivergen_window_script = client.register_script(_WINDOW_LUA)  # type: ignore[attr-defined]
    return script


def _is_window(value: Any) -> bool:
    """(opened at, count) as this module stores it; anything else starts a new window."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], float)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


class AnonThrottle(SharedRateThrottle, throttling.AnonRateThrottle):
    """Requests without credentials, per client address ("anon")."""


class UserThrottle(SharedRateThrottle, throttling.UserRateThrottle):
    """Authenticated requests per user ("user"); per client address without credentials."""


class AuthThrottle(SharedRateThrottle):
    """Attempts at the token endpoints and login forms per client address ("auth"), whatever they carry."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


LOGIN_ATTEMPTS_REFUSED = "Too many login attempts from this address. Try again later."


def throttle_login_attempts(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A login form's POSTs spend the token endpoints' "auth" budget (AuthThrottle).

    The admin's login and the browsable API's guess passwords as well as POST
    /auth/token does: without this, they were an unthrottled way around its limit.
    """

    @functools.wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            throttle = AuthThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # reads META only
                response = HttpResponse(LOGIN_ATTEMPTS_REFUSED, status=429, content_type="text/plain; charset=utf-8")
                response["Retry-After"] = str(int(throttle.wait() or 1))
                return response
        return view(request, *args, **kwargs)

    return throttled
