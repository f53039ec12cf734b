"""The operators' log browsing: the access and error logs and the alerts, read-only, in the admin.

Loaded by blueprint/admin.py. Searchable by time (the last 15 minutes … 7 days, or the date
drill-down), user, route and status class; full-text search over user, path, route and message.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from blueprint.access import Perm
from blueprint.admin import ReadOnlyAdmin
from blueprint.models import Alert, ServiceLogEntry

__all__ = ["ServiceLogAdmin", "AlertAdmin"]


class SinceFilter(admin.SimpleListFilter):
    title = "时间 time"
    parameter_name = "since"
    _CHOICES = {
        "15m": ("最近 15 分钟 last 15 min", timedelta(minutes=15)),
        "1h": ("最近 1 小时 last hour", timedelta(hours=1)),
        "24h": ("最近 24 小时 last day", timedelta(days=1)),
        "7d": ("最近 7 天 last week", timedelta(days=7)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self._CHOICES.items()]

    def queryset(self, request, queryset):
        chosen = self._CHOICES.get(self.value() or "")
        return queryset.filter(at__gte=timezone.now() - chosen[1]) if chosen else queryset


class StatusClassFilter(admin.SimpleListFilter):
    title = "状态 status"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [("2", "2xx"), ("3", "3xx"), ("4", "4xx"), ("5", "5xx 服务器错误")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in {"2", "3", "4", "5"}:
            low = int(value) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


class RouteFilter(admin.SimpleListFilter):
    title = "路由 route"
    parameter_name = "route"

    def lookups(self, request, model_admin):
        routes = (
            ServiceLogEntry.objects.filter(at__gte=timezone.now() - timedelta(days=7))
            .exclude(route="")
            .values_list("route", flat=True)
            .distinct()
            .order_by("route")[:200]
        )
        return [(r, r or "/") for r in routes]

    def queryset(self, request, queryset):
        return queryset.filter(route=self.value()) if self.value() is not None else queryset


@admin.register(ServiceLogEntry)
class ServiceLogAdmin(ReadOnlyAdmin):
    """The access and error logs (访问与错误日志), the system administrator's."""

    view_perm = Perm.MONITOR
    list_display = ["at", "kind", "status", "method", "route", "path", "user", "ip", "duration_ms", "logger"]
    list_filter = ["kind", SinceFilter, StatusClassFilter, RouteFilter, "level"]
    search_fields = ["user", "path", "route", "message"]
    date_hierarchy = "at"
    show_full_result_count = False  # no count(*) over the whole log on every page


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts past and present (acknowledged on the operator page, /maps/ops/)."""

    view_perm = Perm.MONITOR
    list_display = [
        "started_at",
        "kind",
        "severity",
        "message",
        "resolved_at",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = ["kind", "severity", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["kind", "message", "acknowledged_by"]
    date_hierarchy = "started_at"
