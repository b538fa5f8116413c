"""gunicorn's sync worker, finishing the connections already queued when it stops.

On SIGTERM a sync worker finishes the request in hand and exits; connections the kernel
had already accepted into the listening socket's backlog, waiting for a worker, are reset
when the last worker exits, although their clients sent them before the shutdown. This
worker keeps serving that backlog for a short, bounded time before exiting.
"""

import time

from gunicorn.workers.sync import SyncWorker

#: How long a stopping worker keeps taking queued connections (within graceful_timeout).
DRAIN_SECONDS = 1.0


class DrainingSyncWorker(SyncWorker):
    def run(self) -> None:
        super().run()  # returns once SIGTERM has cleared self.alive
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and self._serve_one_queued():
            pass

    def _serve_one_queued(self) -> bool:
        """Serve one connection waiting on any listener; False when none is waiting."""
        for listener in self.sockets:
            try:
                self.accept(listener)  # the listeners are non-blocking (SyncWorker.run)
                return True
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue  # a closed or broken listener: nothing left to drain there
        return False
