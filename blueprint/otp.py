"""Two-factor sign-in (django-otp TOTP): enrolment from a QR code, and verification per session.

Required of the three administrators (blueprint.signin sends them here), offered to everyone.
The QR code is an SVG made on the server (`qrcode`), in the page: nothing leaves the network.
"""

from __future__ import annotations

import base64
import io

import django_otp
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from blueprint import audit

__all__ = ["setup", "verify"]


class TokenForm(forms.Form):
    token = forms.CharField(label="动态口令 (6 位数字)", min_length=6, max_length=6, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                         require_https=request.is_secure())
    return target if ok else "/"


def _qr_svg(device: TOTPDevice) -> str:
    out = io.BytesIO()
    write_qrcode_image(device.config_url, out)
    svg = out.getvalue().decode("utf-8")
    return mark_safe(svg[svg.index("<svg"):])  # noqa: S308 (our own SVG, without the XML declaration)


@login_required
def setup(request):
    """Bind an authenticator app: scan the QR code, then confirm with its first code."""
    user = request.user
    if django_otp.user_has_device(user):
        return redirect(f"/accounts/2fa/verify/?next={_next(request)}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name="TOTP", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            audit.record("otp.enrol", target=user.get_username(), request=request)
            return redirect(_next(request))
        audit.record("otp.failed", target=user.get_username(), request=request, stage="enrol")
        form.add_error("token", "动态口令不正确或已过期，请重试。 (Wrong or expired code: try again.)")
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "registration/otp_setup.html", {
        "form": form, "qr": _qr_svg(device), "secret": secret, "next": _next(request)})


@login_required
def verify(request):
    """Verify this session with a code from the bound authenticator app."""
    user = request.user
    if not django_otp.user_has_device(user):
        return redirect(f"/accounts/2fa/setup/?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(user, form.cleaned_data["token"])
        if device is not None:
            django_otp.login(request, device)
            audit.record("otp.verify", target=user.get_username(), request=request)
            return redirect(_next(request))
        audit.record("otp.failed", target=user.get_username(), request=request, stage="verify")
        form.add_error("token", "动态口令不正确或已过期，请重试。 (Wrong or expired code: try again.)")
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next(request)})
