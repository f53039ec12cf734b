from django.apps import AppConfig


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "一张蓝图"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from blueprint import checks  # noqa: F401  (registers the system checks)
        from blueprint.db_roles import grant_after_migrate

        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="blueprint.grant_app_role")
