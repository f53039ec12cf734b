"""Signing in: the Chinese login page, login throttling, and optional OpenID Connect (统一认证)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.utils import timezone

from blueprint import audit
from blueprint.models import AuditEntry

__all__ = ["ThrottledAuthenticationForm", "LoginView", "LogoutView", "login_throttled"]


def login_throttled(username: str, ip: str | None) -> bool:
    """Too many failed logins lately for this account, or from this address?"""
    limits = settings.BLUEPRINT
    since = timezone.now() - timedelta(seconds=limits["LOGIN_THROTTLE_SECONDS"])
    failed = AuditEntry.objects.filter(action="login.failed", at__gte=since)
    if failed.filter(actor=username).count() >= limits["LOGIN_MAX_FAILURES"]:
        return True
    return bool(ip) and failed.filter(Q(ip=ip)).count() >= limits["LOGIN_MAX_FAILURES_PER_IP"]


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing to try a password after too many recent failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "登录失败次数过多，请 %(minutes)s 分钟后再试。"
                     " (Too many failed sign-ins: try again in %(minutes)s minutes.)",
    }

    def clean(self):
        username = (self.cleaned_data.get("username") or "")[:150]
        ip = audit.client_ip(self.request) if self.request else None
        if username and login_throttled(username, ip):
            audit.record("login.throttled", actor=username, target=username, request=self.request)
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled",
                params={"minutes": settings.BLUEPRINT["LOGIN_THROTTLE_SECONDS"] // 60})
        return super().clean()


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "oidc_enabled": settings.OIDC_ENABLED}


class LogoutView(auth_views.LogoutView):
    template_name = "registration/logged_out.html"
