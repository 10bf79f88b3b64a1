"""core.gc_tuning: a web process (anything importing socialpay.wsgi) starts serving with
its start-up objects frozen and the higher collection thresholds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core import gc_tuning

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_web_process_freezes_its_start_up_objects_and_collects_less_often():
    probe = (
        "import gc, json, sys; import socialpay.wsgi as w; "
        "print(json.dumps([gc.get_freeze_count(), gc.get_threshold(), "
        "'payments.wallets.api' in sys.modules, callable(w.application)]))"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="socialpay.settings")
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    frozen, threshold, views_loaded, app_ready = json.loads(out.stdout.strip().splitlines()[-1])
    # The URLconf and its views (the API's among them) were imported before the freeze,
    # not left for the first request: over a hundred thousand objects that no collection
    # pass walks again.
    assert frozen > 100_000
    assert threshold == [
        gc_tuning.GEN0_THRESHOLD,
        gc_tuning.GEN1_THRESHOLD,
        gc_tuning.GEN2_THRESHOLD,
    ]
    assert views_loaded and app_ready
