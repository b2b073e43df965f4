"""Database-down figures for the connection pool (docs/operations.md). Prints; asserts nothing.

    .venv/bin/python bench/db_faults.py [--down 10 20 40] [--pool-timeout 5]

For each outage length, against a throwaway PostgreSQL (tests/reliability/pgserver.py; never a
shared server), with psycopg's stock `ConnectionPool` as Django builds it with
`CONN_HEALTH_CHECKS` (the pool's own `check`), and as Acountee configures and uses it (the same
stock pool with `connection_class=ObservedConnection` and `reconnect_timeout=1`, connections
taken through `acountee.db.pool.guarded_getconn`, which checks them itself), 4 idle connections
warmed up:

- how long the first `getconn()` after `pg_ctl stop -m immediate` takes to fail;
- the slowest failing `getconn()` while the server stays down (one every 0.5 s);
- how long after `pg_ctl start` a `getconn()` first succeeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from psycopg_pool import ConnectionPool  # noqa: E402

from acountee.db.pool import ObservedConnection, guarded_getconn, reachability  # noqa: E402
from tests.reliability.pgserver import ThrowawayServer  # noqa: E402


def build(kind: str, uri: str, timeout: float) -> ConnectionPool:
    common = {"conninfo": uri, "min_size": 4, "max_size": 8, "timeout": timeout, "open": False}
    if kind == "stock":
        return ConnectionPool(check=ConnectionPool.check_connection, **common)
    return ConnectionPool(connection_class=ObservedConnection, reconnect_timeout=1.0, **common)


def try_getconn(kind: str, pool: ConnectionPool) -> tuple[bool, float]:
    started = time.monotonic()
    try:
        conn = pool.getconn() if kind == "stock" else guarded_getconn(pool, reachability(str(pool.conninfo)))
    except Exception:
        return False, time.monotonic() - started
    conn.execute("SELECT 1")
    pool.putconn(conn)
    return True, time.monotonic() - started


def run(kind: str, down: float, timeout: float) -> str:
    server = ThrowawayServer().init()
    server.start()
    pool = build(kind, server.uri(), timeout)
    try:
        pool.open(wait=True)
        server.stop(mode="immediate")
        stopped = time.monotonic()
        _ok, first = try_getconn(kind, pool)
        slowest = first
        while time.monotonic() - stopped < down:
            time.sleep(0.5)
            slowest = max(slowest, try_getconn(kind, pool)[1])
        server.start()
        back = time.monotonic()
        while not try_getconn(kind, pool)[0]:
            if time.monotonic() - back > 180:
                return f"{kind:6} down {down:4.0f} s: never served again within 180 s"
            time.sleep(0.1)
        serving = time.monotonic() - back
        return (
            f"{kind:6} down {down:4.0f} s: first failure after {first:6.3f} s, slowest failure {slowest:6.3f} s, "
            f"serving again {serving:6.3f} s after the server returned"
        )
    finally:
        pool.close(timeout=1)
        server.destroy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--down", type=float, nargs="+", default=[10, 20, 40])
    parser.add_argument("--pool-timeout", type=float, default=5.0)
    args = parser.parse_args()
    print(f"pool timeout {args.pool_timeout} s (DB_POOL_TIMEOUT); shared 2-core machine, figures pessimistic")
    for down in args.down:
        for kind in ("stock", "ours"):
            print(run(kind, down, args.pool_timeout), flush=True)


if __name__ == "__main__":
    main()
