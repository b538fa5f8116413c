"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of
each request by sending `SELECT 1`: a round trip on every request. A connection the
server has closed (restart, idle timeout, pg_terminate_backend) has sent its goodbye, an
error message or end of file, so its socket is readable while an idle healthy one's is
not. Only then is `SELECT 1` sent to find out. A connection cut without a word (a host
gone) fails its first query as before: that request answers 503 and Django drops the
connection at the end of it.
"""

import datetime
import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg import adapters, pq
from psycopg.adapt import Loader

# psycopg's own timestamptz loader: its C one when psycopg[binary] is installed.
_TimestamptzLoader: Any = adapters.get_loader(adapters.types["timestamptz"].oid, pq.Format.TEXT)


class UTCTimestamptzLoader(Loader):
    """psycopg's own loader, which in a UTC session returns datetimes in timezone.utc.

    Django wraps psycopg's pure-Python loader to set each value's tzinfo to the
    connection's timezone: a Python call per timestamp, 5 per row of a data source list.
    In a UTC session (Django sets the session's TimeZone to its own) psycopg's loader
    returns exactly those values, so its `load` is handed out as this loader's own: rows
    are read by C alone. `timezone` is what Django's cursors check before installing
    their own loader. (psycopg's C loader cannot be subclassed.)
    """

    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self.load = _TimestamptzLoader(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Any) -> datetime.datetime:
        raise NotImplementedError  # replaced per instance, in __init__


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.timezone is datetime.UTC:
            connection.adapters.register_loader("timestamptz", UTCTimestamptzLoader)
        return connection

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if not input_waiting(connection):
            return True  # nothing arrived since the last query: the server said no goodbye
        return bool(super().is_usable())  # a notice, a notification, or a goodbye: ask


def input_waiting(connection: Any) -> bool:
    """Whether the server sent anything since the last query; True when it cannot tell."""
    try:
        # poll, not select: select refuses descriptors from 1024 on (a busy process).
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True
