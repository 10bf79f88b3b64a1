"""``make test``: ruff, then the whole pytest suite, against DATABASE_URL / REDIS_URL when
set and otherwise against the embedded servers (stopped again afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devservices import ROOT, ensure_services

BIN = Path(sys.executable).parent


def main() -> int:
    os.chdir(ROOT)
    lint = subprocess.run([str(BIN / "ruff"), "check", "."])
    if lint.returncode != 0:
        print("ruff check failed", file=sys.stderr)
        return lint.returncode
    stops = ensure_services(database="socialpay")
    try:
        return subprocess.run([str(BIN / "pytest"), *sys.argv[1:]]).returncode
    finally:
        for stop in reversed(stops):
            stop()


if __name__ == "__main__":
    sys.exit(main())
