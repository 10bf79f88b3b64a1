"""Recording the nightly consistency checks and telling people about their findings.

``ledger_verify`` and the processor reconciliation run from Celery beat at night. Their
findings must reach a person, not only a log line: each run is stored (``NightlyCheck``,
read by the metrics as ``socialpay_nightly_check_*`` gauges) and, when it found anything,
mailed to ``ADMINS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from django.conf import settings
from django.core.mail import mail_admins

from core.models import NightlyCheck

log = structlog.get_logger(__name__)

# A limit on everything: the mail lists this many findings, then says how many more.
MAIL_MAX_FINDINGS = 50


def nightly_check_record(
    *,
    name: str,
    ok: bool,
    findings: Sequence[str],
    total: int | None = None,
    summary: dict | None = None,
) -> NightlyCheck:
    """Store one run's outcome; mail ``ADMINS`` when it was not ok. ``findings`` may be a
    first part of them, ``total`` their number (default: ``len(findings)``). A mail that
    cannot be sent is logged and does not undo the record (the gauge still shows it)."""
    total = len(findings) if total is None else total
    run = NightlyCheck.objects.create(name=name, ok=ok, findings=total, summary=summary or {})
    if not ok:
        _mail_findings(name, findings, total, summary or {})
    return run


def _mail_findings(name: str, findings: Sequence[str], total: int, summary: dict) -> None:
    if not settings.ADMINS:
        log.warning("nightly.findings_not_mailed", check=name, reason="ADMINS is empty")
        return
    shown = list(findings[:MAIL_MAX_FINDINGS])
    lines = [f"{name} found {total} problem(s).", ""]
    lines += [f"- {finding}" for finding in shown]
    if total > len(shown):
        lines.append(f"... and {total - len(shown)} more.")
    if summary:
        lines += ["", "Summary:"] + [f"  {key}: {value}" for key, value in summary.items()]
    try:
        mail_admins(f"{name}: {total} finding(s)", "\n".join(lines))
    except Exception:
        log.error("nightly.mail_failed", check=name, exc_info=True)
