"""Fixtures shared by every test: API clients per role, and envelope assertions."""

import os
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import caches
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from organizations.models import Organization, Role, Workspace
from rivergen.api.throttling import PROCESS_LEASES
from rivergen.db.statements import STATEMENTS
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, WorkspaceFactory
from tests.owasp import OwaspSummary

DATA_SOURCES_URL = "/api/v1/data-sources"
WORKSPACES_URL = "/api/v1/workspaces"


def detail_url(pk: Any) -> str:
    return f"{DATA_SOURCES_URL}/{pk}"


def bearer_token(user: User) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


def bearer_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer_token(user))
    return client


class MemberClient(APIClient):
    """An APIClient sending a bearer token for `user`, a member of some organization."""

    def __init__(self, user: User, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.user = user
        self.credentials(HTTP_AUTHORIZATION=bearer_token(user))


class MemberClientFactory(Protocol):
    """The `member_client` fixture: `member_client(role, organization)`."""

    def __call__(self, role: str = Role.ADMIN, organization: Organization | None = None) -> MemberClient: ...


def assert_success(response: Any, status: int, message: str) -> Any:
    """Assert the whole success envelope; returns `data`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"success", "data", "message"}
    assert body["success"] is True
    assert body["message"] == message
    return body["data"]


def assert_error(response: Any, status: int, code: str) -> Any:
    """Assert the whole error envelope; returns `error.details`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"success", "error", "message"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body["error"]["details"]


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(OwaspSummary.name):
        config.pluginmanager.register(OwaspSummary(), OwaspSummary.name)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the caches, and the leases taken from them in the process;
    # each test starts with none.
    for cache in caches.all():
        cache.clear()
    PROCESS_LEASES.clear()
    # Compiled list statements too, so no test depends on what an earlier one compiled.
    STATEMENTS.clear()


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory.create()


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory.create()


@pytest.fixture
def workspace(organization: Organization) -> Workspace:
    return WorkspaceFactory.create(organization=organization)


@pytest.fixture
def member_client(db: None) -> MemberClientFactory:
    """member_client(role, organization) -> a MemberClient for a new member with that role."""

    def make(role: str = Role.ADMIN, organization: Organization | None = None) -> MemberClient:
        membership = MembershipFactory.create(role=role, organization=organization or OrganizationFactory.create())
        return MemberClient(membership.user)

    return make


@pytest.fixture
def admin_client_api(member_client: MemberClientFactory, organization: Organization) -> MemberClient:
    return member_client(Role.ADMIN, organization)


@pytest.fixture
def user_without_organization(db: None) -> User:
    return UserFactory.create()


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test Redis, deleted afterwards."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL} ({type(error).__name__}); set TEST_REDIS_URL")
    prefix = f"rivergen-test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()
