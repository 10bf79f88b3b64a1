"""Every benchmark under bench/ still runs: each is started in its ``--smoke`` mode (toy
sizes, a throwaway database cloned from a migrated template, no figures judged), so that a
schema or API change that breaks a benchmark fails the suite instead of the next person
who wants figures.

The benchmarks run as separate processes against the same PostgreSQL server and Redis as
the tests, each in a process group of its own that is killed if it outlives its time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A benchmark is a script; harness.py and floor.py are modules the scripts use.
BENCHMARKS = sorted(
    p.stem for p in (ROOT / "bench").glob("*.py") if '__name__ == "__main__"' in p.read_text()
)
# The first smoke run after a migration changed migrates the template (minutes on a busy
# machine); later ones only clone it.
TIMEOUT = 900


def test_every_benchmark_has_a_smoke_test():
    expected = {"ledger", "ledger_growth", "pages", "payouts", "timeline", "transfers"}
    assert set(BENCHMARKS) >= expected
    for name in BENCHMARKS:
        assert "--smoke" in (ROOT / "bench" / f"{name}.py").read_text(), name


# Options a benchmark takes that start other code than its default run.
VARIANTS = [("transfers", ("--server", "granian", "--threads", "2"))]


@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize(
    ("name", "options"),
    [(name, ()) for name in BENCHMARKS] + VARIANTS,
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_benchmark_runs(name, options, settings):
    import redis

    queue = f"bench-smoke-{uuid.uuid4().hex[:8]}"
    env = {
        key: value
        for key, value in os.environ.items()
        # The benchmark chooses its own profile and settings, as when run by hand.
        if key not in {"SOCIALPAY_PROFILE", "DJANGO_SETTINGS_MODULE", "CELERY_QUEUE"}
    }
    env.update(
        DATABASE_URL=_server_url(settings.DATABASES["default"]),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=queue,
        LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, f"bench/{name}.py", "--smoke", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # Tasks the benchmark's own setup queued outside its server: nobody works on them.
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)
    assert proc.returncode == 0, output[-4000:]


def _server_url(db: dict) -> str:
    """The test database's server; each benchmark makes a database of its own there."""
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db.get('USER') or ''}{password}@{host}{port}/postgres"
