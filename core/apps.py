from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import scrape_metrics
        from core.metrics import collector_register

        collector_register("broker", scrape_metrics.broker_queues)
        collector_register("heartbeats", scrape_metrics.heartbeats)
        collector_register("nightly_checks", scrape_metrics.nightly_checks)
