"""Admin for the quality rules of each layer (图层质量规则): a kind from the registry, its parameters
validated against the kind's own schema (shown in the form), blocking or not."""

import json

from django import forms
from django.contrib import admin

from blueprint.access import Perm
from blueprint.admin import PolicyAdmin
from blueprint.errors import InvalidInput
from layers.quality.models import QualityRule
from layers.quality.registry import KINDS, validate_params

__all__ = ["QualityRuleAdmin"]


class QualityRuleForm(forms.ModelForm):
    class Meta:
        model = QualityRule
        fields = ["layer", "code", "kind", "params", "blocking", "enabled", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "params" in self.fields:  # a read-only view shows the value without a field
            schemas = {name: cls.schema()["properties"] for name, cls in KINDS.items()}
            text = json.dumps(schemas, ensure_ascii=False)
            self.fields["params"].help_text = f"各类型的参数 (JSON)：{text}"

    def clean(self):
        data = super().clean()
        if data.get("kind"):
            try:
                data["params"] = validate_params(data["kind"], data.get("params") or {})
            except InvalidInput as exc:
                self.add_error("params", exc.detail)
        return data


@admin.register(QualityRule)
class QualityRuleAdmin(PolicyAdmin):
    change_perm = Perm.IMPORT_LAYERS
    audit_action = "layer.change"
    form = QualityRuleForm
    list_display = ["layer", "code", "kind", "blocking", "enabled", "order"]
    list_filter = ["kind", "blocking", "enabled", ("layer", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["layer__slug", "code"]
