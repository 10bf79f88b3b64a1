"""``make test`` / ``make test-fast``: the pytest suite in parallel (pytest-xdist), against
DATABASE_URL / REDIS_URL when set and otherwise against embedded servers that are stopped
again afterwards, also when the run fails, is interrupted (Ctrl-C) or is terminated.

Arguments are passed to pytest. Unless they choose otherwise (``-n``, ``--dist``,
``-p no:xdist``), the suite runs on ``TEST_WORKERS`` processes (default: one more than
the CPU cores, at least 2, at most 6); ``conftest.py`` keeps the tests that open many
database connections from running side by side.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devservices import ROOT, ensure_services

BIN = Path(sys.executable).parent
# How long pytest gets to tear down (stop its Celery workers, clean Redis) once told to stop.
GRACE_SECONDS = 30


def default_workers() -> int:
    # Measured on 2 cores: 3 workers keep both busy while one waits on PostgreSQL, a
    # browser or a Celery task; more only add contention.
    return min(max((os.cpu_count() or 1) + 1, 2), 6)


def xdist_args(args: list[str]) -> list[str]:
    chosen = {"-n", "--numprocesses", "--dist", "no:xdist", "-pno:xdist"}
    if any(a in chosen or a.startswith(("-n", "--numprocesses=", "--dist=")) for a in args):
        return []
    workers = os.environ.get("TEST_WORKERS") or str(default_workers())
    return ["-n", workers]


def _terminate(proc: subprocess.Popen) -> None:
    """Ask pytest to stop as Ctrl-C does (it tears its fixtures down), then insist."""
    for sig, wait in ((signal.SIGINT, GRACE_SECONDS), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    os.chdir(ROOT)
    args = sys.argv[1:]

    def terminated(signum, _frame):
        print(f"• {signal.Signals(signum).name}: stopping the tests", file=sys.stderr)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)
    stops = ensure_services(database="socialpay", for_tests=True)
    proc: subprocess.Popen | None = None
    try:
        proc = subprocess.Popen([str(BIN / "pytest"), *xdist_args(args), *args])
        try:
            return proc.wait()
        except KeyboardInterrupt:
            # The terminal sent the same Ctrl-C to pytest, which now writes its summary.
            try:
                return proc.wait(timeout=GRACE_SECONDS)
            except (KeyboardInterrupt, subprocess.TimeoutExpired):
                return 130
    finally:
        if proc is not None:
            _terminate(proc)
        for stop in reversed(stops):
            stop()


if __name__ == "__main__":
    sys.exit(main())
