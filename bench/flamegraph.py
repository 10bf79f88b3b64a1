"""Flame graphs of the app as it serves: py-spy samples a gunicorn worker under load.

    python bench/flamegraph.py [--seconds 20] [--users 300] [--out bench/results/flame]
                               [--smoke]

What it does:

1. Uses the database of ``bench/transfers.py`` (``sp_bench_transfers``, created and migrated
   when missing) and adds ``--users`` funded people with a Bearer token each, as that
   benchmark does.
2. Starts gunicorn with one sync worker, with the benchmark's settings (``DEBUG`` off, the
   limits opened wide, persistent database connections).
3. For ``GET /api/v1/me``, ``POST /api/v1/transfers`` and a wallet tip in turn: two
   keep-alive clients keep the worker busy (one request is always waiting for it) while
   ``py-spy record`` samples the worker 500 times a second for ``--seconds``, and writes
   ``flame-<name>.svg`` into ``--out`` (open it in a browser: the width of a frame is its
   share of the samples; click to zoom, search with Ctrl-F).

py-spy leaves out samples where the worker sleeps in a system call (waiting for
PostgreSQL or Redis), so the graph shows where the worker's CPU goes. It reads the
worker's memory from outside, without slowing it the way cProfile does
(``bench/profile_api.py``), but on a busy machine a worker that is ready to run and waits
for a CPU is counted as busy. That wait shows under the statement the worker was
running (``cursor.execute``).

Needs ``py-spy`` (in the dev group) and permission to read another process's memory
(root, or ``kernel.yama.ptrace_scope`` 0).
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import transfers  # noqa: E402
from harness import database_ensure, free_port, gunicorn_start, smoke_database  # noqa: E402

RATE = 500  # samples per second


def record(worker: int, seconds: float, path: Path) -> subprocess.Popen:
    """py-spy sampling ``worker`` in the background for ``seconds`` into ``path``."""
    py_spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [
            str(py_spy), "record",
            "--pid", str(worker),
            "--duration", str(max(1, round(seconds))),
            "--rate", str(RATE),
            "--format", "flamegraph",
            "--output", str(path),
            # Sampling without stopping the worker: a few samples are torn (counted as
            # errors by py-spy), but the request times are the worker's own.
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="of sampling per endpoint")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "flame")
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    if args.smoke:
        transfers.DB_NAME = smoke_database(transfers.BENCH_DB)
        args.seconds, args.users = 2, 10  # enough samples on a loaded CI machine
        args.out = Path(tempfile.mkdtemp(prefix="flame-smoke-"))
        atexit.register(shutil.rmtree, args.out, ignore_errors=True)
    else:
        database_ensure(transfers.BENCH_DB)
    args.out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    env = transfers.server_env(port)
    handles, tokens, ids, _shop = transfers.setup(args.users)
    people = list(zip(handles, tokens, ids, strict=True))
    cases = [
        ("me", transfers.me_request(people)),
        ("transfer", transfers.transfer_request(people)),
        ("tip", transfers.tip_request(people)),
    ]
    server = gunicorn_start(port, 1, env, ready_path="/api/v1/me")
    try:
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        for name, make in cases:
            transfers.load(port, 0.3 if args.smoke else 2, 2, make)  # imports, connections
            svg = args.out / f"flame-{name}.svg"
            spy = record(worker, args.seconds, svg)
            result = transfers.load(port, args.seconds + 1, 2, make)
            spy.wait(timeout=args.seconds + 60)
            if result["errors"] or not result["ok"]:
                print(f"{name}: {result['ok']} answered, errors {result['errors']}")
                return 1
            if spy.returncode or not svg.exists():
                print(f"{name}: py-spy could not sample the worker (permission to trace it?)")
                return 1
            # The title is py-spy's command line: no paths of this machine in a saved file.
            text = svg.read_text().replace(f"{ROOT}/", "")
            svg.write_text(text)
            samples = int(re.search(r'total_samples="(\d+)"', text).group(1))
            print(
                f"{name:9} {result['ok'] / result['wall']:6.0f} req/s on 1 worker, "
                f"{samples} busy samples -> {svg.relative_to(args.out.parent)}"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
