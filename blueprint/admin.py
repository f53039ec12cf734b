"""Admin pieces shared by the apps, all under the one access policy; users, tokens, the audit log."""

from __future__ import annotations

import csv
import json

from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from blueprint import access, audit, tokens
from blueprint.access import Perm
from blueprint.models import AccessProfile, ApiToken, AuditEntry, Interface

__all__ = ["PolicyAdmin", "ReadOnlyAdmin"]


def _staff_allowed(request, perm: Perm | None) -> bool:
    """Whether the signed-in staff member may use `perm` (None: any staff member) by the policy."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    return perm is None or access.allows(access.principal_for_user(user), perm)


class PolicyAdmin(admin.ModelAdmin):
    """A model admin whose permissions come from blueprint.access, not from Django's model perms.

    `view_perm` lets a person see the list (default: the data is for those who read reports, not
    for the security and audit administrators); `change_perm` lets them add and change; `scope`
    narrows the rows (e.g. a county planner's projects). Saves are audited.
    """

    view_perm: Perm | None = Perm.READ_REPORTS
    change_perm: Perm | None = Perm.MANAGE_USERS
    audit_action = "admin.change"

    def scope(self, request, queryset):
        return queryset

    def _allowed(self, request, perm: Perm | None) -> bool:
        return _staff_allowed(request, perm)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_perm) or self.has_change_permission(request, obj)

    def has_add_permission(self, request):
        return self.change_perm is not None and self._allowed(request, self.change_perm)

    def has_change_permission(self, request, obj=None):
        return self.change_perm is not None and self._allowed(request, self.change_perm)

    def has_delete_permission(self, request, obj=None):
        return False  # records are evidence: retire them, do not delete them

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(self.audit_action, target=str(obj), request=request,
                     model=obj._meta.label, pk=str(obj.pk), created=not change,
                     fields=sorted(form.changed_data))


class ReadOnlyAdmin(PolicyAdmin):
    """For records that are written once by the services and never edited by hand."""

    change_perm = None


# --- people -----------------------------------------------------------------------------------

class AccessProfileInline(admin.StackedInline):
    """A person's role and scope, edited on the person's page: by the security administrator only
    (the policy's MANAGE_USERS, as the page itself; Django's model permissions grant nothing)."""

    model = AccessProfile
    can_delete = False
    verbose_name_plural = "角色与范围 role and scope"

    def has_view_permission(self, request, obj=None):
        return _staff_allowed(request, Perm.MANAGE_USERS)

    def has_add_permission(self, request, obj=None):
        return _staff_allowed(request, Perm.MANAGE_USERS)

    def has_change_permission(self, request, obj=None):
        return _staff_allowed(request, Perm.MANAGE_USERS)

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(User)
admin.site.unregister(Group)  # roles live in the access profile, not in Django groups


@admin.register(User)
class PolicyUserAdmin(PolicyAdmin, UserAdmin):
    view_perm = Perm.MANAGE_USERS
    audit_action = "user.change"
    inlines = [AccessProfileInline]
    list_display = ["username", "role", "districts", "organisation", "is_active", "last_login"]
    list_filter = ["is_active", "access__role"]

    @admin.display(description="角色 role")
    def role(self, obj):
        return access.principal_for_user(obj).role

    @admin.display(description="区县 districts")
    def districts(self, obj):
        return ", ".join(getattr(getattr(obj, "access", None), "districts", []) or [])

    @admin.display(description="单位 organisation")
    def organisation(self, obj):
        return getattr(getattr(obj, "access", None), "organisation", "")

    def has_change_permission(self, request, obj=None):
        # 三员分立: the security administrator names roles, never their own.
        own = obj is not None and obj.pk == request.user.pk
        return not own and super().has_change_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        AccessProfile.sync_staff(form.instance)


class SecurityRecordAdmin(ReadOnlyAdmin):
    """Records the security administrator may only look at and remove (which undoes them)."""

    view_perm = Perm.MANAGE_USERS
    delete_action = ""

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, Perm.MANAGE_USERS)

    def delete_model(self, request, obj):
        audit.record(self.delete_action, target=str(obj)[:300], request=request)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record(self.delete_action, target=str(obj)[:300], request=request)
        super().delete_queryset(request, queryset)


@admin.register(AccessAttempt)
class LockoutAdmin(SecurityRecordAdmin):
    """登录锁定: failed sign-ins per account and address (django-axes); deleting one unlocks it."""

    delete_action = "login.unlock"
    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent"]
    search_fields = ["username", "ip_address"]
    fields = readonly_fields = ["username", "ip_address", "user_agent", "failures_since_start",
                                "attempt_time", "path_info"]


admin.site.unregister(TOTPDevice)  # django-otp's own admin shows the secret key


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(SecurityRecordAdmin):
    """动态口令设备: people enrol their own; deleting one makes its owner enrol again (a lost phone)."""

    delete_action = "otp.reset"
    list_display = ["user", "name", "confirmed", "last_used_at"]
    search_fields = ["user__username"]
    fields = readonly_fields = ["user", "name", "confirmed", "last_used_at"]


# --- system tokens ------------------------------------------------------------------------------

class TokenForm(forms.ModelForm):
    interfaces = forms.MultipleChoiceField(choices=Interface.choices, widget=forms.CheckboxSelectMultiple,
                                           label="可调用的接口 interfaces")

    class Meta:
        model = ApiToken
        fields = ["name", "interfaces", "layers", "districts", "rate_limit_per_minute", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(PolicyAdmin):
    """Issuing shows the secret once; only its hash is stored. Tokens are revoked, not deleted."""

    form = TokenForm
    view_perm = Perm.MANAGE_USERS
    list_display = ["name", "prefix", "interfaces", "layers", "rate_limit_per_minute", "expires_at",
                    "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["name", "prefix", "interfaces", "layers", "districts", "rate_limit_per_minute",
                "expires_at", "revoked_at", "created_by", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        token, raw = tokens.create_token(
            data["name"], interfaces=data["interfaces"], layers=data["layers"], districts=data["districts"],
            rate_limit_per_minute=data["rate_limit_per_minute"], expires_at=data["expires_at"],
            created_by=request.user.get_username())
        obj.pk = token.pk
        messages.warning(request, f"令牌只显示这一次，请立即交给 {token.name} 保存：{raw}"
                                  " (The token is shown this once only: hand it over now.)")

    @admin.action(description="吊销所选令牌 revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            tokens.revoke_token(token, revoked_by=request.user.get_username())
        messages.success(request, "已吊销。 (Revoked.)")


# --- the audit log --------------------------------------------------------------------------------

CSV_COLUMNS = ["at", "actor", "role", "action", "target", "bbox", "ip", "path", "detail"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit administrator's page: reads and exports, each of them itself audited."""

    view_perm = Perm.READ_AUDIT
    list_display = ["at", "actor", "role", "action", "target", "bbox", "ip"]
    list_filter = ["action", "role", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor", "target", "ip", "path"]
    date_hierarchy = "at"
    change_list_template = "admin/blueprint/auditentry/change_list.html"

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_csv),
                      name="blueprint_auditentry_export")
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if self.has_view_permission(request):
            audit.record("audit.view", request=request, filters=dict(request.GET.items()))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.has_view_permission(request):
            audit.record("audit.view", target=str(object_id)[:40], request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def export_csv(self, request):
        """The entries the list shows (its filters and search applied), as CSV for Excel."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        entries = self.get_changelist_instance(request).get_queryset(request)
        audit.record("audit.export", request=request, filters=dict(request.GET.items()))
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response


class _Echo:
    def write(self, value):
        return value


def _csv_rows(entries):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel reads UTF-8 (Chinese) only with the byte-order mark
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow([timezone.localtime(entry.at).isoformat(), entry.actor, entry.role,
                               entry.action, entry.target, entry.bbox, entry.ip or "", entry.path,
                               json.dumps(entry.detail, ensure_ascii=False)])


# --- the task queue ---------------------------------------------------------------------------

def _register_queue_admin() -> None:
    """procrastinate's job list, read-only, for the system administrator, under the one policy."""
    from procrastinate.contrib.django.admin import ProcrastinateJobAdmin
    from procrastinate.contrib.django.models import ProcrastinateJob

    class QueueJobAdmin(ReadOnlyAdmin, ProcrastinateJobAdmin):
        view_perm = Perm.EDIT_RULESETS  # the system administrator's (三员分立: running the service)
        actions = []  # retry, cancel and abort are the workers' and retry_stalled_jobs' business

    admin.site.unregister(ProcrastinateJob)
    admin.site.register(ProcrastinateJob, QueueJobAdmin)


_register_queue_admin()

from blueprint.ops import admin as _ops_admin  # noqa: E402,F401  (the service logs and alerts)
