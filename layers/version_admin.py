"""Admin for versions (switching the active one after its impact is shown) and 多规合一 conflict rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from blueprint import access
from blueprint.access import Perm
from blueprint.admin import PolicyAdmin
from blueprint.errors import BlueprintError
from layers import conflicts
from layers.models import ConflictRule, LayerVersion
from layers.tasks import queue_recompute
from layers.versions import activate_version, impact_of

__all__ = ["ActivationForm", "activation_view", "version_links", "ConflictRuleAdmin"]


class ActivationForm(forms.Form):
    reason = forms.CharField(label="原因（回滚时必填）", required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


def version_links(version: LayerVersion) -> str:
    """The row links of a version: switch to it, and compare it with the active one."""
    layer = version.layer
    if layer.kind != layer.Kind.VECTOR:
        return "—"
    if version.pk == layer.active_version_id:
        return "当前启用"
    active = layer.active_version
    word = "回滚到此版本" if active and version.number < active.number else "启用此版本"
    switch = reverse("admin:layers_layerversion_activate", args=[version.pk])
    if active is None:
        return format_html('<a href="{}">{}</a>', switch, word)
    diff = f"/maps/versions/{layer.slug}/diff?from={version.number}&to={active.number}"
    return format_html('<a href="{}">{}</a> · <a href="{}">与当前版本比较</a>', switch, word, diff)


def activation_view(model_admin, request, pk):
    """Show what switching to this version would change; on confirmation, switch (audited)."""
    version = get_object_or_404(LayerVersion.objects.select_related("layer__active_version"), pk=pk)
    layer = version.layer
    who = access.principal_for_user(request.user)
    if not (access.allows(who, Perm.IMPORT_LAYERS) and access.can_read_layer(who, layer)):
        return redirect("admin:index")
    form = ActivationForm(request.POST or None)
    impact = impact_of(layer, version)
    if request.method == "POST" and form.is_valid():
        try:
            activate_version(layer, version, actor=request.user.get_username(),
                             reason=form.cleaned_data["reason"], impact=impact)
        except BlueprintError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"已启用 {layer.slug} 第 {version.number} 版；受影响的检查已"
                                      "标记为过时，可在下方一次性排队重新检查。")
            return redirect(reverse("admin:layers_layerversion_activated", args=[version.pk]))
    active = layer.active_version
    context = {**model_admin.admin_site.each_context(request), "opts": LayerVersion._meta, "form": form,
               "layer": layer, "version": version, "active": active, "impact": impact,
               "rollback": bool(active and version.number < active.number),
               "title": f"启用版本：{layer.title_zh} 第 {version.number} 版"}
    return TemplateResponse(request, "layers/activate_version.html", context)


def activated_view(model_admin, request, pk):
    """After a switch: the re-runs of the stale checks, queued in one action."""
    version = get_object_or_404(LayerVersion.objects.select_related("layer"), pk=pk)
    if not access.allows(access.principal_for_user(request.user), Perm.IMPORT_LAYERS):
        return redirect("admin:index")
    context = {**model_admin.admin_site.each_context(request), "opts": LayerVersion._meta,
               "layer": version.layer, "version": version,
               "rerun_url": reverse("admin:compliance_check_rerun_stale"),
               "title": f"已启用：{version.layer.title_zh} 第 {version.number} 版"}
    return TemplateResponse(request, "layers/version_activated.html", context)


def version_urls(model_admin) -> list:
    site = model_admin.admin_site
    return [path("<int:pk>/activate/", site.admin_view(lambda r, pk: activation_view(model_admin, r, pk)),
                 name="layers_layerversion_activate"),
            path("<int:pk>/activated/", site.admin_view(lambda r, pk: activated_view(model_admin, r, pk)),
                 name="layers_layerversion_activated")]


@admin.register(ConflictRule)
class ConflictRuleAdmin(PolicyAdmin):
    """多规合一 conflict pairs are data: an administrator adds a pair and it is computed at once."""

    view_perm = Perm.REVIEW_PLANS
    change_perm = Perm.IMPORT_LAYERS
    audit_action = "admin.change"
    list_display = ["slug", "title_zh", "layer_a", "layer_b", "enabled", "computed_at", "patch_count",
                    "map_link"]
    list_filter = ["enabled"]
    readonly_fields = ["computed_version_a", "computed_version_b", "computed_at"]
    actions = ["recompute_now"]

    @admin.display(description="冲突图斑")
    def patch_count(self, obj):
        return obj.patches.count()

    @admin.display(description="地图")
    def map_link(self, obj):
        return format_html('<a href="/maps/conflicts?rule={}">冲突图</a>', obj.slug)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        queue_recompute(obj)
        messages.info(request, "已排队重新计算冲突图斑。 (Recomputation queued.)")

    @admin.action(description="立即重新计算所选冲突 (recompute now)")
    def recompute_now(self, request, queryset):
        if not self.has_change_permission(request):
            return
        counts = {rule.slug: conflicts.recompute(rule) for rule in queryset}
        messages.success(request, "；".join(f"{slug}: {n} 个冲突图斑" for slug, n in counts.items()))
