from django.apps import AppConfig


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "一张蓝图"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from blueprint import audit, checks, grant_audit  # noqa: F401  (system checks, audit receivers)
        from blueprint.db_roles import grant_after_migrate

        grant_audit.connect()
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="blueprint.grant_app_role")
