from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from core.metrics import collector_register
        from payments import metrics

        collector_register("payments", metrics.collect)
