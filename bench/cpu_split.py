"""Where the CPU of a request goes under load, service and floor: workers, PostgreSQL, Redis, wrk.

Throughput at concurrency 8 is bound by the machine's cores, which the gunicorn workers,
the PostgreSQL backends, Redis and the load generator share. `make bench` gives the
rates; this splits each server's CPU time per request among those processes (from
/proc/<pid>/stat, and wrk's own rusage), on the data and the captured SQL `make bench`
left, with the production settings (bench/ab.py's) and `--workers` gunicorn workers each
(default: production's, 2 x CPUs + 1). The two servers run in alternating rounds:

    .venv/bin/python bench/cpu_split.py [--load small|mix] [--workers N] [--rounds 4] [--seconds 8] \\
        [--gunicorn-args '--worker-class gthread --threads 4']

It also prints, per round, the floor's CPU per request over the service's (the throughput
ratio of a saturated machine) and how much of the service's worker CPU per request the
targets (50%, 70%) would cut. The service's workers spend more per instruction than the
floor's (bench/instructions.py counts them in process): most of the floor's are C
(psycopg, orjson), most of what the service adds is the interpreter running Django and DRF.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ab import server_env  # noqa: E402
from bench.run import Server, obtain_token  # noqa: E402

TMP = ROOT / "bench" / "results" / "tmp"
TICKS = os.sysconf("SC_CLK_TCK")
PORTS = {"service": 8201, "floor": 8202}
APPS = {"service": "rivergen.wsgi", "floor": "bench.floor_app:application"}


def start(name: str, database_url: str, workers: int | None, sql_file: Path, gunicorn_args: str) -> Server:
    env = server_env(database_url, PORTS[name])
    env["WEB_CONCURRENCY"] = str(workers or 2 * len(os.sched_getaffinity(0)) + 1)  # gunicorn.conf.py's default
    if name == "floor":
        env["BENCH_FLOOR_SQL"] = str(sql_file)
    return Server(name, APPS[name], PORTS[name], env, TMP / f"cpu-split-{name}.log", gunicorn_args)


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """User + system CPU ticks of each of these processes still running."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def cpu_seconds_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds spent between two readings: a process started in between counts all of its
    own; one that exited in between counts nothing (Django closes a connection older than
    CONN_MAX_AGE, and its backend's last moments are lost)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICKS


def postgres_backends(connection: psycopg.Connection[Any]) -> list[int]:
    """The bench database's client backends but this one: both servers' connections."""
    return [
        pid
        for (pid,) in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
    ]


def wrk(name: str, paths_file: Path, token: str, organization: str, seconds: int) -> tuple[int, float, float]:
    """(requests, wall seconds, wrk's own CPU seconds) of one run at concurrency 8."""
    started = time.monotonic()
    script, url = str(ROOT / "bench" / "mix.lua"), f"http://127.0.0.1:{PORTS[name]}"
    process = subprocess.Popen(
        ["wrk", "-c8", "-t2", f"-d{seconds}s", "-s", script, url, "--", str(paths_file), token, organization],
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read() if process.stdout else ""
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    summary = json.loads(output.split("BENCH_JSON ", 1)[1])
    if summary["status_errors"] or summary["connect_errors"]:
        raise SystemExit(f"{name}: errors under load: {summary}")
    return summary["requests"], time.monotonic() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", choices=("small", "mix"), default="small")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers each (default: production's)")
    parser.add_argument(
        "--gunicorn-args", default="", help="more gunicorn options for both, e.g. '--worker-class gthread --threads 4'"
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=1_000_000, help="the size `make bench` seeded last")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rivergen_bench"
    sql_file = TMP / f"sql-{args.rows}.json"
    paths_file = TMP / f"paths-{'small_org' if args.load == 'small' else 'mix'}-{args.rows}.txt"
    if not sql_file.exists() or not paths_file.exists():
        raise SystemExit(f"no {sql_file.name} or {paths_file.name}: run `make bench` first")
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT id FROM organizations_organization WHERE slug = 'bench-org-002'").fetchone()
    # The small organization by header; the mix is the bench user's default organization.
    organization = str(row[0]) if args.load == "small" and row else ""

    servers = {}
    database: psycopg.Connection[Any] | None = None
    try:
        for name in PORTS:
            servers[name] = start(name, database_url, args.workers, sql_file, args.gunicorn_args)
        token = obtain_token(PORTS["service"])
        for name in PORTS:  # warm: every worker connected, statements compiled
            wrk(name, paths_file, token, organization, 3)
        database = psycopg.connect(database_url, autocommit=True)
        redis_server = subprocess.run(["pgrep", "redis-server"], capture_output=True, text=True).stdout
        redis = [int(pid) for pid in redis_server.split()]
        cores = len(os.sched_getaffinity(0))
        figures: dict[str, dict[str, list[float]]] = {name: {} for name in PORTS}
        for round_ in range(args.rounds):
            for name in PORTS if round_ % 2 == 0 else reversed(PORTS):
                groups = {
                    "workers": servers[name].worker_pids(),
                    "PostgreSQL": postgres_backends(database),
                    "Redis": redis,
                }
                before = {group: cpu_ticks(pids) for group, pids in groups.items()}
                requests, wall, wrk_cpu = wrk(name, paths_file, token, organization, args.seconds)
                groups["PostgreSQL"] = sorted({*groups["PostgreSQL"], *postgres_backends(database)})
                per_request = {
                    group: cpu_seconds_between(before[group], cpu_ticks(pids)) / requests
                    for group, pids in groups.items()
                }
                per_request["wrk"] = wrk_cpu / requests
                per_request["all"] = sum(per_request.values())
                per_request["cores x wall"] = cores * wall / requests
                for group, seconds in per_request.items():
                    figures[name].setdefault(group, []).append(seconds * 1e6)
                figures[name].setdefault("requests/s", []).append(requests / wall)
        print(
            f"{args.load} load, {args.rounds} alternating rounds of {args.seconds} s at concurrency 8, "
            f"{args.workers or 'production'} workers each; medians, CPU microseconds per request:"
        )
        columns = list(figures["service"])
        print("| server | " + " | ".join(columns) + " |")
        print("|---|" + "--:|" * len(columns))
        for name, columns_of in figures.items():
            medians = [f"{statistics.median(values):,.0f}" for values in columns_of.values()]
            print(f"| {name} | " + " | ".join(medians) + " |")
        # Per round, as both servers ran it (the medians above need not add up): the floor's CPU
        # per request over the service's, which is the throughput ratio on a saturated machine
        # with no other tenant, and how much of the service's worker CPU each target would cut.
        service, floor = figures["service"], figures["floor"]
        rounds = range(args.rounds)
        ratios = [floor["all"][r] / service["all"][r] for r in rounds]
        print(f"CPU per request, floor / service: {statistics.median(ratios):.0%} (rounds: {_percentages(ratios)})")
        for target in (0.5, 0.7):
            # Negative: the target holds, with that much of the worker's CPU to spare.
            cuts = [(service["all"][r] - floor["all"][r] / target) / service["workers"][r] for r in rounds]
            print(
                f"for {target:.0%}: the service's worker CPU per request {statistics.median(cuts):+.0%} "
                f"to cut (rounds: {_percentages(cuts)})"
            )
    finally:
        if database is not None:
            database.close()
        for server in servers.values():
            server.stop()


def _percentages(values: list[float]) -> str:
    return ", ".join(f"{value:.0%}" for value in values)


if __name__ == "__main__":
    main()
