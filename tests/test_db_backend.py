"""The PostgreSQL backend (rivergen/db/postgresql/base.py): its health check, its timestamp loader.

Each test uses a connection of its own, not the test run's, so that it can be closed
and killed freely.
"""

import datetime
import os
import select
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.psycopg_any import BaseTzLoader  # type: ignore[import-untyped]
from django.db.utils import ConnectionHandler
from django.test import override_settings
from psycopg import adapters, pq

from rivergen.db.postgresql.base import UTCTimestamptzLoader

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend is PostgreSQL's"),
    pytest.mark.django_db,
]


def new_connection() -> BaseDatabaseWrapper:
    settings_dict = {**connection.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    own = ConnectionHandler({"default": settings_dict})["default"]
    own.ensure_connection()
    return own


@pytest.fixture
def own_connection() -> Iterator[BaseDatabaseWrapper]:
    own = new_connection()
    yield own
    own.close()


def statements_sent(own: BaseDatabaseWrapper) -> list[str]:
    """What the health check sends (psycopg's cursor, below Django's execute wrappers)."""
    sent: list[str] = []
    cursor_factory = own.connection.cursor

    def recording_cursor(*args: Any, **kwargs: Any) -> Any:
        cursor = cursor_factory(*args, **kwargs)
        execute = cursor.execute

        def recording_execute(query: str, *rest: Any, **options: Any) -> Any:
            sent.append(query)
            return execute(query, *rest, **options)

        cursor.execute = recording_execute
        return cursor

    own.connection.cursor = recording_cursor
    own.health_check_done = False  # type: ignore[attr-defined]  # a new request
    own.close_if_health_check_failed()
    return sent


def test_the_engine_is_the_projects_backend() -> None:
    assert connection.settings_dict["ENGINE"] == "rivergen.db.postgresql"


def test_a_healthy_connection_is_kept_without_a_round_trip(own_connection: BaseDatabaseWrapper) -> None:
    raw = own_connection.connection

    assert statements_sent(own_connection) == []
    assert own_connection.connection is raw
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 42")
        assert cursor.fetchone() == (42,)


def test_a_connection_the_server_closed_is_replaced_before_the_next_query(own_connection: BaseDatabaseWrapper) -> None:
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:  # as an administrator or a server restart would
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        assert cursor.fetchone() == (True,)

    assert statements_sent(own_connection) == ["SELECT 1"]  # the goodbye made it ask
    assert own_connection.connection is None  # dropped: the next query opens a new one
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_with_a_pending_notification_is_asked_and_kept(own_connection: BaseDatabaseWrapper) -> None:
    with own_connection.cursor() as cursor:
        cursor.execute("LISTEN rivergen_backend_test")
    other = new_connection()  # autocommit: the notification leaves at once
    try:
        with other.cursor() as cursor:
            cursor.execute("NOTIFY rivergen_backend_test")
    finally:
        other.close()
    raw = own_connection.connection
    arrival = select.poll()
    arrival.register(raw.fileno(), select.POLLIN)
    arrival.poll(5000)  # until it has arrived

    assert statements_sent(own_connection) == ["SELECT 1"]
    assert own_connection.connection is raw


def test_a_connection_on_a_descriptor_past_1024_is_checked_without_a_round_trip() -> None:
    """select() cannot watch descriptors from 1024 on; a busy process gets such ones."""
    held: list[int] = []
    try:
        try:
            while len(held) < 1100:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pytest.skip("this process may not open 1,100 files (ulimit -n)")
        own = new_connection()
        try:
            assert own.connection.fileno() >= 1024
            raw = own.connection

            assert statements_sent(own) == []
            assert own.connection is raw
        finally:
            own.close()
    finally:
        for descriptor in held:
            os.close(descriptor)


# --- Timestamps read by psycopg's own loader ---------------------------------------------------

A_TIMESTAMP = "SELECT '2026-01-02 03:04:05.123456+02'::timestamptz, NULL::timestamptz"


def timestamptz_loader(own: BaseDatabaseWrapper) -> Any:
    return own.connection.adapters.get_loader(adapters.types["timestamptz"].oid, pq.Format.TEXT)


def test_timestamps_are_read_in_utc_by_psycopg_alone(
    own_connection: BaseDatabaseWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Any, data: Any) -> None:
        raise AssertionError("Django's per-value loader was used")

    monkeypatch.setattr(BaseTzLoader, "load", refuse)
    with own_connection.cursor() as cursor:
        cursor.execute(A_TIMESTAMP)
        value, null = cursor.fetchone()
    assert value == datetime.datetime(2026, 1, 2, 1, 4, 5, 123456, tzinfo=datetime.UTC)
    assert value.tzinfo is datetime.UTC and null is None
    assert timestamptz_loader(own_connection) is UTCTimestamptzLoader


def test_a_connection_in_another_timezone_keeps_djangos_loader() -> None:
    settings_dict = {**connection.settings_dict, "TIME_ZONE": "Europe/Paris"}
    own = ConnectionHandler({"default": settings_dict})["default"]
    try:
        with override_settings(USE_TZ=True), own.cursor() as cursor:
            cursor.execute(A_TIMESTAMP)
            value, _ = cursor.fetchone()
        assert timestamptz_loader(own) is not UTCTimestamptzLoader
        assert value == datetime.datetime(2026, 1, 2, 2, 4, 5, 123456, tzinfo=ZoneInfo("Europe/Paris"))
        assert str(value.tzinfo) == "Europe/Paris"
    finally:
        own.close()
