"""Celery queues by kind of work, so that workers on different hosts can take different
work (docs/scaling.md, "Queues").

Off by default: every task goes to ``CELERY_TASK_DEFAULT_QUEUE`` and any worker takes
anything, which is right for one host. With ``CELERY_SPLIT_QUEUES`` the tasks are routed:

- ``<default>.payouts``: ``payouts.*`` and the sandbox's payout settlement. Money leaving;
  slow processor calls must not hold up the rest.
- ``<default>.webhooks``: incoming processor events, outgoing webhooks (``hooks.*``), the
  sandbox's deliveries. Bursty, network-bound, retried.
- ``<default>.receipts``: ``payments.receipts_outbox_drain``, the e-mails and notifications
  after every payment: the widest fan-out.
- ``<default>``: everything else (ledger folds and checks, creators, core).

Every task is idempotent and takes ids (ARCHITECTURE.md), so moving a task to another
queue or host changes where it runs, never what it does.
"""

from __future__ import annotations

KINDS = ("payouts", "webhooks", "receipts")


def work_queues(default_queue: str) -> dict[str, str]:
    """The queue of each kind of work: ``<default>.<kind>``."""
    return {kind: f"{default_queue}.{kind}" for kind in KINDS}


def task_routes(default_queue: str) -> dict[str, dict[str, str]]:
    """Celery ``task_routes``: exact names first, then glob patterns (Celery's MapRoute)."""
    queues = work_queues(default_queue)
    return {
        "sandbox.payout_settle": {"queue": queues["payouts"]},
        "payouts.*": {"queue": queues["payouts"]},
        "payments.receipts_outbox_drain": {"queue": queues["receipts"]},
        "payments.webhook_*": {"queue": queues["webhooks"]},
        "hooks.*": {"queue": queues["webhooks"]},
        "sandbox.*": {"queue": queues["webhooks"]},
    }
