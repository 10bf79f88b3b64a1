from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Registers the OpenAPI description of Bearer tokens with drf-spectacular.
        from accounts import schema  # noqa: F401
