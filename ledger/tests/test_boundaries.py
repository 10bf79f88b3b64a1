"""Other apps use the ledger through its services, selectors and chart only: their
production code neither queries ledger tables (SQL or ORM) nor spells a ledger key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "core", "payments", "posts"]

_SQL_ON_LEDGER = re.compile(r"\b(FROM|JOIN|INTO|UPDATE)\s+ledger_\w+", re.IGNORECASE)
_ORM_ON_LEDGER = re.compile(
    r"(?<![\w.])(Entry|Posting|Hold|HoldLeg|BalanceDelta|AuditEvent)\.objects"
)
_KEY_PREFIXES = ("wallet:", "platform:")


def production_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name keys)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def offences(path: Path) -> list[str]:
    source = path.read_text()
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in docstrings:
            continue
        if node.value.startswith(_KEY_PREFIXES):
            found.append(f"line {node.lineno}: ledger key spelled out: {node.value[:40]!r}")
        if _SQL_ON_LEDGER.search(node.value):
            found.append(f"line {node.lineno}: SQL on a ledger table")
    for number, line in enumerate(source.splitlines(), 1):
        if _ORM_ON_LEDGER.search(line):
            found.append(f"line {number}: ORM query on a ledger model")
    return found


def test_no_app_reads_ledger_tables_or_builds_ledger_keys():
    report = {
        str(path.relative_to(ROOT)): problems
        for path in production_modules()
        if (problems := offences(path))
    }
    assert report == {}


def test_the_check_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Docstrings may say wallet:user:1:USD."""\n'
        'KEY = f"wallet:user:{1}:USD"\n'
        'SQL = "SELECT 1 FROM ledger_posting"\n'
        "rows = Posting.objects.all()\n"
        "ok = m.Account.objects.all()\n"
    )
    assert sorted(problem.split(":")[0] for problem in offences(bad)) == [
        "line 2",
        "line 3",
        "line 4",
    ]
