from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry import checks  # noqa: F401  (registers the deployment checks)
        from registry.api import schema  # noqa: F401  (registers the OpenAPI description of bearer tokens)
