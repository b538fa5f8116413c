"""`make bench`: GET /api/v1/data-sources served for real, beside the floor, at 10^4..10^6 rows.

    make bench                                  # 1,000,000 rows
    BENCH_ROWS=10000,100000 make bench          # several sizes in one run
    .venv/bin/python bench/run.py               # the same, once wrk and PostgreSQL are there

For each size: `manage.py seed_bench --rows N` on a dedicated PostgreSQL database
(created and migrated if missing), then

1. the SQL the service runs for each request of the query mix is captured in process
   (bench/capture_sql.py, Django's test client) into bench/results/tmp/sql-N.json;
2. the service (gunicorn -c gunicorn.conf.py rivergen.wsgi: DEBUG off, JSON, the
   production connection settings) and the floor (gunicorn -c gunicorn.conf.py
   bench.floor_app:application: the same SQL through psycopg, orjson, no Django) are
   started side by side on loopback with WEB_CONCURRENCY workers each;
3. every request of the mix is sent to both once, and the two bodies must be equal;
4. latency at concurrency 1: the mix in rounds, each request sent to the service then
   the floor (alternating which goes first), after a warm-up; p50/p95/p99 per query;
5. the SQL alone: the captured statements run directly through psycopg (median of
   BENCH_SQL_RUNS) and EXPLAIN (ANALYZE, BUFFERS) execution time;
6. throughput at concurrency 8 with wrk (bench/mix.lua): the whole mix, then the small
   organization's default list, each for BENCH_THROUGHPUT_SECONDS per server, in
   BENCH_THROUGHPUT_ROUNDS alternating rounds (service then floor, then floor then
   service, ...), so the machine's drift within the minute hits both alike;
7. memory: the service is topped up to BENCH_MEMORY_REQUESTS requests of the mix in
   total, then each worker's VmRSS is read from /proc.

Results: bench/results/bench-N.{json,md} per size and bench/results/latest.{json,md}
for the whole run; captured SQL, query plans and server logs in bench/results/tmp/
(ignored by git). Settings (environment):

    BENCH_ROWS                sizes, comma-separated (default 1000000)
    BENCH_DATABASE_URL        default postgres://postgres@127.0.0.1:5432/rivergen_bench
                              (not DATABASE_URL: a bench never wipes your own database)
    BENCH_REQUESTS            latency requests per query and server (default 200)
    BENCH_WARMUP              warm-up rounds of the mix before measuring (default 20)
    BENCH_QUERY_SECONDS       time cap per query and server for latency (default 20)
    BENCH_THROUGHPUT_SECONDS  wrk time per load and server, all rounds together (default 30)
    BENCH_THROUGHPUT_ROUNDS   alternating rounds it is split into (default 10)
    BENCH_CONCURRENCY         wrk connections (default 8)
    BENCH_WORKERS             gunicorn workers, service and floor (default: production's,
                              gunicorn.conf.py's 2 x CPUs + 1)
    BENCH_SQL_RUNS            runs of each query's SQL for the SQL-only time (default 20)
    BENCH_MEMORY_REQUESTS     service requests before reading RSS; 0: no top-up (default 10000)
    BENCH_MAX_REQUESTS        gunicorn max_requests for both (default 0: no recycling,
                              so the RSS is after every request and no restart skews p99)
    BENCH_RESEED              0: keep the data when the database already holds N bench rows
    BENCH_SEED                seed_bench's seed
"""

import base64
import json
import math
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
TMP = RESULTS / "tmp"
BIN = Path(sys.executable).parent
DATA_SOURCES = "/api/v1/data-sources"
SERVICE_PORT = 8731
FLOOR_PORT = 8732
SERVERS = ("service", "floor")
SLUG_PREFIX = "bench-org-"  # seed_bench's
BENCH_USER = ("bench", "rivergen-bench")  # seed_bench's

# Search terms of the mix, chosen on seed_bench's data (share of the largest organization's rows
# matched: about 14%, 0.07% and 23%).
SEARCH_COMMON, SEARCH_RARE, SEARCH_SHORT = "billing", "citadel", "ex"
# p95 targets at 1,000,000 rows (ms); the others: 30 ms.
P95_TARGETS = {"search common word": 50.0, "search 2 characters": 100.0}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Config:
    sizes: list[int] = field(
        default_factory=lambda: [
            int(size.replace("_", "")) for size in os.environ.get("BENCH_ROWS", "1000000").split(",") if size.strip()
        ]
    )
    database_url: str = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rivergen_bench"
    requests: int = env_int("BENCH_REQUESTS", 200)
    warmup: int = env_int("BENCH_WARMUP", 20)
    query_seconds: float = env_int("BENCH_QUERY_SECONDS", 20)
    # Many short alternating rounds: a neighbour's burst on this shared machine moved single
    # 5 s rounds' ratios between 32% and 56% within one run (3 rounds of 5 s before).
    throughput_seconds: int = env_int("BENCH_THROUGHPUT_SECONDS", 30)
    throughput_rounds: int = max(1, env_int("BENCH_THROUGHPUT_ROUNDS", 10))
    concurrency: int = env_int("BENCH_CONCURRENCY", 8)
    # Production's default (gunicorn.conf.py): sync workers wait on PostgreSQL and Redis,
    # so more workers than CPUs keep the CPUs busy under load.
    workers: int = env_int("BENCH_WORKERS", 2 * len(os.sched_getaffinity(0)) + 1)
    sql_runs: int = env_int("BENCH_SQL_RUNS", 20)
    # Requests right after a write, per query whose total the service remembers.
    counting_runs: int = env_int("BENCH_COUNTING_RUNS", 10)
    memory_requests: int = env_int("BENCH_MEMORY_REQUESTS", 10_000)
    max_requests: int = env_int("BENCH_MAX_REQUESTS", 0)
    reseed: bool = os.environ.get("BENCH_RESEED", "1").strip().lower() not in ("0", "false", "no")
    seed: str = os.environ.get("BENCH_SEED", "").strip()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- database and environment ----------------------------------------------------------


def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def django_env(config: Config) -> dict[str, str]:
    """The production settings, on the bench database, over plain HTTP, never throttled.

    Fresh keys each run: the production settings refuse to start without them.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GUNICORN_", "DJANGO_"))}
    env.update(
        DATABASE_URL=config.database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        CREDENTIALS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SECURE_SSL_REDIRECT="false",
        # Production keeps throttle counters in Redis (the database store costs every
        # request several statements and a transaction; see the README).
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        THROTTLE_USER_RATE="1000000000/min",
        THROTTLE_ANON_RATE="1000000000/min",
        # One token for the whole run.
        JWT_ACCESS_TOKEN_LIFETIME=str(24 * 60 * 60),
        WEB_CONCURRENCY=str(config.workers),
        GUNICORN_MAX_REQUESTS=str(config.max_requests),
        PYTHONUNBUFFERED="1",
    )
    for name in ("LOG_FORMAT", "LOG_LEVEL", "CONN_MAX_AGE", "ALLOWED_HOSTS"):
        env.pop(name, None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def bench_data(url: str) -> dict[str, Any]:
    """Ids and sizes the mix needs, read from the seeded database."""
    with psycopg.connect(url) as connection:
        organizations = connection.execute(
            """
            SELECT o.slug, o.id, (SELECT count(*) FROM datasources_datasource d WHERE d.organization_id = o.id)
            FROM organizations_organization o WHERE o.slug IN (%s, %s) ORDER BY o.slug
            """,
            [f"{SLUG_PREFIX}001", f"{SLUG_PREFIX}002"],
        ).fetchall()
        if len(organizations) != 2:
            return {}
        (_, largest_id, largest_rows), (_, small_id, small_rows) = organizations
        workspace_id = connection.execute(
            "SELECT min(id) FROM organizations_workspace WHERE organization_id = %s", [largest_id]
        ).fetchone()[0]  # type: ignore[index]
        rows = connection.execute(
            "SELECT count(*) FROM datasources_datasource d JOIN organizations_organization o"
            " ON o.id = d.organization_id WHERE o.slug LIKE %s",
            [f"{SLUG_PREFIX}%"],
        ).fetchone()[0]  # type: ignore[index]
        return {
            "rows": rows,
            "largest_organization": {"id": largest_id, "rows": largest_rows},
            "small_organization": {"id": small_id, "rows": small_rows},
            "workspace_id": workspace_id,
        }


def machine(url: str) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with psycopg.connect(url) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        settings = {
            name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")
        }
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": version,
        "postgresql_settings": settings,
    }


def load_average() -> list[float]:
    """1, 5 and 15 minutes: other work on the machine skews every figure (2 cores)."""
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def git_revision() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


# --- the query mix ---------------------------------------------------------------------


@dataclass
class Query:
    name: str
    paths: list[str]
    organization_header: int | None = None
    in_mix: bool = True  # part of the largest organization's mix (the small org's list is not)


def build_mix(data: dict[str, Any]) -> list[Query]:
    def path(query: str = "") -> str:
        return f"{DATA_SOURCES}?{query}" if query else DATA_SOURCES

    last_page = max(1, math.ceil(data["largest_organization"]["rows"] / 20))
    return [
        Query("default list", [path()]),
        Query("pages 2-10", [path(f"page={page}") for page in range(2, 11)]),
        Query("page 2,000", [path("page=2000")]),
        Query(f"last page ({last_page:,})", [path(f"page={last_page}")]),
        Query("type", [path("type=postgresql")]),
        Query("status_filter", [path("status_filter=failed")]),
        Query("type + status_filter", [path("type=mysql&status_filter=active")]),
        Query("workspace_id", [path(f"workspace_id={data['workspace_id']}")]),
        Query("tags", [path("tags=pii")]),
        Query("search common word", [path(f"search={SEARCH_COMMON}")]),
        Query("search rare word", [path(f"search={SEARCH_RARE}")]),
        Query("search 2 characters", [path(f"search={SEARCH_SHORT}")]),
        Query("sort name asc", [path("sort_by=name&sort_order=asc")]),
        Query("sort name desc", [path("sort_by=name&sort_order=desc")]),
        Query("sort last_tested_at", [path("sort_by=last_tested_at")]),
        Query("page_size 20", [path("page_size=20")]),
        Query("page_size 100", [path("page_size=100")]),
        Query(
            "small org default list",
            [path()],
            organization_header=data["small_organization"]["id"],
            in_mix=False,
        ),
    ]


def mix_paths(queries: list[Query]) -> list[str]:
    """The largest organization's mix, each query once per round ("pages 2-10" in turn)."""
    mix = [query for query in queries if query.in_mix]
    rounds = max(len(query.paths) for query in mix)
    return [query.paths[r % len(query.paths)] for r in range(rounds) for query in mix]


# --- servers and clients ---------------------------------------------------------------


class Server:
    def __init__(self, name: str, app: str, port: int, env: dict[str, str], log_file: Path, gunicorn_args: str = ""):
        """gunicorn with gunicorn.conf.py on loopback; `gunicorn_args` adds options (bench/cpu_split.py)."""
        self.name, self.port = name, port
        env = {**env, "PORT": str(port), "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} {gunicorn_args}".strip()}
        self.log = log_file.open("w")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.requests = 0
        try:
            self._wait_until_serving(env, log_file)
        except BaseException:
            self.stop()  # the caller never gets this object: nothing else would stop it
            raise

    def _wait_until_serving(self, env: dict[str, str], log_file: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at startup; see {log_file}")
            try:
                connection = HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200 and len(self.worker_pids()) == env_workers(env):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start; see {log_file}")

    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def env_workers(env: dict[str, str]) -> int:
    return int(env["WEB_CONCURRENCY"])


class Client:
    """One keep-alive-capable connection (gunicorn's sync workers close it after each answer)."""

    def __init__(self, port: int, token: str):
        self.connection = HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def get(self, query: Query, path: str) -> tuple[float, int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if query.organization_header:
            headers["X-Organization-ID"] = str(query.organization_header)
        started = time.perf_counter()
        try:
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
            body = response.read()
        except (ConnectionError, OSError):
            self.connection.close()
            raise
        return time.perf_counter() - started, response.status, body


def obtain_token(port: int) -> str:
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    username, password = BENCH_USER
    body = json.dumps({"username": username, "password": password})
    connection.request("POST", "/api/v1/auth/token", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"token: {response.status} {payload}")
    return payload["data"]["access"]


# --- measurements ----------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50) * 1000, 2),
        "p95": round(percentile(samples, 95) * 1000, 2),
        "p99": round(percentile(samples, 99) * 1000, 2),
        "mean": round(statistics.fmean(samples) * 1000, 2),
        "max": round(max(samples) * 1000, 2),
    }


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where or '/'}: {a!r:.80} != {b!r:.80}"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{where or '/'}: keys {sorted(set(a) ^ set(b))}"
        for key in a:
            found = first_difference(a[key], b[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where or '/'}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{where}/{index}")
            if found:
                return found
        return None
    return None if a == b else f"{where or '/'}: {a!r:.80} != {b!r:.80}"


def compare_bodies(queries: list[Query], clients: dict[str, Client], servers: dict[str, Server]) -> dict[str, str]:
    """Every request of the mix once to each server: same status 200, same JSON."""
    differences = {}
    for query in queries:
        for path in query.paths:
            answers = {}
            for name in SERVERS:
                _, status, body = clients[name].get(query, path)
                servers[name].requests += 1
                if status != 200:
                    raise RuntimeError(f"{name} answered {status} to {path}: {body[:300]!r}")
                answers[name] = json.loads(body)
            difference = first_difference(answers["service"], answers["floor"])
            if difference:
                differences[key(query, path)] = difference
    return differences


def measure_latency(
    config: Config, queries: list[Query], clients: dict[str, Client], servers: dict[str, Server]
) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {query.name: {name: [] for name in SERVERS} for query in queries}
    spent = dict.fromkeys(samples, 0.0)
    warming = dict.fromkeys(samples, 0.0)
    active = list(queries)
    minimum = min(config.requests, 20)
    for round_number in range(-config.warmup, config.requests):
        order = SERVERS if round_number % 2 == 0 else SERVERS[::-1]
        for query in list(active):
            if round_number < -2 and warming[query.name] > config.query_seconds / 4:
                continue  # warm enough: a slow query's warm-up is bounded in time too
            path = query.paths[round_number % len(query.paths)]
            for name in order:
                elapsed, status, body = clients[name].get(query, path)
                servers[name].requests += 1
                if status != 200:
                    raise RuntimeError(f"{name} answered {status} to {path}: {body[:300]!r}")
                if round_number >= 0:
                    samples[query.name][name].append(elapsed)
                    spent[query.name] += elapsed if name == "service" else 0.0
                else:
                    warming[query.name] += elapsed
            if round_number + 1 >= minimum and spent[query.name] > config.query_seconds:
                active.remove(query)  # bounded in time: enough samples of a slow query
    return samples


def measure_sql(
    config: Config, url: str, queries: list[Query], plan: dict[str, list[str]], plans_out: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The data statements alone through psycopg (as Django sends them), and EXPLAIN ANALYZE."""
    results = {}
    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        for query in queries:
            times: list[float] = []
            budget = time.monotonic() + config.query_seconds
            for run in range(-1, config.sql_runs):  # one unmeasured run first
                statements = plan[key(query, query.paths[run % len(query.paths)])]
                started = time.perf_counter()
                for text in statements:
                    cursor = connection.execute(text)
                    cursor.fetchall()
                if run >= 0:
                    times.append(time.perf_counter() - started)
                if run >= 2 and time.monotonic() > budget:
                    break
            execution = planning = 0.0
            explained = []
            for text in plan[key(query, query.paths[0])]:
                result = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {text}").fetchone()[0][0]  # type: ignore[index]
                execution += result["Execution Time"]
                planning += result["Planning Time"]
                explained.append({"sql": text, "plan": result})
            plans_out[query.name] = explained
            results[query.name] = {
                "sql_ms": round(statistics.median(times) * 1000, 2),
                "explain_execution_ms": round(execution, 2),
                "explain_planning_ms": round(planning, 2),
            }
    return results


def wrk(
    port: int,
    paths: list[str],
    token: str,
    organization: int | None,
    config: Config,
    label: str,
    seconds: int | None = None,
) -> dict[str, Any]:
    paths_file = TMP / f"paths-{label}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    command = [
        "wrk",
        "-t1",
        f"-c{config.concurrency}",
        f"-d{seconds or config.throughput_seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH / "mix.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(paths_file),
        token,
        str(organization or ""),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["errors"] = sum(
        result[name] for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return result


def measure_throughput(
    config: Config, servers: dict[str, "Server"], token: str, paths: list[str], organization: int | None, label: str
) -> dict[str, Any]:
    """Both servers' requests/s on one load, in alternating rounds; ratio = service/floor.

    Each server's figure is all its rounds' requests over all their time; each round's own
    ratio is kept too (the spread says how much the machine drifted).
    """
    seconds = max(1, config.throughput_seconds // config.throughput_rounds)
    rounds: list[dict[str, dict[str, Any]]] = []
    for number in range(config.throughput_rounds):
        order = SERVERS if number % 2 == 0 else tuple(reversed(SERVERS))
        this_round = {}
        for name in order:
            this_round[name] = wrk(servers[name].port, paths, token, organization, config, label, seconds)
            servers[name].requests += this_round[name]["requests"]
        rounds.append(this_round)
    run: dict[str, Any] = {}
    for name in SERVERS:
        keys = ("requests", "duration_us", "bytes", "connect_errors", "read_errors", "write_errors")
        total = {key: sum(r[name][key] for r in rounds) for key in keys}
        total["rps"] = round(total["requests"] / (total["duration_us"] / 1e6), 1)
        total["errors"] = sum(r[name]["errors"] for r in rounds)
        total["rounds_rps"] = [r[name]["rps"] for r in rounds]
        run[name] = total
    run["ratio"] = round(run["service"]["rps"] / run["floor"]["rps"], 3)
    run["rounds_ratio"] = [round(r["service"]["rps"] / r["floor"]["rps"], 3) for r in rounds]
    return run


def top_up(servers: dict[str, Server], queries: list[Query], clients_factory: Any, total: int) -> None:
    """Send mix requests to the service until it has answered `total` in all."""
    server = servers["service"]
    mix = [(query, path) for query in queries for path in query.paths]
    remaining = total - server.requests
    if remaining <= 0:
        return
    lock = threading.Lock()
    state = {"next": 0, "sent": 0, "error": None}

    def work() -> None:
        client = clients_factory()
        while True:
            with lock:
                if state["sent"] >= remaining or state["error"]:
                    return
                state["sent"] += 1
                query, path = mix[state["next"] % len(mix)]
                state["next"] += 1
            _, status, body = client.get(query, path)
            if status != 200:
                state["error"] = f"{status} {body[:200]!r}"

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if state["error"]:
        raise RuntimeError(f"memory top-up: {state['error']}")
    server.requests += remaining


def key(query: Query, path: str) -> str:
    """A request's key in the captured SQL: X-Organization-ID (or nothing) and the path."""
    return f"{query.organization_header or ''}|{path}"


# --- one size --------------------------------------------------------------------------


def remembers_its_count(entry: dict[str, Any]) -> bool:
    """Whether the service answered this request's total from memory (remembered_count)."""
    return any(statement.get("remembered_count") for statement in entry["statements"])


def measure_counting(
    config: Config, organization_id: int, queries: list[Query], captured: dict[str, Any], client: Client
) -> dict[str, dict[str, Any]]:
    """Queries whose total is remembered per data version, right after a write.

    Each run renews the organization's version (a no-op UPDATE of one of its rows: the
    triggers fire all the same), then times one service request, which counts again.
    Also the SQL alone of what that request runs: the counting statement and the page.
    """
    results: dict[str, dict[str, Any]] = {}
    with psycopg.connect(config.database_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
        for query in queries:
            entry = captured[key(query, query.paths[0])]
            if not remembers_its_count(entry):
                continue
            samples, sql_times = [], []
            for _ in range(config.counting_runs):
                connection.execute(
                    "UPDATE datasources_datasource SET updated_at = updated_at"
                    " WHERE id = (SELECT min(id) FROM datasources_datasource WHERE organization_id = %s)",
                    [organization_id],
                )
                elapsed, status, body = client.get(query, query.paths[0])
                if status != 200:
                    raise RuntimeError(f"service answered {status} to {query.paths[0]}: {body[:300]!r}")
                samples.append(elapsed)
            for _ in range(config.counting_runs):
                started = time.perf_counter()
                for statement in entry["first_statements"]:
                    if statement["kind"] == "data":
                        connection.execute(statement["text"]).fetchall()
                sql_times.append(time.perf_counter() - started)
            results[query.name] = {
                "service_ms": summary_ms(samples),
                "sql_ms": round(statistics.median(sql_times) * 1000, 2),
            }
    return results


def run_size(config: Config, rows: int, env: dict[str, str]) -> dict[str, Any]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    load = {"before": load_average()}
    data = bench_data(config.database_url)
    if config.reseed or data.get("rows") != rows:
        log(f"{rows:,} rows: seeding")
        seed_args = ["--seed", config.seed] if config.seed else []
        output = manage(env, "seed_bench", "--rows", str(rows), *seed_args)
        print(output.rstrip(), flush=True)
        data = bench_data(config.database_url)
    else:
        log(f"{rows:,} rows: reusing the seeded data (BENCH_RESEED=0)")
    timings["seed_s"] = round(time.monotonic() - started, 1)

    queries = build_mix(data)
    mix_file = TMP / f"mix-{rows}.json"
    mix_file.write_text(
        json.dumps(
            {
                "queries": [
                    {"name": q.name, "paths": q.paths, "organization_header": q.organization_header} for q in queries
                ]
            },
            indent=1,
        )
    )
    log("capturing the service's SQL for each request (Django test client, in process)")
    phase = time.monotonic()
    sql_file = TMP / f"sql-{rows}.json"
    subprocess.run(
        [sys.executable, str(BENCH / "capture_sql.py"), str(mix_file), str(sql_file)],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "WARNING"},  # no request log lines on the terminal
        check=True,
    )
    capture = json.loads(sql_file.read_text())
    captured = capture["requests"]
    # The floor's plan, as bench/floor_app.py reads the same file: the data statements.
    plan = {
        request_key: [statement["text"] for statement in entry["statements"] if statement["kind"] == "data"]
        for request_key, entry in captured.items()
    }
    timings["capture_s"] = round(time.monotonic() - phase, 1)

    servers: dict[str, Server] = {}
    try:
        log(f"starting the service and the floor ({config.workers} gunicorn workers each)")
        servers["service"] = Server("service", "rivergen.wsgi", SERVICE_PORT, env, TMP / f"service-{rows}.log")
        servers["floor"] = Server(
            "floor",
            "bench.floor_app:application",
            FLOOR_PORT,
            {**env, "BENCH_FLOOR_SQL": str(sql_file)},
            TMP / f"floor-{rows}.log",
        )
        token = obtain_token(SERVICE_PORT)
        clients = {name: Client(servers[name].port, token) for name in SERVERS}

        log("comparing the service's and the floor's answers")
        differences = compare_bodies(queries, clients, servers)
        for request_key, difference in differences.items():
            log(f"  DIFFERENT {request_key}: {difference}")

        log(
            f"latency at concurrency 1: {config.requests} requests per query and server, "
            f"after {config.warmup} warm-up rounds"
        )
        phase = time.monotonic()
        latency = measure_latency(config, queries, clients, servers)
        timings["latency_s"] = round(time.monotonic() - phase, 1)

        log("SQL alone (psycopg, then EXPLAIN ANALYZE)")
        phase = time.monotonic()
        plans: dict[str, Any] = {}
        sql = measure_sql(config, config.database_url, queries, plan, plans)
        (TMP / f"plans-{rows}.json").write_text(json.dumps(plans, indent=1))
        timings["sql_s"] = round(time.monotonic() - phase, 1)

        log(
            f"throughput at concurrency {config.concurrency} ({config.throughput_seconds} s per load and server, "
            f"in {config.throughput_rounds} alternating rounds, wrk)"
        )
        phase = time.monotonic()
        small = next(query for query in queries if not query.in_mix)
        loads = {
            "mix": (mix_paths(queries), None),
            "small_org": (small.paths, small.organization_header),
        }
        throughput = {
            load: measure_throughput(config, servers, token, paths, organization, f"{load}-{rows}")
            for load, (paths, organization) in loads.items()
        }
        timings["throughput_s"] = round(time.monotonic() - phase, 1)

        phase = time.monotonic()
        if config.memory_requests > servers["service"].requests:
            log(f"memory: topping the service up to {config.memory_requests:,} requests")
            top_up(
                servers, [q for q in queries if q.in_mix], lambda: Client(SERVICE_PORT, token), config.memory_requests
            )
        memory = {
            "service_requests": servers["service"].requests,
            "service_worker_rss_mb": servers["service"].worker_rss_mb(),
            "floor_requests": servers["floor"].requests,
            "floor_worker_rss_mb": servers["floor"].worker_rss_mb(),
            "max_requests": config.max_requests,
        }
        timings["memory_s"] = round(time.monotonic() - phase, 1)

        # Last: its writes renew the version the captured statements name, after which the
        # floor's replay of them counts again.
        log(f"remembered counts: {config.counting_runs} requests per query right after a write")
        phase = time.monotonic()
        counting = measure_counting(config, data["largest_organization"]["id"], queries, captured, clients["service"])
        timings["counting_s"] = round(time.monotonic() - phase, 1)
    finally:
        for server in servers.values():
            server.stop()
    timings["total_s"] = round(time.monotonic() - started, 1)
    load["after"] = load_average()

    results = []
    for query in queries:
        statements = captured[key(query, query.paths[0])]["statements"]
        service = summary_ms(latency[query.name]["service"])
        floor = summary_ms(latency[query.name]["floor"])
        results.append(
            {
                "name": query.name,
                "paths": query.paths,
                "organization_header": query.organization_header,
                "total_items": captured[key(query, query.paths[0])].get("total_items"),
                "statements": {
                    "total": len(statements),
                    **{kind: sum(s["kind"] == kind for s in statements) for kind in ("auth", "data", "other")},
                },
                "service_ms": service,
                "floor_ms": floor,
                "ratio_p50": round(service["p50"] / floor["p50"], 2),
                "delta_p50_ms": round(service["p50"] - floor["p50"], 2),
                **sql[query.name],
                "same_body": all(key(query, path) not in differences for path in query.paths),
                "after_a_write": counting.get(query.name),
            }
        )
    return {
        "rows": rows,
        "data": data,
        "queries": results,
        "throughput": throughput,
        "memory": memory,
        "health_check_per_request": capture["health_check"],
        "body_differences": differences,
        "timings": timings,
        "load_average": load,
    }


# --- output ----------------------------------------------------------------------------


def rounds_summary(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.0%} ({min(ratios):.0%}-{max(ratios):.0%})"


def markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    rows = result["rows"]
    data = result["data"]
    lines = [
        f"## {rows:,} data sources",
        "",
        f"Largest organization: {data['largest_organization']['rows']:,} rows (the mix); small organization: "
        f"{data['small_organization']['rows']:,} rows. Commit {meta['git']}, {meta['started_at']}; "
        f"{meta['machine']['cpus']} CPUs, PostgreSQL {meta['machine']['postgresql']}; "
        f"{meta['config']['workers']} gunicorn workers each.",
        "",
        "Latency at concurrency 1, milliseconds (n per query and server: "
        f"up to {meta['config']['requests']}). SQL: the data statements alone through psycopg "
        "(median) and EXPLAIN ANALYZE execution time. Statements: per request, auth + data + other "
        "(other: e.g. a cache table)"
        + (
            "; each request also has its connection checked (CONN_HEALTH_CHECKS: a look at the socket, "
            "no statement unless the server sent something; rivergen/db/postgresql/base.py)."
            if result["health_check_per_request"]
            else "."
        ),
        "",
        "| query | service p50 | p95 | p99 | floor p50 | p95 | p99 | service/floor p50 | service - floor p50 "
        "| SQL | EXPLAIN | statements | total_items |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for query in result["queries"]:
        service, floor, statements = query["service_ms"], query["floor_ms"], query["statements"]
        p95_target = P95_TARGETS.get(query["name"], 30.0)
        flag = "" if service["p95"] <= p95_target else " ✗"
        note = "" if query["same_body"] else " (bodies differ)"
        total = query["total_items"]
        lines.append(
            f"| {query['name']}{note} | {service['p50']:.1f} | {service['p95']:.1f}{flag} | {service['p99']:.1f} "
            f"| {floor['p50']:.1f} | {floor['p95']:.1f} | {floor['p99']:.1f} | {query['ratio_p50']:.2f} "
            f"| {query['delta_p50_ms']:+.1f} | {query['sql_ms']:.1f} | {query['explain_execution_ms']:.1f} "
            f"| {statements['total']} ({statements['auth']} + {statements['data']} + {statements['other']}) "
            f"| {total if total is None else f'{total:,}'} |"
        )
    throughput = result["throughput"]
    lines += [
        "",
        "✗: service p95 over its target (30 ms; search common word 50 ms, 2 characters 100 ms).",
        "",
    ]
    counted = [query for query in result["queries"] if query.get("after_a_write")]
    if counted:
        lines += [
            "Remembered counts: a search's exact total is counted once per version of the organization's data "
            "sources, which every write renews, and answered from memory until then "
            "(`datasources.selectors.remembered_count`); the table above is what every later request costs. "
            "Right after a write to the organization, the next request counts again "
            f"({meta['config']['counting_runs']} runs each, milliseconds; SQL: the counting statement and the page):",
            "",
            "| query | service p50 after a write | p95 | max | SQL |",
            "|---|--:|--:|--:|--:|",
        ]
        for query in counted:
            after = query["after_a_write"]
            lines.append(
                f"| {query['name']} | {after['service_ms']['p50']:.1f} | {after['service_ms']['p95']:.1f} "
                f"| {after['service_ms']['max']:.1f} | {after['sql_ms']:.1f} |"
            )
        lines.append("")
    lines += [
        f"Throughput at concurrency {meta['config']['concurrency']}, requests/s "
        f"({meta['config']['throughput_seconds']} s per load and server, wrk, in "
        f"{meta['config'].get('throughput_rounds', 1)} alternating rounds):",
        "",
        "| load | service | floor | service/floor | rounds: median (lowest-highest) | errors (service, floor) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, run in (
        ("whole mix, largest organization", throughput["mix"]),
        ("small organization, default list", throughput["small_org"]),
    ):
        lines.append(
            f"| {label} | {run['service']['rps']:,.0f} | {run['floor']['rps']:,.0f} | {run['ratio']:.0%} "
            f"| {rounds_summary(run.get('rounds_ratio', [run['ratio']]))} "
            f"| {run['service']['errors']}, {run['floor']['errors']} |"
        )
    memory = result["memory"]
    service_rss = ", ".join(f"{mb:.0f}" for mb in memory["service_worker_rss_mb"])
    floor_rss = ", ".join(f"{mb:.0f}" for mb in memory["floor_worker_rss_mb"])
    lines += [
        "",
        f"Memory: service worker RSS {service_rss} MB after {memory['service_requests']:,} requests "
        f"(floor: {floor_rss} MB after {memory['floor_requests']:,}); "
        f"gunicorn max_requests {memory['max_requests'] or 'off'}.",
        "",
    ]
    if result["body_differences"]:
        lines += ["Bodies that differ between service and floor:", ""]
        lines += [f"- `{path}`: {difference}" for path, difference in result["body_differences"].items()]
        lines.append("")
    timings = result["timings"]
    lines += [
        "Time: "
        + ", ".join(f"{name.removesuffix('_s')} {seconds:.0f} s" for name, seconds in timings.items())
        + f". Load average (1, 5, 15 min) before: {result['load_average']['before']}, "
        f"after: {result['load_average']['after']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    config = Config()
    TMP.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    ensure_database(config.database_url)
    env = django_env(config)
    log(f"migrating {config.database_url}")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    meta = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_revision(),
        "machine": machine(config.database_url),
        "config": {
            name: getattr(config, name)
            for name in (
                "sizes",
                "requests",
                "warmup",
                "query_seconds",
                "throughput_seconds",
                "throughput_rounds",
                "concurrency",
                "workers",
                "sql_runs",
                "counting_runs",
                "memory_requests",
                "max_requests",
            )
        },
    }
    results = []
    for rows in config.sizes:
        result = run_size(config, rows, env)
        results.append(result)
        (RESULTS / f"bench-{rows}.json").write_text(json.dumps({**meta, "result": result}, indent=1) + "\n")
        (RESULTS / f"bench-{rows}.md").write_text(f"# `make bench`: {rows:,} rows\n\n" + markdown(result, meta))
    meta["total_s"] = round(time.monotonic() - started, 1)
    (RESULTS / "latest.json").write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
    report = "# `make bench`: latest run\n\n" + "\n".join(markdown(result, meta) for result in results)
    (RESULTS / "latest.md").write_text(report)
    print()
    print(report)
    log(f"done in {meta['total_s']:.0f} s; results in {RESULTS.relative_to(ROOT)}/latest.md and latest.json")


if __name__ == "__main__":
    socket.setdefaulttimeout(120)
    main()
