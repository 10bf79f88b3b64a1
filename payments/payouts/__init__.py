"""Payouts and reconciliation: services, selectors, tasks, webhook handlers, pages and API.
Card disputes are their own app, ``payments.disputes``."""
