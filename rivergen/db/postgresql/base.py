"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of
each request by sending `SELECT 1`: a round trip on every request. A connection the
server has closed (restart, idle timeout, pg_terminate_backend) has sent its goodbye, an
error message or end of file, so its socket is readable while an idle healthy one's is
not. Only then is `SELECT 1` sent to find out. A connection cut without a word (a host
gone) fails its first query as before: that request answers 503 and Django drops the
connection at the end of it.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        try:
            # poll, not select: select refuses descriptors from 1024 on (a busy process).
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            quiet = not poller.poll(0)
        except (OSError, ValueError):
            quiet = False  # cannot tell: ask
        if quiet:
            return True  # nothing arrived since the last query: the server said no goodbye
        return bool(super().is_usable())  # a notice, a notification, or a goodbye: ask
