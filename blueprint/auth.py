"""Signing in: the Chinese login, password-change and two-factor pages, optional OpenID Connect.

Failed sign-ins are counted and locked out by django-axes (settings.py, blueprint/signin.py);
the audit log keeps every failure (`login.failed`) and lock-out (`login.locked`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views

from blueprint import audit
from blueprint.passwords import forget_expiry

__all__ = ["LoginView", "LogoutView", "PasswordChangeView", "PasswordChangeDoneView"]


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "oidc_enabled": settings.OIDC_ENABLED}


class LogoutView(auth_views.LogoutView):
    template_name = "registration/logged_out.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """The Chinese change page; an expired password leads here (blueprint.signin)."""

    template_name = "registration/password_change.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        forget_expiry(self.request)
        audit.record("password.change", target=self.request.user.get_username(), request=self.request)
        return response

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "max_age_days": settings.PASSWORD_MAX_AGE_DAYS}


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
