"""Rate limits: who is counted, where the counts live, and what a refused request gets.

The counts live in the `throttle` cache, shared by every worker: Redis when REDIS_URL is
set, else a database table. The tests run with an in-memory store (tests/settings.py);
the shared stores are exercised here, each with two cache objects standing for two
gunicorn workers. The Redis tests use TEST_REDIS_URL (default: database 15 on the local
server) and are skipped, saying so, when no Redis answers.
"""

import logging
import os
import subprocess
import sys
import threading
import uuid
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from organizations.models import Organization, Role, Workspace
from rivergen.api.throttling import (
    AnonThrottle,
    AuthThrottle,
    SharedRateThrottle,
    UserThrottle,
    _Lease,
    _Leases,
)
from rivergen.cache import RedisCache as KeptClientRedisCache
from tests.conftest import (
    DATA_SOURCES_URL,
    TEST_REDIS_URL,
    WORKSPACES_URL,
    MemberClient,
    MemberClientFactory,
    assert_error,
    assert_success,
)
from tests.factories import TEST_PASSWORD, DataSourceFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API4")]

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
CACHE_TABLE = "rivergen_throttle_cache"
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"
REDIS_CACHE = "rivergen.cache.RedisCache"  # production's (settings._REDIS_CACHE)
LOCMEM_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def set_rates(settings: Any, **rates: str) -> None:
    """Throttle rates for this test; a scope left out is not throttled."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def assert_rate_limited(response: Any, longest_wait: int = 60) -> int:
    """429 RATE_LIMITED in the envelope with a Retry-After in seconds; returns it."""
    assert assert_error(response, 429, "RATE_LIMITED") is None
    assert response.json()["message"].startswith("Request was throttled.")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= longest_wait
    return retry_after


def login(client: APIClient, username: str = "nobody", password: str = "wrong", **extra: Any) -> Any:
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.fixture
def viewer(member_client: MemberClientFactory, organization: Organization, workspace: Workspace) -> MemberClient:
    DataSourceFactory.create(workspace=workspace)
    return member_client(Role.VIEWER, organization)


# --- per user --------------------------------------------------------------------------------------


def test_a_users_count_is_shared_by_all_their_tokens_and_organizations(
    settings: Any, viewer: MemberClient, organization: Organization
) -> None:
    set_rates(settings, user="3/min")
    second_organization = MembershipFactory.create(user=viewer.user, role=Role.ADMIN).organization
    other_token = APIClient()
    other_token.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(viewer.user).access_token}")

    assert_success(viewer.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    assert_success(other_token.get(WORKSPACES_URL), 200, "Workspaces retrieved successfully")
    assert_success(
        viewer.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=str(second_organization.pk)),
        200,
        "Data sources retrieved successfully",
    )

    assert_rate_limited(other_token.get(DATA_SOURCES_URL))
    assert_rate_limited(viewer.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=str(organization.pk)))


def test_a_users_count_does_not_depend_on_the_address(settings: Any, viewer: MemberClient) -> None:
    set_rates(settings, user="2/min")
    for address in ("198.51.100.1", "198.51.100.2"):
        assert_success(viewer.get(DATA_SOURCES_URL, REMOTE_ADDR=address), 200, "Data sources retrieved successfully")

    assert_rate_limited(viewer.get(DATA_SOURCES_URL, REMOTE_ADDR="198.51.100.3"))


def test_authenticated_requests_do_not_spend_the_anonymous_or_auth_budgets(settings: Any, viewer: MemberClient) -> None:
    set_rates(settings, anon="1/min", auth="1/min", user="100/min")
    for _ in range(3):
        assert_success(viewer.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    user = UserFactory.create()
    assert_success(login(APIClient(), user.username, TEST_PASSWORD), 200, "Token issued successfully")


# --- per anonymous client --------------------------------------------------------------------------


def test_anonymous_clients_are_counted_per_address(settings: Any) -> None:
    set_rates(settings, anon="2/min")
    client = APIClient()
    for _ in range(2):
        assert_error(login(client, REMOTE_ADDR="198.51.100.7"), 401, "UNAUTHORIZED")

    assert_rate_limited(login(client, REMOTE_ADDR="198.51.100.7"))
    assert_error(login(client, REMOTE_ADDR="198.51.100.8"), 401, "UNAUTHORIZED")


def test_an_ipv6_client_is_counted_per_64_block(settings: Any) -> None:
    # One host holds a whole /64: rotating through it must not reset the count.
    set_rates(settings, anon="2/min")
    client = APIClient()
    assert_error(login(client, REMOTE_ADDR="2001:db8:1:2::1"), 401, "UNAUTHORIZED")
    assert_error(login(client, REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:fffe"), 401, "UNAUTHORIZED")

    assert_rate_limited(login(client, REMOTE_ADDR="2001:db8:1:2:dead:beef::9"))
    assert_error(login(client, REMOTE_ADDR="2001:db8:1:3::1"), 401, "UNAUTHORIZED")


def test_a_spoofed_x_forwarded_for_does_not_reset_the_auth_count(settings: Any) -> None:
    set_rates(settings, auth="2/min")
    client = APIClient()
    statuses = [login(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(2)]

    assert statuses == [401, 401]
    assert_rate_limited(login(client, HTTP_X_FORWARDED_FOR="203.0.113.99"))


def test_behind_one_proxy_only_the_address_it_saw_counts(settings: Any) -> None:
    # The proxy appends the address it saw; whatever the client put before it is ignored.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    set_rates(settings, auth="2/min")
    client = APIClient()
    for spoofed in ("10.0.0.1", "10.0.0.2"):
        assert_error(login(client, HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.5"), 401, "UNAUTHORIZED")

    assert_rate_limited(login(client, HTTP_X_FORWARDED_FOR="10.0.0.3, 203.0.113.5"))
    assert_error(login(client, HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.6"), 401, "UNAUTHORIZED")


def test_an_address_that_is_not_one_is_still_counted(settings: Any) -> None:
    # A misconfigured proxy passing any text: counted under a digest of it, never a 500.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    set_rates(settings, auth="1/min")
    client = APIClient()
    odd = "not an address " + "x" * 500

    assert_error(login(client, HTTP_X_FORWARDED_FOR=odd), 401, "UNAUTHORIZED")
    assert_rate_limited(login(client, HTTP_X_FORWARDED_FOR=odd))


# --- the auth scope: the token endpoints' own, stricter budget --------------------------------------


def per_second(rate: str) -> float:
    requests, seconds = AnonThrottle().parse_rate(rate)
    assert requests is not None and seconds is not None
    return requests / seconds


def test_the_auth_scope_is_configured_and_stricter_than_anon(settings: Any) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert set(rates) == {"anon", "user", "auth"}
    assert per_second(rates["auth"]) <= per_second(rates["anon"])


def test_password_guessing_is_stopped_even_with_the_right_password(settings: Any) -> None:
    set_rates(settings, anon="100/min", auth="3/min")
    user = UserFactory.create()
    client = APIClient()
    for guess in ("guess-1", "guess-2", "guess-3"):
        assert_error(login(client, user.username, guess), 401, "UNAUTHORIZED")

    assert_rate_limited(login(client, user.username, TEST_PASSWORD))


def test_token_and_refresh_share_the_auth_budget(settings: Any) -> None:
    set_rates(settings, anon="100/min", auth="3/min")
    user = UserFactory.create()
    client = APIClient()
    refresh = assert_success(login(client, user.username, TEST_PASSWORD), 200, "Token issued successfully")["refresh"]
    assert_error(client.post(REFRESH_URL, {"refresh": "guessed"}, format="json"), 401, "UNAUTHORIZED")
    assert_success(client.post(REFRESH_URL, {"refresh": refresh}, format="json"), 200, "Token refreshed successfully")

    assert_rate_limited(client.post(REFRESH_URL, {"refresh": refresh}, format="json"))
    assert_rate_limited(login(client, user.username, TEST_PASSWORD))


@pytest.mark.parametrize("form", ["/admin/login/", "/api-auth/login/"])
def test_login_forms_spend_the_auth_budget_with_the_token_endpoint(settings: Any, form: str) -> None:
    set_rates(settings, anon="100/min", auth="3/min")
    staff = UserFactory.create(is_staff=True)
    client = Client()
    for guess in ("guess-1", "guess-2"):  # the form shows itself again, with its error
        assert client.post(form, {"username": staff.username, "password": guess}).status_code == 200
    assert_error(login(APIClient(), staff.username, "guess-3"), 401, "UNAUTHORIZED")

    refused = client.post(form, {"username": staff.username, "password": TEST_PASSWORD})

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session  # even the right password: not logged in
    assert_rate_limited(login(APIClient(), staff.username, TEST_PASSWORD))
    assert client.get(form).status_code == 200  # the page itself is not an attempt


def test_the_configured_auth_rate_stops_the_next_attempt(settings: Any) -> None:
    # Default: 10 a minute (THROTTLE_AUTH_RATE); "anon" (60) is looser.
    allowed, _ = AnonThrottle().parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"])
    client = APIClient()
    for _ in range(allowed or 0):
        assert_error(login(client), 401, "UNAUTHORIZED")

    assert_rate_limited(login(client))
    assert_rate_limited(client.post(REFRESH_URL, {"refresh": "x"}, format="json"))


def test_invalid_bodies_spend_the_auth_budget_too(settings: Any) -> None:
    set_rates(settings, auth="2/min")
    client = APIClient()
    assert_error(client.post(TOKEN_URL, {}, format="json"), 400, "VALIDATION_ERROR")
    assert_error(client.post(REFRESH_URL, {}, format="json"), 400, "VALIDATION_ERROR")

    assert_rate_limited(client.post(TOKEN_URL, {}, format="json"))


# --- the 429 itself --------------------------------------------------------------------------------


def test_a_refusal_says_when_to_come_back(settings: Any) -> None:
    set_rates(settings, auth="2/hour")
    client = APIClient()
    for _ in range(2):
        login(client)

    response = login(client)

    retry_after = assert_rate_limited(response, longest_wait=3600)
    assert retry_after > 3500
    assert "Expected available in" in response.json()["message"]


def test_a_lowered_rate_still_answers_with_retry_after(settings: Any) -> None:
    # More requests on record than the new rate allows: DRF alone would send no Retry-After.
    set_rates(settings, auth="10/min")
    client = APIClient()
    for _ in range(5):
        login(client)
    set_rates(settings, auth="2/min")

    assert_rate_limited(login(client))


def test_the_counts_live_in_the_throttle_cache_not_the_default_one(settings: Any) -> None:
    set_rates(settings, anon="5/min", auth="5/min")
    login(APIClient(), REMOTE_ADDR="198.51.100.20")

    throttle = caches["throttle"]
    assert throttle.get("throttle_window_auth_198.51.100.20") is not None
    assert throttle.get("throttle_window_anon_198.51.100.20") is not None
    assert caches["default"].get("throttle_window_auth_198.51.100.20") is None


# --- shared stores: two cache objects stand for two workers -----------------------------------------


def anonymous_request(address: str = "198.51.100.30") -> Request:
    return Request(APIRequestFactory().post(TOKEN_URL, REMOTE_ADDR=address))


# The workers these tests play: one per store object, each with its own leases.
WORKER_LEASES: "weakref.WeakKeyDictionary[BaseCache, _Leases]" = weakref.WeakKeyDictionary()


def throttle_on(store: BaseCache) -> SharedRateThrottle:
    throttle = AuthThrottle()
    throttle.cache = store
    throttle.leases = WORKER_LEASES.setdefault(store, _Leases())
    return throttle


def alternate_requests(first: BaseCache, second: BaseCache, count: int) -> list[bool]:
    """`count` requests of one client, served alternately by two workers."""
    stores = [first, second]
    return [throttle_on(stores[n % 2]).allow_request(anonymous_request(), view=None) for n in range(count)]


def test_separate_memory_stores_do_not_share_counts(settings: Any) -> None:
    # The control: what each worker's own memory would do (every worker its own budget).
    set_rates(settings, auth="2/min")
    first = LocMemCache(f"worker-a-{uuid.uuid4()}", {})
    second = LocMemCache(f"worker-b-{uuid.uuid4()}", {})

    assert alternate_requests(first, second, 4) == [True, True, True, True]


def test_the_database_store_shares_counts_between_workers(settings: Any) -> None:
    set_rates(settings, auth="3/min")
    first, second = DatabaseCache(CACHE_TABLE, {}), DatabaseCache(CACHE_TABLE, {})

    assert alternate_requests(first, second, 5) == [True, True, True, False, False]


def test_the_migration_creates_the_throttle_table() -> None:
    assert CACHE_TABLE in connection.introspection.table_names()


def redis_store(prefix: str) -> RedisCache:
    return KeptClientRedisCache(TEST_REDIS_URL, {"KEY_PREFIX": prefix})


def test_the_redis_store_shares_counts_between_workers(settings: Any, redis_prefix: str) -> None:
    set_rates(settings, auth="3/min")
    # Each RedisCache has its own connection pool: nothing is shared but the server.
    first, second = redis_store(redis_prefix), redis_store(redis_prefix)

    assert alternate_requests(first, second, 5) == [True, True, True, False, False]


def test_the_api_throttles_through_redis_when_configured(
    settings: Any, redis_prefix: str, viewer: MemberClient
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {"BACKEND": REDIS_CACHE, "LOCATION": TEST_REDIS_URL, "KEY_PREFIX": redis_prefix},
    }
    set_rates(settings, user="2/min", auth="1/min")
    for _ in range(2):
        assert_success(viewer.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    assert_rate_limited(viewer.get(DATA_SOURCES_URL))
    assert_error(login(APIClient()), 401, "UNAUTHORIZED")
    assert_rate_limited(login(APIClient()))
    assert redis_store(redis_prefix).get(f"throttle_window_user_{viewer.user.pk}") is not None


def test_an_unreachable_redis_lets_requests_through_and_says_so(
    settings: Any, viewer: MemberClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: the request must not fail (nor hang) because the store is down.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": REDIS_CACHE,
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    set_rates(settings, user="1/min")

    with caplog.at_level(logging.ERROR, logger="rivergen.api"):
        for _ in range(2):
            assert_success(viewer.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    messages = [record.getMessage() for record in caplog.records if record.name == "rivergen.api"]
    assert messages == ["throttle store unavailable, user scope not enforced: ConnectionError"] * 2


# --- what each store costs a list request ----------------------------------------------------------


def list_statements(viewer: MemberClient) -> list[str]:
    viewer.get(DATA_SOURCES_URL)  # the first request of a client creates its counter
    return request_statements(viewer)


def test_the_memory_store_adds_no_statement(viewer: MemberClient) -> None:
    # tests/settings.py's store. One row: the membership and the page (a short page needs no COUNT).
    assert len(list_statements(viewer)) == 2


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction, so no savepoints
def test_the_database_store_is_asked_once_per_lease_of_counts(settings: Any, viewer: MemberClient) -> None:
    """At the default user rate (1200/min) a worker takes 16 counts at a time."""
    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": DATABASE_CACHE, "LOCATION": CACHE_TABLE}}
    try:
        first = request_statements(viewer)
        served_from_the_lease = [request_statements(viewer) for _ in range(15)]
        next_lease = request_statements(viewer)
        counter = caches["throttle"].get(f"throttle_window_user_{viewer.user.pk}")
    finally:
        caches["throttle"].clear()  # the table is no model's: the test database's flush leaves it

    # Read the counter, then write it back in a transaction (DatabaseCache.set: count the
    # rows, look the key up, update): 6 statements on top of the request's own.
    # (SQLite's transactions begin with "BEGIN IMMEDIATE": rivergen/settings.py.)
    edges = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")

    def transaction_edges(statements: list[str]) -> list[str]:
        return [sql.split()[0] for sql in statements if sql in edges]

    def throttle_statements(statements: list[str]) -> list[str]:
        return [sql for sql in statements if CACHE_TABLE in sql or sql in edges]

    for statements in (first, next_lease):
        assert len([sql for sql in statements if CACHE_TABLE in sql]) == 4
        assert transaction_edges(statements) == ["BEGIN", "COMMIT"]
    assert all(throttle_statements(statements) == [] for statements in served_from_the_lease)
    # The 17th request is the 16th's statements and the 6 of its new lease.
    assert [sql for sql in next_lease if sql not in throttle_statements(next_lease)] == served_from_the_lease[-1]
    assert counter[1] == 32  # two leases of 16 counts


def request_statements(viewer: MemberClient) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert_success(viewer.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    return [query["sql"] for query in queries.captured_queries]


# --- configuration ---------------------------------------------------------------------------------


def _throttle_backend(**environment: str) -> str:
    script = "import django; django.setup(); from django.conf import settings as s; print(s.CACHES['throttle'])"
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DJANGO_SETTINGS_MODULE="rivergen.settings", DEBUG="true", **environment)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_redis_url_the_store_is_the_database_table() -> None:
    configured = _throttle_backend()

    assert DATABASE_CACHE in configured
    assert CACHE_TABLE in configured


def test_with_redis_url_the_store_is_redis_with_short_timeouts() -> None:
    configured = _throttle_backend(REDIS_URL="redis://cache.internal:6379/2")

    assert REDIS_CACHE in configured
    assert "redis://cache.internal:6379/2" in configured
    assert "'socket_timeout': 0.5" in configured


@pytest.mark.parametrize("throttle_class", [AnonThrottle, UserThrottle, AuthThrottle])
def test_every_throttle_counts_in_the_throttle_cache(throttle_class: type[SharedRateThrottle]) -> None:
    assert throttle_class().cache is caches["throttle"]


# --- the window: atomic in Redis, constant in size, closing on time ---------------------------------


def test_concurrent_requests_through_redis_pass_exactly_the_rate(settings: Any, redis_prefix: str) -> None:
    """Many workers at once, one client: no count is lost (DRF's read-modify-write log lost them)."""
    set_rates(settings, auth="10/min")
    start = threading.Barrier(40)

    def attempt(_: int) -> bool:
        throttle = throttle_on(redis_store(redis_prefix))  # each "worker" its own connection pool
        start.wait()
        return throttle.allow_request(anonymous_request("198.51.100.77"), view=None)

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, range(40)))

    assert results.count(True) == 10


def test_the_redis_window_has_an_expiry_from_the_first_request(settings: Any, redis_prefix: str) -> None:
    set_rates(settings, auth="5/hour")
    store = redis_store(redis_prefix)
    for _ in range(3):
        throttle_on(store).allow_request(anonymous_request("198.51.100.78"), view=None)

    client = redis.Redis.from_url(TEST_REDIS_URL)
    key = store.make_and_validate_key("throttle_window_auth_198.51.100.78")
    assert client.get(key) == b"3"  # one integer, whatever the rate
    assert 3590 < client.ttl(key) <= 3600


def attempts_at(store: BaseCache, now: list[float]) -> Callable[[], bool]:
    """A request of one client to a worker on `store`, at the time `now[0]` holds."""

    def attempt() -> bool:
        throttle = throttle_on(store)
        throttle.timer = lambda: now[0]
        return throttle.allow_request(anonymous_request(), view=None)

    return attempt


def test_a_window_closes_after_its_duration_and_counts_start_again(settings: Any) -> None:
    set_rates(settings, auth="2/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    now = [1_000_000.0]
    attempt = attempts_at(store, now)

    first = [attempt(), attempt(), attempt()]
    now[0] += 59.0
    refused = throttle_on(store)
    refused.timer = lambda: now[0]
    assert refused.allow_request(anonymous_request(), view=None) is False
    assert refused.wait() == 1.0  # one second of the window left
    now[0] += 1.0

    assert first == [True, True, False]
    assert [attempt(), attempt(), attempt()] == [True, True, False]


def test_the_stored_count_stays_the_same_size_whatever_the_rate(settings: Any) -> None:
    set_rates(settings, auth="100000/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    for _ in range(2000):
        throttle_on(store).allow_request(anonymous_request(), view=None)

    opened, count = store.get("throttle_window_auth_198.51.100.30")
    assert count == 2000
    assert isinstance(opened, float)


def test_a_value_that_is_no_window_starts_a_new_one(settings: Any) -> None:
    """Whatever sits under a window's key (an earlier release's list, a stray value) is no 500."""
    set_rates(settings, auth="2/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    for stray in ([1.0, 2.0, 3.0], [1.0, 2], "x", (1.0, True)):
        store.set("throttle_window_auth_198.51.100.30", stray)

        assert throttle_on(store).allow_request(anonymous_request(), view=None) is True
        assert store.get("throttle_window_auth_198.51.100.30")[1] == 1


def test_a_redis_counter_left_without_expiry_gets_one(settings: Any, redis_prefix: str) -> None:
    set_rates(settings, auth="2/min")
    store = redis_store(redis_prefix)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    key = store.make_and_validate_key("throttle_window_auth_198.51.100.79")
    client.set(key, 5)  # over the rate, and no TTL: this client would be refused forever

    throttle = throttle_on(store)
    assert throttle.allow_request(anonymous_request("198.51.100.79"), view=None) is False

    assert 0 < client.ttl(key) <= 60
    assert throttle.wait() == 60


def test_a_redis_that_lost_the_window_script_gets_it_again(settings: Any, redis_prefix: str) -> None:
    """A restarted Redis forgets its scripts: counting goes on, not "store unavailable"."""
    set_rates(settings, auth="2/min")
    store = redis_store(redis_prefix)
    assert throttle_on(store).allow_request(anonymous_request("198.51.100.80"), view=None) is True

    redis.Redis.from_url(TEST_REDIS_URL).script_flush()

    assert [throttle_on(store).allow_request(anonymous_request("198.51.100.80"), view=None) for _ in range(2)] == [
        True,
        False,
    ]


# --- leases: counts taken ahead at high rates, never more than the rate --------------------------


def stored_count(store: BaseCache, address: str = "198.51.100.30") -> int:
    return int(store.get(f"throttle_window_auth_{address}")[1])


@pytest.mark.parametrize("rate", ["10/min", "60/min", "127/min"])  # the token endpoints', anonymous, the largest
def test_rates_under_128_are_counted_one_request_at_a_time(settings: Any, rate: str) -> None:
    set_rates(settings, auth=rate)
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    for expected in range(1, 6):
        throttle_on(store).allow_request(anonymous_request(), view=None)
        assert stored_count(store) == expected


def test_the_last_64_counts_a_worker_sees_are_taken_one_at_a_time(settings: Any) -> None:
    set_rates(settings, auth="1280/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    counts = []
    for _ in range(1280):
        throttle_on(store).allow_request(anonymous_request(), view=None)
        counts.append(stored_count(store))

    assert counts[-64:] == list(range(1217, 1281))


def test_a_worker_that_saw_less_takes_no_count_past_the_rate(settings: Any) -> None:
    set_rates(settings, auth="1280/min")
    location = f"shared-{uuid.uuid4()}"
    first, second = LocMemCache(location, {}), LocMemCache(location, {})
    results = [throttle_on(first).allow_request(anonymous_request(), view=None) for _ in range(1275)]
    # The second worker has seen nothing: it takes 16, of which only 5 are within the rate.
    results += [throttle_on(second).allow_request(anonymous_request(), view=None) for _ in range(40)]

    assert results.count(True) == 1280


def test_at_a_high_rate_a_worker_asks_the_store_once_per_16_requests(settings: Any) -> None:
    set_rates(settings, auth="6400/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    counts = []
    for _ in range(17):
        assert throttle_on(store).allow_request(anonymous_request(), view=None) is True
        counts.append(stored_count(store))

    assert counts == [16] * 16 + [32]


def test_one_worker_passes_exactly_the_rate_and_takes_the_last_counts_one_by_one(settings: Any) -> None:
    set_rates(settings, auth="1280/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})

    results = [throttle_on(store).allow_request(anonymous_request(), view=None) for _ in range(1400)]

    assert results == [True] * 1280 + [False] * 120
    # Nothing taken past the rate but one count per refusal: the lease shrank to 1 near the end.
    assert stored_count(store) == 1280 + 120


@pytest.mark.parametrize("workers", [2, 5])
def test_several_workers_never_pass_more_than_the_rate(settings: Any, workers: int) -> None:
    """Counts a worker took and did not use are lost: at most 15 per other worker."""
    set_rates(settings, auth="1280/min")
    location = f"shared-{uuid.uuid4()}"  # one LocMemCache location: one store, seen by every worker
    stores = [LocMemCache(location, {}) for _ in range(workers)]
    # Uneven load: worker 0 serves every other request, the rest share the others.
    served_by = [0 if n % 2 == 0 else 1 + n % (workers - 1) for n in range(2000)]

    results = [throttle_on(stores[worker]).allow_request(anonymous_request(), view=None) for worker in served_by]

    passed = results.count(True)
    assert 1280 - 15 * (workers - 1) <= passed <= 1280
    assert results[:1200] == [True] * 1200  # nothing refused well before the rate


def test_a_lease_ends_with_its_window(settings: Any) -> None:
    set_rates(settings, auth="6400/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    now = [1_000_000.0]
    attempt = attempts_at(store, now)

    assert attempt() is True
    now[0] += 60.0  # the window closed with 15 counts of the lease unused
    assert attempt() is True

    opened, count = store.get("throttle_window_auth_198.51.100.30")
    assert (opened, count) == (now[0], 16)  # the store was asked: a new window, and a new lease


def test_a_lease_taken_late_in_a_window_ends_with_that_window(settings: Any) -> None:
    set_rates(settings, auth="6400/min")
    location = f"shared-{uuid.uuid4()}"
    first, second = LocMemCache(location, {}), LocMemCache(location, {})
    now = [1_000_000.0]
    assert attempts_at(first, now)() is True  # the window opens
    now[0] += 50.0
    assert attempts_at(second, now)() is True  # a lease with 10 s of the window left
    now[0] += 11.0

    assert attempts_at(second, now)() is True
    assert store_window_opened(first) == now[0]  # asked the store, which opened a new window


def store_window_opened(store: BaseCache) -> float:
    return float(store.get("throttle_window_auth_198.51.100.30")[0])


def test_a_changed_rate_takes_no_count_from_an_earlier_lease(settings: Any) -> None:
    set_rates(settings, auth="6400/min")
    store = LocMemCache(f"worker-{uuid.uuid4()}", {})
    assert throttle_on(store).allow_request(anonymous_request(), view=None) is True  # 16 counts taken

    set_rates(settings, auth="3200/min")

    assert throttle_on(store).allow_request(anonymous_request(), view=None) is True
    assert stored_count(store) == 32  # the store was asked again


def test_a_worker_keeps_its_leases_whatever_cache_object_serves_each_request(settings: Any) -> None:
    """ASGI and runserver hand each request its own cache object; the leases are the process's."""
    set_rates(settings, auth="1280/min")
    location = f"worker-{uuid.uuid4()}"

    def attempt() -> bool:
        throttle = AuthThrottle()
        throttle.cache = LocMemCache(location, {})  # a new cache object, on the one store
        return throttle.allow_request(anonymous_request(), view=None)

    results = [attempt() for _ in range(1400)]

    assert results == [True] * 1280 + [False] * 120


def test_a_new_throttle_store_starts_without_the_old_ones_leases(settings: Any) -> None:
    """Leases are counts of one store: changing CACHES (tests, a reconfigured process) forgets them."""
    set_rates(settings, auth="6400/min")

    def attempt() -> bool:
        return AuthThrottle().allow_request(anonymous_request(), view=None)  # the process's leases

    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": LOCMEM_CACHE, "LOCATION": f"a-{uuid.uuid4()}"}}
    assert attempt() is True  # a lease of 16 counts from the first store
    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": LOCMEM_CACHE, "LOCATION": f"b-{uuid.uuid4()}"}}
    assert attempt() is True

    assert stored_count(caches["throttle"]) == 16  # the second store was asked for its own


def test_low_rate_keys_do_not_push_a_lease_out() -> None:
    """Anonymous clients from thousands of addresses cannot cost a user their lease."""
    leases, now = _Leases(), 1_000_000.0
    leases.keep("user", _Lease((1280, 60), next=2, last=16, ends=now + 60))
    for address in range(2 * _Leases.keys):
        leases.keep(f"anonymous {address}", _Lease((60, 60), next=2, last=1, ends=now + 60))

    assert leases.spend("user", (1280, 60), now) is True


def test_the_least_recently_used_lease_is_dropped_first() -> None:
    leases, now = _Leases(), 1_000_000.0
    for user in range(_Leases.keys):
        leases.keep(f"user {user}", _Lease((1280, 60), next=2, last=16, ends=now + 60))
    assert leases.spend("user 0", (1280, 60), now) is True  # used: now the most recent

    leases.keep("one more", _Lease((1280, 60), next=2, last=16, ends=now + 60))

    assert leases.spend("user 0", (1280, 60), now) is True
    assert leases.spend("user 1", (1280, 60), now) is False  # the least recently used, dropped


def test_redis_counts_a_lease_in_one_script_call(settings: Any, redis_prefix: str) -> None:
    set_rates(settings, auth="6400/min")
    store = redis_store(redis_prefix)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    key = store.make_and_validate_key("throttle_window_auth_198.51.100.81")

    assert throttle_on(store).allow_request(anonymous_request("198.51.100.81"), view=None) is True
    assert client.get(key) == b"16"
    for _ in range(16):
        assert throttle_on(store).allow_request(anonymous_request("198.51.100.81"), view=None) is True
    assert client.get(key) == b"32"
    assert 0 < client.ttl(key) <= 60


def test_redis_leases_of_many_workers_pass_at_most_the_rate(settings: Any, redis_prefix: str) -> None:
    set_rates(settings, auth="1280/min")
    stores = [redis_store(redis_prefix) for _ in range(4)]  # each "worker" its own pool and leases

    results = [
        throttle_on(stores[n % 4]).allow_request(anonymous_request("198.51.100.82"), view=None) for n in range(1400)
    ]

    assert 1280 - 15 * 3 <= results.count(True) <= 1280
