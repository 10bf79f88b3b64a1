"""``make run``: services, migrations, demo data, then gunicorn + Celery worker + beat.

Ctrl-C (or SIGTERM) stops every process started here, embedded servers included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devservices import ROOT, ensure_services

BIN = Path(sys.executable).parent


def main() -> int:
    os.chdir(ROOT)
    (ROOT / ".data").mkdir(exist_ok=True)
    stops = ensure_services(database="socialpay")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    procs: list[subprocess.Popen] = []

    def shutdown(*_args) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        for stop in reversed(stops):
            stop()

    try:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], check=True)
        subprocess.run([*manage, "seed_demo"], check=True)
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "socialpay.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    os.environ.get("WEB_CONCURRENCY", "2"),
                    "--no-control-socket",
                    "--access-logfile",
                    "-",
                ]
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "celery"),
                    "-A",
                    "socialpay",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    os.environ.get("CELERY_CONCURRENCY", "2"),
                ]
            )
        )
        procs.append(
            subprocess.Popen([str(BIN / "celery"), "-A", "socialpay", "beat", "--loglevel", "INFO"])
        )
        print(
            f"\n  SocialPay is running at http://{host}:{port}/\n"
            f"  Health: http://{host}:{port}/healthz   API docs: http://{host}:{port}/api/docs/\n"
            "  Demo logins (password: socialpay-demo): alice, bob, carol; staff: admin\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("a process exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        shutdown()


if __name__ == "__main__":
    sys.exit(main())
