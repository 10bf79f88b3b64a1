"""Payouts, disputes and reconciliation: services, selectors, tasks, webhook handlers,
pages and API. The models live in ``payments.models.payouts`` / ``disputes`` /
``reconciliation``."""
