from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import scrape_metrics
        from core.metrics import collector_register

        collector_register("broker", scrape_metrics.broker_queues)
        collector_register("heartbeats", scrape_metrics.heartbeats)
        collector_register("nightly_checks", scrape_metrics.nightly_checks)
        if settings.DATABASE_REPLICAS:
            from core.db_router import replica_metrics

            collector_register("db_replicas", replica_metrics)
