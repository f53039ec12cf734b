"""The outbox in the admin: every row's state, filterable by table, layer, district and state."""

from django.contrib import admin

from blueprint.access import Perm
from blueprint.admin import ReadOnlyAdmin
from exchange.models import OutboxRow


@admin.register(OutboxRow)
class OutboxRowAdmin(ReadOnlyAdmin):
    view_perm = Perm.SHARE_DATA
    list_display = ["key", "table", "layer", "district", "project", "valid", "state", "province_status",
                    "province_reason", "problem", "created_at", "sent_at"]
    list_filter = ["state", "table", "layer", "district"]
    search_fields = ["project__code", "district__code"]
    list_select_related = ["layer", "district", "project"]

    def scope(self, request, queryset):
        from exchange.services import rows_for

        return queryset.filter(pk__in=rows_for(request).values("pk"))
