"""Two checkouts of the service side by side, measured in turns: a lever's effect despite drift.

`make bench` runs once per commit, minutes apart; on a shared machine the floor itself
drifts by 10-20% between runs, as much as a lever moves. Here both checkouts serve at
once (gunicorn with the production settings, on the bench database `make bench` seeded),
and wrk measures them in alternating rounds, so drift hits both alike:

    git worktree add /tmp/before <commit> && ln -s "$PWD/.venv" /tmp/before/.venv
    .venv/bin/python bench/ab.py /tmp/before . [path ...]   # default: the small organization's list

Each round, per path: throughput at concurrency 8, then p50 latency at concurrency 1.
Paths are relative to /api/v1/data-sources and sent with the small organization's
X-Organization-ID. Prints each checkout's medians and every round's figures.
"""

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.request import Request, urlopen

import psycopg

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
LIST = "/api/v1/data-sources"
BENCH_USER = ("bench", "rivergen-bench")  # seed_bench's


def server_env(database_url: str, port: int) -> dict[str, str]:
    """Production settings as bench/run.py sets them, with fixed keys: one token serves both."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GUNICORN_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="bench-ab-only-secret-key-" + "s" * 40,
        JWT_SIGNING_KEY="bench-ab-only-signing-key-" + "j" * 40,
        CREDENTIALS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(b"bench-ab-only-credentials-key-32").decode(),
        SECURE_SSL_REDIRECT="false",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        THROTTLE_USER_RATE="1000000000/min",
        THROTTLE_ANON_RATE="1000000000/min",
        JWT_ACCESS_TOKEN_LIFETIME=str(24 * 60 * 60),
        GUNICORN_MAX_REQUESTS="0",
        PORT=str(port),
        GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}",
    )
    return env


def wrk(port: int, path: str, script: str, connections: int, seconds: int) -> tuple[float, float]:
    """(requests/s, p50 ms) of one wrk run; any non-2xx answer fails the comparison."""
    url = f"http://127.0.0.1:{port}{path}"
    output = subprocess.run(
        ["wrk", f"-c{connections}", f"-t{min(connections, 2)}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"non-2xx answers on port {port}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("paths", nargs="*", default=[""], help="query strings, e.g. '?page_size=100'")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8, help="each throughput run (latency: 5 s)")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rivergen_bench"
    with psycopg.connect(database_url) as connection:
        # seed_bench's second organization: the bench's "small organization" (the user's second).
        row = connection.execute("SELECT id FROM organizations_organization WHERE slug = 'bench-org-002'").fetchone()
    if row is None:
        raise SystemExit("no bench data: run `make bench` first")
    small_organization = row[0]

    checkouts = {"before": (args.before.resolve(), 8101), "after": (args.after.resolve(), 8102)}
    servers = []
    try:
        for name, (checkout, port) in checkouts.items():
            log = open(Path(tempfile.gettempdir()) / f"bench-ab-{name}.log", "w")  # noqa: SIM115
            servers.append(
                subprocess.Popen(
                    [str(GUNICORN), "-c", "gunicorn.conf.py", "rivergen.wsgi"],
                    cwd=checkout,
                    env=server_env(database_url, port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        time.sleep(8)  # workers booted (the master preloads Django)
        login = Request(
            f"http://127.0.0.1:{checkouts['after'][1]}/api/v1/auth/token",
            json.dumps(dict(zip(("username", "password"), BENCH_USER, strict=True))).encode(),
            {"Content-Type": "application/json"},
        )
        token = json.load(urlopen(login))["data"]["access"]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            script.write(f'wrk.headers["X-Organization-ID"] = "{small_organization}"\n')
        for _checkout, port in checkouts.values():
            wrk(port, LIST, script.name, 8, 3)  # warm up
        rates: dict[tuple[str, str], list[float]] = {(n, p): [] for n in checkouts for p in args.paths}
        p50s: dict[tuple[str, str], list[float]] = {(n, p): [] for n in checkouts for p in args.paths}
        for round_ in range(args.rounds):
            order = list(checkouts.items()) if round_ % 2 == 0 else list(reversed(checkouts.items()))
            for path in args.paths:
                for name, (_checkout, port) in order:
                    rates[(name, path)].append(wrk(port, LIST + path, script.name, 8, args.seconds)[0])
                    p50s[(name, path)].append(wrk(port, LIST + path, script.name, 1, 5)[1])
        for path in args.paths:
            for name in checkouts:
                rate, p50 = rates[(name, path)], p50s[(name, path)]
                print(
                    f"{name:<6} {LIST + path:<40} c=8 {statistics.median(rate):6.0f} req/s {[round(r) for r in rate]}"
                    f"  c=1 p50 {statistics.median(p50):5.2f} ms {[round(p, 2) for p in p50]}"
                )
    finally:
        for server in servers:
            os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
