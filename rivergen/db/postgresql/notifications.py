"""Rows remembered per database session until PostgreSQL says the tables they came from changed.

Triggers on those tables send a notification on a channel with every committed write
(`pg_notify`, statement-level: the ORM, bulk updates, raw SQL, the admin, another host
alike; organizations migration 0002). A session that LISTENs on the channel gets the
notification on its socket as soon as the writer commits. Before a remembered row is
used, the session's socket is polled: anything waiting there (a notification, or
whatever else the server sent) forgets every remembered row of the session. A row read
while a notification arrived is not remembered. So a remembered row is used only while
nothing it was read from has changed, give or take the notification's travel from the
server (well under a millisecond on one host); a new session starts with nothing.

A session remembers nothing unless the triggers are there and enabled: it checks when it
starts to LISTEN (a database migrated without them, or with them disabled, would
otherwise never say a row changed). Only in autocommit, outside `transaction.atomic`:
in a transaction, LISTEN would wait for its commit, and the rows read could be the
transaction's own. Only on PostgreSQL, and only while `settings.ACCESS_CACHE` is on.
Turn it off where LISTEN does not reach the session that reads (a connection pooler in
transaction mode: PgBouncer's `pool_mode=transaction`).
"""

import select
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

Row = TypeVar("Row")


class _Session:
    """What one database session remembers, and how many notifications it has had."""

    def __init__(self, session: Any) -> None:
        self.session = session  # the psycopg connection: a new one starts empty
        self.trusted = False  # until the triggers that notify are found: nothing is remembered
        self.rows: OrderedDict[Hashable, Any] = OrderedDict()
        self.notifications = 0

    def forget(self, *_notify: Any) -> None:
        self.notifications += 1
        self.rows.clear()


class RememberedUntilNotified:
    size = 1024  # rows per session, the least recently used dropped first

    def __init__(self, channel: str, trigger: str, tables: int) -> None:
        """Notified on `channel` by the trigger named `trigger`, enabled on `tables` tables."""
        self.channel, self.trigger, self.tables = channel, trigger, tables
        self._local = threading.local()  # Django's connections are per thread, and so is this

    def get(self, connection: BaseDatabaseWrapper, key: Hashable, read: Callable[[], Row | None]) -> Row | None:
        """`read()`'s row, remembered under `key` (None, nothing found, is never remembered)."""
        session = self._session(connection)
        if session is None:
            return read()
        if key in session.rows:
            session.rows.move_to_end(key)
            return session.rows[key]
        notifications = session.notifications
        row = read()
        if row is not None and session.notifications == notifications:
            session.rows[key] = row
            if len(session.rows) > self.size:
                session.rows.popitem(last=False)
        return row

    def _session(self, connection: BaseDatabaseWrapper) -> _Session | None:
        """This thread's session's remembered rows, made current; None where they cannot be kept."""
        if not getattr(settings, "ACCESS_CACHE", False) or connection.vendor != "postgresql":
            return None
        if connection.in_atomic_block or not connection.get_autocommit():
            return None
        # As a cursor would: a session the server closed is dropped (its goodbye is read, and
        # any notification before it goes to the handler), then one is opened if none is.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        raw = connection.connection
        sessions: dict[str, _Session] = self._local.__dict__.setdefault("sessions", {})
        session = sessions.get(connection.alias)
        if session is None or session.session is not raw:
            session = sessions[connection.alias] = _Session(raw)
            raw.add_notify_handler(session.forget)
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {self.channel}")
                cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = %s AND tgenabled <> 'D'", [self.trigger])
                (enabled,) = cursor.fetchone()
            session.trusted = enabled == self.tables
        elif _input_waiting(raw):
            session.forget()  # unread: the next statement reads it (and calls forget again)
        return session if session.trusted else None


def _input_waiting(raw: Any) -> bool:
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True  # cannot tell: forget
