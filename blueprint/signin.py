"""What a signed-in session must satisfy (等保三级 身份鉴别), and django-axes' growing cool-off.

`SignInPolicyMiddleware`, after authentication, for people (never for tokens):
- keeps the session alive while it is used: it ends SESSION_IDLE_SECONDS after the last request
  (the session is re-saved at most once a minute, so a map's tiles do not each write it);
- sends the three administrators to the 2FA pages until this session is verified by a TOTP code
  (enrolment first when they have no device): neither the admin nor any function before that;
- sends a person whose password is older than PASSWORD_MAX_AGE_DAYS to the change page.
REST and OGC requests of such a session are refused (403) with the reason instead of redirected.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.urls import reverse

from blueprint import audit
from blueprint.access import principal
from blueprint.models import ADMIN_ROLES
from blueprint.passwords import password_expired

__all__ = ["SignInPolicyMiddleware", "cool_off", "needs_second_factor"]

_SEEN = "_blueprint_seen"
_OPEN = ("/accounts/login/", "/accounts/logout/", "/accounts/2fa/", "/static/", "/healthz")


def cool_off(request=None) -> timedelta:
    """django-axes' lock-out time: LOGIN_COOLOFF_SECONDS at the limit, doubled by every further
    failure of the same account from the same address, up to LOGIN_COOLOFF_MAX_SECONDS."""
    base = timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS)
    ip = getattr(request, "axes_ip_address", None)
    if request is None or ip is None:
        return base
    failures = AccessAttempt.objects.filter(username=get_client_username(request), ip_address=ip).aggregate(
        n=Max("failures_since_start"))["n"] or 0
    extra = min(max(0, failures - settings.LOGIN_MAX_FAILURES), 30)
    return min(base * 2**extra, timedelta(seconds=settings.LOGIN_COOLOFF_MAX_SECONDS))


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    audit.record("login.locked", actor=username or "?", target=username or "", request=request,
                 cool_off_seconds=int(cool_off(request).total_seconds()))


def needs_second_factor(request) -> bool:
    """An administrator whose session is not yet verified by a one-time code."""
    verified = getattr(request.user, "is_verified", None)
    return principal(request).role in ADMIN_ROLES and not (verified and verified())


class SignInPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(request, "access_token", None):
            return self.get_response(request)
        now = int(time.time())
        if now - request.session.get(_SEEN, 0) >= 60:
            request.session[_SEEN] = now  # saved: the idle clock starts again
        if request.path.startswith(_OPEN):
            return self.get_response(request)
        if needs_second_factor(request):
            from django_otp import user_has_device

            page = "otp_verify" if user_has_device(user) else "otp_setup"
            return _refuse(request, page, "管理员须先完成双因素认证（动态口令）。"
                                          " (Administrators must first verify a one-time code.)")
        if not request.path.startswith("/accounts/password/") and password_expired(request):
            days = settings.PASSWORD_MAX_AGE_DAYS
            return _refuse(request, "password_change", f"口令已超过 {days} 天未修改，请先修改口令。"
                                                       f" (Password over {days} days old: change it.)")
        return self.get_response(request)


def _refuse(request, page: str, detail: str):
    if request.path.startswith(("/api/", "/ogc/")) or request.path == "/ogc":
        from blueprint.middleware import deny

        return deny(request, 403, detail)
    return HttpResponseRedirect(f"{reverse(page)}?next={quote(request.get_full_path())}")
