"""Money: one Django app per area, all on the ledger (``ledger``) and the processors.

Layout, lowest first; each app holds its models, migrations, services, selectors, API,
pages, tasks, admin and tests, and imports only from the apps below it (a test reads the
imports, ``tests/test_dependencies.py``):

``payments.processors``  card processor adapters (sandbox, Stripe) behind frozen dataclasses;
                         imports nothing of ours.
``payments.webhooks``    processor webhooks: intake (stored raw, verified, de-duplicated),
                         the event store and the handler registry.
``payments.wallets``     top-ups, P2P transfers, money requests, limits, the payer rules every
                         outgoing payment checks (``payer``), receipts and their outbox.
``payments.fx``          rates, quotes, conversions and cross-border sends.
``payments.creators``    tips, paid posts, products and orders (escrow), memberships, the
                         creator dashboard; above ``posts``, which it extends through
                         ``posts.publishing`` and ``posts.locked``.
``payments.links``       payment links (fixed or pay-what-you-want), QR codes, embeds for
                         other sites; above ``payments.creators`` (the fee split).
``payments.payouts``     payouts to bank accounts and reconciliation with the processor.
``payments.disputes``    card disputes against top-ups and card payments.

This package itself holds the URL roots, the demo data commands and, as the app labelled
``payments``, the migration history of the single app these grew out of (the moves were
state-only: every table kept its name).

Every money flow has one shape, the transfer's (``payments.wallets.transfers``): one
durable transaction that checks the payer (fresh, locked), reserves limits, writes the
business row, books the ledger entry (``entry_post`` joins the transaction), marks the row
done and writes receipts to the outbox. Only where a processor call sits between two steps
does a flow take several: record the intent, commit, call, record the outcome (top-ups,
card tips, payouts). The creators' package docstring walks through the shape step by step.
"""
