"""The layers, read from the imports of production code (tests, migrations and management
commands excluded, imports inside functions included).

    payments (urls, demo data) → payments.hooks → payments.{payouts, disputes, links}
    payments.{payouts, disputes, links} → payments.{fx, creators}
    payments.creators → {posts, payments.wallets} → ledger → core
    payments.wallets → payments.webhooks → payments.processors

``payments.processors`` and ``ledger`` import no app of ours but ``core``'s money
(processors not even that); ``posts`` imports nothing from ``payments``. A module that
needs something from above asks through a registry the upper app fills at start-up
(``posts.locked``, the wallet statement's describers, webhook handlers); the money apps
tell ``payments.hooks`` about their events through the outbox row that
``payments.wallets.events.event_emit`` writes, never by importing it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Longest prefix first: a module belongs to the most specific package that holds it.
PACKAGES = [
    "payments.processors",
    "payments.webhooks",
    "payments.wallets",
    "payments.fx",
    "payments.creators",
    "payments.links",
    "payments.payouts",
    "payments.disputes",
    "payments.hooks",
    "payments",
    "posts",
    "accounts",
    "ledger",
    "core",
    "socialpay",
]
_MONEY_BASE = {"core", "accounts", "ledger", "payments.processors", "payments.webhooks"}
ALLOWED = {
    "payments.processors": set(),
    "ledger": {"core"},
    # core's health check pings the project's Celery app.
    "core": {"socialpay"},
    "accounts": {"core"},
    "posts": {"core", "accounts"},
    "payments.webhooks": {"core", "payments.processors"},
    "payments.wallets": _MONEY_BASE,
    "payments.fx": _MONEY_BASE | {"payments.wallets"},
    "payments.creators": _MONEY_BASE | {"payments.wallets", "posts"},
    "payments.payouts": _MONEY_BASE | {"payments.wallets", "payments.fx"},
    "payments.disputes": _MONEY_BASE | {"payments.wallets"},
    # Outgoing webhooks sit above every money app; none of them imports it.
    "payments.hooks": _MONEY_BASE
    | {"payments.wallets", "payments.creators", "payments.payouts", "payments.disputes"},
    # Payment links sit above wallets and creators (the fee split, the payer check);
    # nothing below imports them.
    "payments.links": _MONEY_BASE | {"payments.wallets", "payments.creators"},
    "payments": set(PACKAGES) - {"payments", "socialpay"},
    # The project: settings, URL roots, the Celery app.
    "socialpay": set(PACKAGES),
}


def _owner(module: str) -> str | None:
    for package in PACKAGES:
        if module == package or module.startswith(package + "."):
            return package
    return None


def _production_modules():
    for package in {p.split(".")[0] for p in PACKAGES}:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if {"tests", "migrations", "management"} & set(parts):
                continue
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def test_every_package_imports_only_what_its_layer_allows():
    breaches = []
    for module, path in _production_modules():
        source = _owner(module)
        assert source is not None, module
        for imported in _imports(path):
            target = _owner(imported)
            if target is None or target == source:
                continue
            if target not in ALLOWED[source]:
                breaches.append(f"{path.relative_to(ROOT)}: {source} imports {imported}")
    assert breaches == []

