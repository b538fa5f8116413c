"""The probes: /healthz (alive: no database, no auth) and /readyz (database and migrations)."""

import logging

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from rivergen.health import DATABASE_UNREACHABLE_MESSAGE, MIGRATIONS_PENDING_MESSAGE
from tests.conftest import DATA_SOURCES_URL, assert_error, assert_success

READY = {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def assert_unavailable(response, message: str) -> None:
    assert assert_error(response, 503, "SERVICE_UNAVAILABLE") is None
    assert response.json()["message"] == message
    assert response["Retry-After"] == "5"


# No `db` fixture: pytest-django refuses any query, so a probe touching the database fails.
@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_answers_without_database_or_credentials(path):
    response = APIClient().get(path, HTTP_ACCEPT="text/html")
    assert assert_success(response, 200, "Service is alive") == {"status": "ok"}
    assert response["X-Request-ID"]


def test_healthz_ignores_an_invalid_token():
    response = APIClient().get("/healthz", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert assert_success(response, 200, "Service is alive") == {"status": "ok"}


def test_healthz_answers_other_methods_with_405():
    assert_error(APIClient().post("/healthz", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_is_ready_when_the_database_answers_and_is_migrated(path):
    assert assert_success(APIClient().get(path), 200, "Service is ready") == READY


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_unreachable(monkeypatch, caplog):
    def refuse() -> None:
        raise OperationalError('connection to server at "db" failed: password authentication failed')

    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "ensure_connection", refuse)
    response = APIClient().get("/readyz")
    assert_unavailable(response, DATABASE_UNREACHABLE_MESSAGE)
    assert "password" not in response.content.decode()
    # Logged for operators, by exception type only: driver messages name hosts and users.
    [record] = [r for r in caplog.records if r.name == "rivergen.health"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "readiness check failed: database unreachable (OperationalError)"
    assert record.request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_readyz_answers_503_while_migrations_are_pending(monkeypatch, caplog):
    pending = Migration("0999_not_applied_yet", "datasources")
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets, clean_start=False: [(pending, False)]
    )
    assert_unavailable(APIClient().get("/readyz"), MIGRATIONS_PENDING_MESSAGE)
    [record] = [r for r in caplog.records if r.name == "rivergen.health"]
    assert record.getMessage() == "readiness check failed: 1 migration(s) not applied"


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["api.example.com"])
def test_probes_skip_host_validation_and_the_https_redirect():
    # Docker's HEALTHCHECK and Kubernetes probes: plain HTTP, the container's address as Host.
    client = APIClient()
    probe = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert assert_success(probe, 200, "Service is alive") == {"status": "ok"}
    # Everything else keeps production's rules: unknown hosts refused, HTTP redirected.
    assert client.get(DATA_SOURCES_URL, HTTP_HOST="10.1.2.3:8000").status_code == 400
    redirect = client.get(DATA_SOURCES_URL, HTTP_HOST="api.example.com")
    assert redirect.status_code == 301
    assert redirect["Location"] == f"https://api.example.com{DATA_SOURCES_URL}"


def test_probes_are_routed_by_name_too():
    assert (reverse("healthz"), reverse("readyz")) == ("/healthz", "/readyz")
