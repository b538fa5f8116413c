"""Rows remembered per database session until PostgreSQL says the tables they came from changed.

Triggers on those tables send a notification on a channel with every committed write
(`pg_notify`, statement-level, enabled ALWAYS: the ORM, bulk updates, raw SQL, the admin,
another host, a replica applying changes alike; organizations migration 0002). A session
that LISTENs on the channel gets the notification on its socket as soon as the writer
commits. Before a remembered row is used, the session's socket is polled: anything waiting
there (a notification, or whatever else the server sent) forgets every remembered row of
the session. A row read while a notification arrived is not remembered. So a remembered row
is used only while nothing it was read from has changed, give or take the notification's
travel from the server: typically well under a millisecond on one host, a few
milliseconds on a saturated one, plus the network between hosts.

A session remembers nothing unless it can trust the notifications to come:
- the triggers are there, on the tables named, and enabled ALWAYS: checked when the session
  starts to LISTEN and again every `recheck` seconds, which also forgets every row (a
  trigger disabled or dropped in between would otherwise never say a row changed);
- the server that runs the check is the session's own backend: behind a connection pooler
  (PgBouncer) LISTEN may land on another server connection than the reads;
- it is in autocommit, idle, outside `transaction.atomic`: in a transaction LISTEN would
  wait for its commit, and the rows read could be the transaction's own;
- connections are kept between requests (CONN_MAX_AGE not 0), else each request would pay
  the LISTEN and the check;
- on PostgreSQL, with `settings.ACCESS_CACHE` on.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

from rivergen.db.postgresql.base import input_waiting

Row = TypeVar("Row")
UNTRUSTED = "untrusted"  # a notification's payload: stop remembering (the triggers are going)


class _Session:
    """What one database session remembers, and how many notifications it has had."""

    def __init__(self, session: Any) -> None:
        self.session = session  # the psycopg connection: a new one starts empty
        self.trusted = False  # until the check passes: nothing is remembered
        self.checked_at = 0.0
        self.rows: OrderedDict[Hashable, Any] = OrderedDict()
        self.notifications = 0

    def forget(self, notify: Any = None) -> None:
        self.notifications += 1
        self.rows.clear()
        if notify is not None and notify.payload == UNTRUSTED:
            self.trusted = False


class RememberedUntilNotified:
    size = 1024  # rows per session, the least recently used dropped first
    recheck = 30.0  # seconds a session trusts its check of the triggers

    def __init__(self, channel: str, trigger: str, tables: Callable[[], list[str]]) -> None:
        """Notified on `channel` by the trigger named `trigger`, on each of `tables()`."""
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
        if (
            connection.in_atomic_block
            or not connection.get_autocommit()
            or connection.settings_dict["CONN_MAX_AGE"] == 0  # None: kept for good
        ):
            return None
        # As a cursor would: a session the server closed is dropped (its goodbye is read, and
        # any notification before it goes to the handler), then one is opened if none is.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        raw = connection.connection
        if raw.info.transaction_status != pq.TransactionStatus.IDLE:
            return None
        sessions: dict[str, _Session] = self._local.__dict__.setdefault("sessions", {})
        session = sessions.get(connection.alias)
        if session is None or session.session is not raw:
            if session is not None:  # its connection was replaced: forget it, once
                del sessions[connection.alias]
                session.session.remove_notify_handler(session.forget)
            session = _Session(raw)
            raw.add_notify_handler(session.forget)  # before LISTEN: no notification goes unhandled
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {self.channel}")
                self._check(connection, session)
            except BaseException:
                raw.remove_notify_handler(session.forget)  # not listening: never a session to trust
                raise
            sessions[connection.alias] = session
        elif input_waiting(raw):
            session.forget()  # unread: the next statement reads it (and calls forget again)
        elif time.monotonic() - session.checked_at >= self.recheck:
            self._check(connection, session)
        return session if session.trusted else None

    def _check(self, connection: BaseDatabaseWrapper, session: _Session) -> None:
        """Trust the session if every table's trigger is enabled ALWAYS, as seen by its own backend."""
        session.trusted = False  # until this check has passed (a failed one raises)
        tables = [connection.ops.quote_name(table) for table in self.tables()]
        with connection.cursor() as cursor:
            cursor.execute(
                # to_regclass: a table not there yet (a migration to come) is no match, not an error.
                "SELECT count(*) = %s AND pg_backend_pid() = %s FROM pg_trigger"
                " WHERE tgname = %s AND tgenabled = 'A'"
                " AND tgrelid = ANY(ARRAY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name))",
                [len(tables), session.session.info.backend_pid, self.trigger, tables],
            )
            (trusted,) = cursor.fetchone()
        session.forget()  # a row read before the check may predate a trigger enabled since
        session.trusted, session.checked_at = bool(trusted), time.monotonic()
