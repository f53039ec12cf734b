"""Admin for rule sets (edited as YAML, validated, each save a new hashed version) and the
read-only results and gate log."""

from django import forms
from django.contrib import admin, messages

from blueprint import access
from blueprint.access import Perm
from blueprint.admin import PolicyAdmin, ReadOnlyAdmin
from blueprint.errors import InvalidInput
from compliance.models import Check, Finding, GateDecision, RuleSet
from compliance.rulesets import parse_ruleset, save_ruleset
from layers.models import Project


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


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    view_perm = Perm.CALL_GATE

    def scope(self, request, queryset):
        who = access.principal_for_user(request.user)
        return queryset.filter(project_code__in=Project.objects.filter(access.projects_q(who)).values("code"))

    list_display = ["project_code", "stage", "decision", "stale", "caller", "created_at"]
    list_filter = ["decision", "stale"]
    search_fields = ["project_code"]
