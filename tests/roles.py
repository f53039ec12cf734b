"""People and tokens of every role, made per test (the test database rolls them back)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from blueprint import tokens
from blueprint.models import ADMIN_ROLES, AccessProfile, ApiToken, Interface, Role

__all__ = ["make_person", "make_token", "sign_in", "log_in"]


def make_person(role: str, username: str | None = None, *, districts=(), organisation: str = "") -> User:
    """A user with an access profile (the superuser flag grants nothing: left off)."""
    user = User.objects.create_user(username or f"t-{role}")
    AccessProfile.objects.create(user=user, role=role, districts=list(districts), organisation=organisation)
    return user


def make_token(name: str, *, interfaces=tuple(Interface.values), layers=(), districts=(), rate: int = 1000,
               expires_in: timedelta = timedelta(days=1), revoked: bool = False) -> tuple[ApiToken, str]:
    """A system token and its secret; `expires_in` may be negative (made valid, then aged)."""
    token, raw = tokens.create_token(name, interfaces=list(interfaces), layers=list(layers),
                                     districts=list(districts), rate_limit_per_minute=rate,
                                     expires_at=timezone.now() + timedelta(days=1))
    if expires_in <= timedelta(0):
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + expires_in)
    if revoked:
        tokens.revoke_token(token)
    return token, raw


def log_in(client, user: User) -> None:
    """Sign a test client in as `user`; an administrator's session also passed the TOTP step."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    if user.access.role in ADMIN_ROLES:
        device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(user=user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


def sign_in(client, role: str = Role.CITY_PLANNER, **profile) -> User:
    """Sign a test client in as a new person of `role`."""
    user = make_person(role, **profile)
    log_in(client, user)
    return user
