"""Admin for rule sets (edited as YAML, validated, each save a new hashed version) and the
read-only results and gate log."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from blueprint import access, audit
from blueprint.access import Perm
from blueprint.admin import PolicyAdmin, ReadOnlyAdmin
from blueprint.errors import InvalidInput
from compliance.models import Check, Finding, GateDecision, RuleSet
from compliance.rulesets import parse_ruleset, save_ruleset
from layers.models import Layer, Project


class RuleSetForm(forms.ModelForm):
    class Meta:
        model = RuleSet
        fields = ["source_yaml"]
        widgets = {"source_yaml": forms.Textarea(attrs={"rows": 40, "cols": 120,
                                                        "style": "font-family: monospace"})}

    def clean_source_yaml(self):
        text = self.cleaned_data["source_yaml"]
        try:
            parse_ruleset(text)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from exc
        return text


@admin.register(RuleSet)
class RuleSetAdmin(PolicyAdmin):
    """Saving never edits a rule set in place: it stores a new version and activates it."""

    change_perm = Perm.EDIT_RULESETS

    form = RuleSetForm
    list_display = ["name", "version", "short_hash", "is_active", "created_by", "created_at"]
    readonly_fields = ["name", "version", "content_hash", "is_active", "created_by", "created_at"]

    @admin.display(description="哈希")
    def short_hash(self, obj):
        return obj.content_hash[:12]

    def save_model(self, request, obj, form, change):
        saved = save_ruleset(form.cleaned_data["source_yaml"], created_by=request.user.get_username())
        obj.pk = saved.pk
        messages.info(request, f"已保存并启用规则集 {saved.name} {saved.version}"
                               f"（{saved.content_hash[:12]}）。")

    def response_change(self, request, obj):
        return self.response_add(request, obj)


class FindingInline(admin.TabularInline):
    model = Finding
    fk_name = "check_result"
    fields = ["order", "rule_id", "status", "message_zh"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Check)
class CheckAdmin(ReadOnlyAdmin):
    view_perm = Perm.READ_REPORTS

    def scope(self, request, queryset):
        return queryset.filter(access.checks_q(access.principal_for_user(request.user)))

    list_display = ["id", "project", "verdict", "category", "site_area_m2", "created_at"]
    list_filter = ["verdict", "category"]
    search_fields = ["project__code", "project__name"]
    inlines = [FindingInline]

    def get_urls(self):
        rerun = self.admin_site.admin_view(require_POST(self.rerun_stale_view))
        return [path("rerun-stale/", rerun, name="compliance_check_rerun_stale"),
                *super().get_urls()]

    def rerun_stale_view(self, request):
        """Queue the re-runs of every project check made stale by a switch of the posted layer."""
        from compliance.impact import queue_reruns

        slug = request.POST.get("layer", "")
        if not access.allows(access.principal_for_user(request.user), Perm.RERUN_CHECKS):
            return redirect("admin:index")
        if not Layer.objects.filter(slug=slug).exists():
            messages.error(request, f"未知图层 “{slug[:64]}”。 (Unknown layer.)")
            return redirect(reverse("admin:compliance_check_changelist"))
        queued = queue_reruns(slug, actor=request.user.get_username())
        audit.record("check.rerun_queue", target=slug, request=request, queued=queued)
        messages.success(request, f"已排队重新检查 {queued} 个过时的项目检查（后台执行）。"
                                  f" ({queued} re-runs queued.)")
        return redirect(reverse("admin:compliance_check_changelist"))


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    view_perm = Perm.CALL_GATE

    def scope(self, request, queryset):
        who = access.principal_for_user(request.user)
        return queryset.filter(project_code__in=Project.objects.filter(access.projects_q(who)).values("code"))

    list_display = ["project_code", "stage", "decision", "stale", "caller", "created_at"]
    list_filter = ["decision", "stale"]
    search_fields = ["project_code"]
