from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # schema registers the OpenAPI description of Bearer tokens with drf-spectacular;
        # signals connects the receivers for credential events (lockout, notices, revocation).
        # exports registers this app's own sections first (profile, graph, notifications).
        from accounts import exports, schema, signals  # noqa: F401
