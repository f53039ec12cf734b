"""Password rules of 等保三级: character classes, not the user name, no reuse, a forced change.

The validators plug into Django's AUTH_PASSWORD_VALIDATORS (settings.py), so every place that
sets a password through Django — the change page, the admin, `createsuperuser`, `changepassword`
— applies them. `HistoryValidator.password_changed` keeps the hashes of earlier passwords and the
time of the change, which `password_expired` reads.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from blueprint.models import PasswordHistory

__all__ = ["CharacterClassesValidator", "NotUserNameValidator", "HistoryValidator", "password_expires_at",
           "password_expired", "forget_expiry"]

CLASSES = {"大写字母 upper-case letter": r"[A-Z]", "小写字母 lower-case letter": r"[a-z]",
           "数字 digit": r"[0-9]", "符号 symbol": r"[^A-Za-z0-9]"}


class CharacterClassesValidator:
    """At least `min_classes` of: upper-case, lower-case, digit, symbol."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        found = sum(bool(re.search(pattern, password)) for pattern in CLASSES.values())
        if found < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return (f"口令须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类。"
                f" (Use at least {self.min_classes} of: upper-case, lower-case, digits, symbols.)")


class NotUserNameValidator:
    """The password must not contain the user name (nor the user name reversed)."""

    def validate(self, password: str, user=None) -> None:
        name = (user.get_username() if user is not None else "").lower()
        if len(name) >= 3 and (name in password.lower() or name[::-1] in password.lower()):
            raise ValidationError(self.get_help_text(), code="password_contains_username")

    def get_help_text(self) -> str:
        return "口令不得包含用户名。 (The password must not contain the user name.)"


class HistoryValidator:
    """Not one of the last `history` passwords; records each change."""

    def __init__(self, history: int = 5):
        self.history = history

    def _recent(self, user) -> list[str]:
        return list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True)
                    [: self.history])

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        User = get_user_model()  # noqa: N806
        # The current password counts too (accounts made by create_user have no history yet).
        stored = User.objects.filter(pk=user.pk).values_list("password", flat=True)
        if any(check_password(password, old) for old in [*stored, *self._recent(user)]):
            raise ValidationError(self.get_help_text(), code="password_reused")

    def password_changed(self, password: str, user=None) -> None:
        if user is not None and user.pk is not None and user.has_usable_password():
            PasswordHistory.objects.create(user=user, password=user.password)
            stale = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[self.history:]
            PasswordHistory.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self) -> str:
        return (f"不得与最近 {self.history} 次使用过的口令相同。"
                f" (Not one of your last {self.history} passwords.)")


_EXPIRES = "_blueprint_password_expires"


def password_expires_at(user) -> float | None:
    """When the person's password must be changed (epoch seconds), or None (never)."""
    days = settings.PASSWORD_MAX_AGE_DAYS
    if not days or not user.has_usable_password():  # 统一认证 (OIDC) accounts have no password here
        return None
    changed = PasswordHistory.objects.filter(user=user).values_list("changed_at", flat=True).first()
    return ((changed or user.date_joined) + timedelta(days=days)).timestamp()


def password_expired(request) -> bool:
    """Is the signed-in person's password older than PASSWORD_MAX_AGE_DAYS? (Kept in the session:
    one query per session, not per tile; a change of password forgets it.)"""
    if _EXPIRES not in request.session:
        request.session[_EXPIRES] = password_expires_at(request.user)
    expires = request.session[_EXPIRES]
    return expires is not None and expires < timezone.now().timestamp()


def forget_expiry(request) -> None:
    request.session.pop(_EXPIRES, None)
