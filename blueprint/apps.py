from django.apps import AppConfig


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "一张蓝图"

    def ready(self) -> None:
        from blueprint import checks  # noqa: F401  (registers the system checks)
