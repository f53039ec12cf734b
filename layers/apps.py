from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = _("Layer registry")

    def ready(self) -> None:
        from blueprint import events

        def conflicts_follow(**payload):
            from layers.tasks import on_version_activated

            on_version_activated(**payload)

        events.version_activated.connect(conflicts_follow, dispatch_uid="layers.conflicts", weak=False)
