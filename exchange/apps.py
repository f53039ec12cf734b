from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = _("data sharing (数据共享交换)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from blueprint import events
        from exchange import monitoring, outbox  # noqa: F401  (monitoring registers its probe)

        events.version_activated.connect(outbox.on_version_activated, dispatch_uid="exchange.version")
        events.site_revised.connect(outbox.on_site_revised, dispatch_uid="exchange.site")
        events.check_stored.connect(outbox.on_check_stored, dispatch_uid="exchange.check")
        from compliance.statistics import register_section
        from exchange.statistics import sharing_tables

        register_section("sharing", sharing_tables)  # the statistics' sharing section
