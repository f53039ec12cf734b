from django.apps import AppConfig


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "一张蓝图"

    def ready(self) -> None:
        from blueprint import audit, checks, grant_audit  # noqa: F401  (system checks, audit receivers)

        grant_audit.connect()
