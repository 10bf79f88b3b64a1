"""Helpers for the webhook tests: the verification code exactly as the README documents it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_block(language: str) -> str:
    text = README.read_text()
    section = text.split("## Outgoing webhooks", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block in the README's webhook section"
    return match.group(1)


def readme_python_verify():
    """``verify_socialpay_signature`` from the README's Python block."""
    namespace: dict = {}
    exec(compile(_readme_block("python"), "README.md", "exec"), namespace)
    return namespace["verify_socialpay_signature"]


def readme_javascript_verify(body: bytes, header: str, secret: str) -> bool:
    """Run the README's JavaScript block under Node on one request."""
    script = (
        _readme_block("javascript")
        + "\nconst [body, header, secret] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        + "\nprocess.stdout.write(String(verifySocialPaySignature("
        + "Buffer.from(body, 'base64'), header, secret)));\n"
    )
    import base64
    import json

    stdin = json.dumps([base64.b64encode(body).decode(), header, secret])
    out = subprocess.run(
        ["node", "-e", script], input=stdin, capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout == "true"
