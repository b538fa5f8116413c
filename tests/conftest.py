"""Fixtures shared by every test: API clients per role, and envelope assertions."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from organizations.models import Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, WorkspaceFactory

DATA_SOURCES_URL = "/api/v1/data-sources"
WORKSPACES_URL = "/api/v1/workspaces"


def detail_url(pk: Any) -> str:
    return f"{DATA_SOURCES_URL}/{pk}"


def bearer_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


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


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory()


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory()


@pytest.fixture
def workspace(organization: Organization) -> Any:
    return WorkspaceFactory(organization=organization)


@pytest.fixture
def member_client(db: None) -> Callable[..., APIClient]:
    """member_client(role, organization) -> an APIClient with a bearer token; `.user` is set."""

    def make(role: str = Role.ADMIN, organization: Organization | None = None) -> APIClient:
        membership = MembershipFactory(role=role, organization=organization or OrganizationFactory())
        client = bearer_client(membership.user)
        client.user = membership.user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def admin_client_api(member_client: Callable[..., APIClient], organization: Organization) -> APIClient:
    return member_client(Role.ADMIN, organization)


@pytest.fixture
def user_without_organization(db: None) -> Any:
    return UserFactory()
