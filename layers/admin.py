"""Django admin (in Chinese) for layers, versions, districts and projects."""

import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.gis.db import models as gis_models
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from blueprint import access
from blueprint.access import Perm
from blueprint.admin import PolicyAdmin, ReadOnlyAdmin
from blueprint.errors import BlueprintError
from layers import crs
from layers.imagery import IMAGERY_SUFFIXES, import_scene
from layers.importers import SUPPORTED_SUFFIXES, import_layer
from layers.models import District, Layer, LayerVersion, Project, SiteRevision
from layers.quality import reports as quality_reports
from layers.quality import review as quality_review
from layers.quality.admin import QualityRuleAdmin  # noqa: F401  (registers it)
from layers.version_admin import version_links, version_urls
from layers.widgets import LocalMapWidget

_MAP = {gis_models.GeometryField: {"widget": LocalMapWidget}}


def _max_upload() -> int:
    return settings.BLUEPRINT["LAYER_UPLOAD_MAX_BYTES"]


@admin.register(Layer)
class LayerAdmin(PolicyAdmin):
    change_perm = Perm.IMPORT_LAYERS
    audit_action = "layer.change"
    list_display = ["slug", "title_zh", "title_en", "kind", "access_level", "active_version"]
    list_filter = ["kind", "access_level"]
    search_fields = ["slug", "title_zh", "title_en"]
    readonly_fields = ["active_version", "created_at"]
    change_form_template = "layers/layer_change_form.html"

    def scope(self, request, queryset):
        return queryset.filter(access.readable_layers_q(access.principal_for_user(request.user)))

    def get_urls(self):
        extra = [path("<int:pk>/import/", self.admin_site.admin_view(self.import_view),
                      name="layers_layer_import"),
                 path("<int:pk>/preview/<int:number>/", self.admin_site.admin_view(self.preview_view),
                      name="layers_layer_preview")]
        return extra + super().get_urls()

    def import_view(self, request, pk):
        """Upload a file: it is imported and checked, then previewed before it goes live."""
        layer = get_object_or_404(Layer, pk=pk)
        if not self.has_change_permission(request, layer):
            return redirect("admin:index")
        if request.method == "POST" and int(request.META.get("CONTENT_LENGTH") or 0) > _max_upload():
            messages.error(request, f"文件超过上限 {_max_upload() // 1024**2} MiB，"
                                    "请分幅导入或用 import_layer 命令。 (The file is over the upload limit:"
                                    " split it, or use the import_layer command.)")
            return redirect(reverse("admin:layers_layer_import", args=[layer.pk]))
        raster = layer.kind == Layer.Kind.RASTER
        form = (ImageryImportForm if raster else ImportForm)(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            with tempfile.TemporaryDirectory() as folder:
                target = Path(folder) / Path(upload.name).name
                with target.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                try:
                    if raster:
                        text = _import_imagery(layer, target, form.cleaned_data, request.user.get_username())
                    else:
                        summary = import_layer(layer.slug, target, imported_by=request.user.get_username(),
                                               activate=False, **form.import_options())
                except BlueprintError as exc:
                    messages.error(request, exc.detail)
                else:
                    if raster:
                        messages.success(request, text)
                        return redirect(reverse("admin:layers_layer_change", args=[layer.pk]))
                    return redirect(reverse("admin:layers_layer_preview", args=[layer.pk, summary.version]))
        context = {**self.admin_site.each_context(request), "layer": layer, "form": form,
                   "opts": self.model._meta, "title": f"导入新版本：{layer.title_zh}"}
        return TemplateResponse(request, "layers/import_form.html", context)

    def preview_view(self, request, pk, number):
        """预览: counts, area, extent, the schema mapping, the quality report; then confirm or discard."""
        layer = get_object_or_404(Layer, pk=pk)
        version = get_object_or_404(LayerVersion, layer=layer, number=number)
        if not self.has_change_permission(request, layer):
            return redirect("admin:index")
        review = getattr(version, "review", None)
        if request.method == "POST" and review is not None:
            try:
                self._decide(request, review)
            except BlueprintError as exc:
                messages.error(request, exc.detail)
            return redirect(reverse("admin:layers_layer_preview", args=[layer.pk, number]))
        context = {**self.admin_site.each_context(request), "layer": layer, "version": version,
                   "review": review, "opts": self.model._meta, "area": crs.area_units(version.area_m2),
                   "report": quality_reports.version_report(version, limit=100),
                   "may_override": access.allows(access.principal_for_user(request.user),
                                                 Perm.OVERRIDE_QUALITY),
                   "title": f"预览：{layer.title_zh} 第 {number} 版"}
        return TemplateResponse(request, "layers/preview.html", context)

    def _decide(self, request, review) -> None:
        actor = request.user.get_username()
        if request.POST.get("action") == "discard":
            quality_review.discard(review, actor=actor)
            messages.info(request, f"已放弃第 {review.version.number} 版（保留存档，不会启用）。")
            return
        reason = request.POST.get("override_reason", "").strip()
        if reason and not access.allows(access.principal_for_user(request.user), Perm.OVERRIDE_QUALITY):
            messages.error(request, "只有系统管理员可以强制启用有阻断问题的版本。")
            return
        if quality_review.confirm(review, actor=actor, override_reason=reason):
            messages.success(request, f"第 {review.version.number} 版已启用。")
        else:
            messages.error(request, "有阻断性质量问题，未启用：修正数据后重新导入，"
                                    "或由系统管理员写明理由强制启用。")


class ImportForm(forms.Form):
    """What `import_layer` offers: the file, its CRS, the coverage, the access level."""

    file = forms.FileField(label="数据文件 (GeoJSON / GeoPackage / KML / Shapefile zip)")
    crs = forms.CharField(label="坐标系", required=False, max_length=200,
                          help_text="文件未带或带错坐标系时填写，如 EPSG:4527（CGCS2000 3° 带 39，"
                                    "带带号）。留空则取文件自带的。")
    coverage = forms.CharField(label="覆盖范围（行政区划代码）", required=False, max_length=2000,
                               help_text="数据完整的行政区，逗号分隔，如 370811,370812；"
                                         "留空则取要素所及的县。")
    access_level = forms.ChoiceField(label="访问级别", required=False,
                                     choices=[("", "不变")] + list(Layer.Access.choices))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise forms.ValidationError(
                f"不支持的文件类型，请上传 {' '.join(SUPPORTED_SUFFIXES)} 之一。")
        return upload

    def import_options(self) -> dict:
        codes = [c.strip() for c in self.cleaned_data.get("coverage", "").split(",") if c.strip()]
        return {"source_crs": self.cleaned_data.get("crs", "").strip(), "coverage": codes or None,
                "access_level": self.cleaned_data.get("access_level", "")}


class ImageryImportForm(forms.Form):
    """A raster layer's new scene: a GeoTIFF, with the date and sensor when the file lacks them."""

    file = forms.FileField(label="影像文件 (GeoTIFF .tif / .tiff)")
    acquired = forms.DateField(label="获取日期 (YYYY-MM-DD)", required=False,
                               help_text="留空则取文件的 ACQUISITION_DATE 或 TIFFTAG_DATETIME 标签。")
    sensor = forms.CharField(label="传感器", required=False, max_length=200,
                             help_text="留空则取文件的 SENSOR 标签。")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in IMAGERY_SUFFIXES:
            raise forms.ValidationError(
                f"不支持的文件类型 “{Path(upload.name).suffix}”：影像须为 GeoTIFF (.tif / .tiff)。"
                " (Imagery must be a GeoTIFF.)")
        return upload


def _import_imagery(layer: Layer, path: Path, data: dict, user: str) -> str:
    """Import an uploaded GeoTIFF as a new scene (and version) of a raster layer; the message."""
    summary = import_scene(layer.slug, path, acquired=data.get("acquired"), sensor=data.get("sensor", ""),
                           imported_by=user)
    if not summary.created:
        return f"文件未变化：已是第 {summary.version} 版的影像，未新建版本。"
    return (f"已导入影像并启用第 {summary.version} 版：获取日期 {summary.acquired:%Y-%m-%d}，"
            f"分辨率 {summary.resolution_m:g} 米，波段 {'/'.join(summary.bands)}，坐标系 {summary.crs}，"
            f"COG {summary.cog_bytes / 1e6:.1f} MB。")


@admin.register(LayerVersion)
class LayerVersionAdmin(ReadOnlyAdmin):
    """Versions are immutable: shown, never edited."""

    list_display = ["layer", "number", "feature_count", "area_m2", "source_name", "source_crs",
                    "created_at", "switch"]
    list_select_related = ["layer__active_version"]
    list_filter = [("layer", admin.RelatedOnlyFieldListFilter)]
    formfield_overrides = _MAP

    @admin.display(description="启用 / 回滚 / 比较")
    def switch(self, obj):
        return version_links(obj)

    def get_urls(self):
        return version_urls(self) + super().get_urls()

    def scope(self, request, queryset):
        """Counts, areas, extents and hashes tell about a layer: only for who may read it."""
        return queryset.filter(access.readable_layers_q(access.principal_for_user(request.user), "layer__"))


@admin.register(District)
class DistrictAdmin(PolicyAdmin):
    change_perm = Perm.IMPORT_LAYERS
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
class ProjectAdmin(PolicyAdmin):
    """Planners see and edit the projects of their districts only."""

    view_perm = Perm.READ_REPORTS
    change_perm = Perm.RUN_CHECKS
    audit_action = "project.change"

    def scope(self, request, queryset):
        return queryset.filter(access.projects_q(access.principal_for_user(request.user)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "district":  # a county planner files projects in their own districts only
            kwargs["queryset"] = District.objects.filter(access.districts_q(access.principal_for_user(
                request.user)))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    list_display = ["code", "name", "applicant", "project_type", "stage", "category", "district"]
    list_filter = ["project_type", "stage", "category"]
    search_fields = ["code", "name", "applicant"]
    inlines = [SiteRevisionInline]


@admin.register(SiteRevision)
class SiteRevisionAdmin(PolicyAdmin):
    view_perm = Perm.READ_REPORTS
    change_perm = Perm.RUN_CHECKS
    audit_action = "site.revise"

    def scope(self, request, queryset):
        return queryset.filter(access.projects_q(access.principal_for_user(request.user), "project__"))
    list_display = ["project", "number", "area_m2", "source_format", "created_at"]
    search_fields = ["project__code", "project__name"]
    formfield_overrides = _MAP
    readonly_fields = ["project", "number", "area_m2", "geometry_hash", "created_at"]
