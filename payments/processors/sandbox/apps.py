from django.apps import AppConfig


class SandboxProcessorConfig(AppConfig):
    name = "payments.processors.sandbox"
    label = "sandbox_processor"
    verbose_name = "Sandbox processor (the processor's own records)"
    default_auto_field = "django.db.models.BigAutoField"
