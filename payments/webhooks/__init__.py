"""Processor webhooks: intake (``services.webhook_receive``), processing
(``services.webhook_event_process``) and the handler registry (``registry.webhook_handler``)."""

from payments.webhooks.registry import WebhookRetryLater, webhook_handler

__all__ = ["WebhookRetryLater", "webhook_handler"]
