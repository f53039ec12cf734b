from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Compliance checks")

    def ready(self) -> None:
        from compliance import impact
        from layers import versions

        versions.register_impact_preview(impact.preview_table)
