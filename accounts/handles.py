"""Handle rules: what a handle may look like and the key that makes it unique.

Two handles are the same person's if their canonical keys are equal: Unicode NFKC
normalisation followed by case folding, so ``Alice``, ``ALICE`` and the full-width form
of ``alice`` collide. The social layer adds confusable and reserved-name checks on top.
"""

from __future__ import annotations

import re
import unicodedata

HANDLE_MIN_LENGTH = 3
HANDLE_MAX_LENGTH = 30
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


def handle_key(handle: str) -> str:
    return unicodedata.normalize("NFKC", handle).casefold()
