"""gunicorn settings for production: `make serve` and the Docker image.

    gunicorn -c gunicorn.conf.py rivergen.wsgi

Every value can be changed through the environment (below); gunicorn's own
GUNICORN_CMD_ARGS still overrides anything here.
"""

import gc
import os
from typing import Any

from gunicorn import glogging

from rivergen.logging import LOG_FORMATS, JSONFormatter, PlainFormatter


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    # The CPUs this process may run on (a container's cpuset), not the host's count.
    # A CPU quota (docker --cpus, Kubernetes limits) is not visible here: set
    # WEB_CONCURRENCY to match it.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = f"0.0.0.0:{_env_int('PORT', 8000)}"

# Sync workers: one request at a time per process, so one database connection per
# worker, kept open between requests (CONN_MAX_AGE in settings). 2 x cores + 1 is
# gunicorn's rule of thumb for a mostly I/O-bound API; keep workers x instances under
# PostgreSQL's max_connections.
# The sync worker, plus: on SIGTERM, serve the connections already queued for a second
# instead of letting them be reset (rivergen/serving.py).
worker_class = "rivergen.serving.DrainingSyncWorker"
workers = _env_int("WEB_CONCURRENCY", 2 * _cores() + 1)

# A worker silent this long is killed and replaced (a stuck request answers 502 at
# the proxy rather than holding the worker forever).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# Graceful shutdown: on SIGTERM (docker stop, Kubernetes) the master stops accepting,
# workers finish their in-flight requests for up to this long, then are killed. Keep it
# under the platform's grace period (compose.yaml: stop_grace_period 30s; Kubernetes:
# terminationGracePeriodSeconds, default 30).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Recycle workers now and then, jittered so they do not all restart at once: bounds the
# damage of a slow memory leak in any dependency.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Import Django once in the master and fork workers from it: a recycled worker serves again
# in milliseconds instead of ~1 s of imports while its queue waits (make drill: at hundreds of
# fast 503s a second during a database outage, recycles stalled requests for 1.2-1.9 s).
# Nothing connects at import time, so no connection is shared across the fork. Trade-off: a
# code change needs a restart, not a HUP.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").strip().lower() not in {"0", "false", "no", "off"}

# Heartbeat files in memory: on a container's overlay filesystem they can block workers.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# TLS ends at the proxy in front. gunicorn sets the request scheme from its
# X-Forwarded-Proto only when the proxy's address is listed here, which makes Django's
# request.is_secure() true (and SECURE_SSL_REDIRECT not loop). Default: loopback only;
# set the proxy's address, or "*" when nothing but the proxy can reach this process.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No control socket (gunicorn >= 25): we manage the master with signals (TERM, HUP,
# TTIN/TTOU), and a read-only container has no place for the socket file.
control_socket_disable = True

# Logging. gunicorn's access log is off: RequestLogMiddleware writes one structured
# line per request instead (request id, user, organization, duration), and leaves out
# the query string, which gunicorn's access log would print in full. gunicorn's own
# messages (boot, worker timeouts, shutdown; on stderr) use the application's format,
# LOG_FORMAT (json unless DEBUG is on), so one log pipeline reads everything.
accesslog = None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
_log_format = os.environ.get("LOG_FORMAT", "").strip() or (
    "plain" if os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"} else "json"
)
if _log_format not in LOG_FORMATS:
    raise RuntimeError("LOG_FORMAT must be json or plain.")


class Logger(glogging.Logger):
    """gunicorn's logger with the application's formatter on its handlers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JSONFormatter() if _log_format == "json" else PlainFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)


logger_class = Logger


def pre_fork(server: Any, worker: Any) -> None:
    """Freeze what the master loaded (the application, with preload_app) before each fork.

    Python's cyclic garbage collector then never walks those objects again in a worker:
    its full collections walked all of Django, and wrote into the pages the workers share
    with the master. Measured with `BENCH_RESEED=0 make bench`: the small organization's list
    at 683 and 664 requests/s in two runs with the hook, 530 in the run between them without;
    worker RSS 80 instead of 85 MB. (A larger first-generation threshold on top made the
    p95 worse and was not kept.)
    """
    gc.freeze()
