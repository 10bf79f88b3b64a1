from django.apps import AppConfig


class FxConfig(AppConfig):
    """Foreign exchange: rates, quotes, conversions and cross-border sends."""

    name = "payments.fx"
    label = "fx"
    verbose_name = "Foreign exchange"

    def ready(self) -> None:
        # Registers the wallet statement's describer of FX lines.
        from payments.fx import selectors  # noqa: F401
