"""Probes for load balancers and orchestrators: /healthz (liveness), /readyz (readiness).

Both are unauthenticated, unthrottled, JSON-only and cheap. They answer in the contract's
envelopes; a failed readiness check raises `ServiceUnavailable`, which the API's
exception handler turns into 503 SERVICE_UNAVAILABLE with `Retry-After`.

`HealthCheckMiddleware` (rivergen/middleware.py) answers these paths before host
validation and the HTTPS redirect: probes come over plain HTTP with a container or pod
address as Host.
"""

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rivergen.api.envelope import success_response
from rivergen.api.exceptions import ServiceUnavailable
from rivergen.api.renderers import JSONRenderer

logger = logging.getLogger("rivergen.health")

DATABASE_UNREACHABLE_MESSAGE = "The database is unreachable."
MIGRATIONS_PENDING_MESSAGE = "The database schema is not up to date: migrations are pending."


def check_database() -> None:
    """Open (or reuse) the connection and run a trivial query; raise DatabaseError if down."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def unapplied_migrations() -> list[str]:
    """Migrations on disk that the database has not applied, as "app.name" labels.

    Django's own check (runserver's "You have N unapplied migrations"): one query on
    django_migrations plus the in-memory migration graph.
    """
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class _ProbeView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    # JSON whatever the Accept header says (the project's negotiation falls back to
    # the first renderer): a probe is never a browser.
    renderer_classes = [JSONRenderer]
    # Operational endpoints, not part of the API contract: left out of the OpenAPI schema.
    schema = None


class HealthzView(_ProbeView):
    """Liveness: the process answers. Touches no database, so a database outage does not
    get healthy processes restarted."""

    def get(self, request: Request) -> Response:
        return success_response({"status": "ok"}, "Service is alive")


class ReadyzView(_ProbeView):
    """Readiness: the database answers and every migration on disk is applied."""

    def get(self, request: Request) -> Response:
        try:
            check_database()
        except DatabaseError as error:
            logger.warning("readiness check failed: database unreachable (%s)", type(error).__name__)
            raise ServiceUnavailable(DATABASE_UNREACHABLE_MESSAGE) from None
        try:
            pending = unapplied_migrations()
        except DatabaseError as error:
            logger.warning("readiness check failed: migration state unreadable (%s)", type(error).__name__)
            raise ServiceUnavailable(DATABASE_UNREACHABLE_MESSAGE) from None
        if pending:
            logger.warning("readiness check failed: %d migration(s) not applied", len(pending))
            raise ServiceUnavailable(MIGRATIONS_PENDING_MESSAGE)
        return success_response(
            {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}, "Service is ready"
        )


healthz = HealthzView.as_view()
readyz = ReadyzView.as_view()
