"""Django admin (in Chinese) for layers, versions, districts and projects."""

from django.contrib import admin
from django.contrib.gis.db import models as gis_models

from layers.models import District, Layer, LayerVersion, Project, SiteRevision
from layers.widgets import LocalMapWidget

_MAP = {gis_models.GeometryField: {"widget": LocalMapWidget}}


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["slug", "title_zh", "title_en", "kind", "access_level", "active_version"]
    list_filter = ["kind", "access_level"]
    search_fields = ["slug", "title_zh", "title_en"]
    readonly_fields = ["active_version", "created_at"]


@admin.register(LayerVersion)
class LayerVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: shown, never edited."""

    list_display = ["layer", "number", "feature_count", "area_m2", "source_name", "source_crs",
                    "created_at"]
    list_filter = ["layer"]
    formfield_overrides = _MAP

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    formfield_overrides = _MAP


class SiteRevisionInline(admin.TabularInline):
    model = SiteRevision
    extra = 0
    fields = ["number", "area_m2", "source_format", "source_crs", "note", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "applicant", "project_type", "stage", "category", "district"]
    list_filter = ["project_type", "stage", "category"]
    search_fields = ["code", "name", "applicant"]
    inlines = [SiteRevisionInline]


@admin.register(SiteRevision)
class SiteRevisionAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "area_m2", "source_format", "created_at"]
    search_fields = ["project__code", "project__name"]
    formfield_overrides = _MAP
    readonly_fields = ["project", "number", "area_m2", "geometry_hash", "created_at"]
