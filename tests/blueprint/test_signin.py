"""等保三级 identification and authentication: password rules and their forced change, login
failures locked per (account, address) with a growing cool-off, the idle timeout, two-factor
sign-in for the three administrators, and the separation of the three (三员分立)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone

from blueprint.access import Perm, allows, principal_for_user
from blueprint.models import AccessProfile, AuditEntry, PasswordHistory, Role
from tests.roles import log_in, make_person, sign_in

pytestmark = pytest.mark.django_db
PROJECT_CODE = "2022-370811-47-01-000002"


def entries(action: str, **filters):
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("at", "id"))


# --- passwords ------------------------------------------------------------------------------------

@pytest.mark.parametrize("password,code", [
    ("Ab1-xyz", "password_too_short"),  # 7 characters
    ("lowercase-only", "password_too_simple"),  # two classes: lower-case and a symbol
    ("wangwu-Beijing-2025", "password_contains_username"),
    ("Wuwgnaw-Beijing-2025", "password_contains_username"),  # the name reversed
])
def test_weak_passwords_are_refused_with_the_rule(password, code):
    user = User.objects.create_user("wangwu")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert code in {e.code for e in refused.value.error_list}
    validate_password("Harbour-Lights-42", user)  # three classes, long, not the name: accepted


def test_the_last_five_passwords_cannot_be_used_again():
    user = User.objects.create_user("reuser")
    passwords = [f"Rotation-{i}-Zz" for i in range(6)]
    for password in passwords:
        user.set_password(password)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == settings.PASSWORD_HISTORY == 5
    for recent in passwords[1:]:
        with pytest.raises(ValidationError, match="最近 5 次"):
            validate_password(recent, user)
    validate_password(passwords[0], user)  # six changes ago: allowed again


def test_the_change_page_applies_the_rules_and_is_audited(client):
    user = User.objects.create_user("changer", password="Old-Password-1")
    client.force_login(user)
    page = client.get("/accounts/password/change/").content.decode()
    assert "修改口令" in page and "至少 3 类" in page
    reused = client.post("/accounts/password/change/", {"old_password": "Old-Password-1",
                                                        "new_password1": "Old-Password-1",
                                                        "new_password2": "Old-Password-1"})
    assert reused.status_code == 200 and "不得与最近" in reused.content.decode()
    done = client.post("/accounts/password/change/", {"old_password": "Old-Password-1",
                                                      "new_password1": "Fresh-Start-77",
                                                      "new_password2": "Fresh-Start-77"})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/change/done/"
    assert entries("password.change", target="changer")


def test_an_expired_password_must_be_changed_first(client):
    user = User.objects.create_user("stale")
    user.set_password("Stale-Password-1")
    user.save()
    PasswordHistory.objects.filter(user=user).update(
        changed_at=timezone.now() - timedelta(days=settings.PASSWORD_MAX_AGE_DAYS + 1))
    client.force_login(user)
    page = client.get("/maps/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/password/change/?next=/maps/")
    api = client.get(f"/api/gate/{PROJECT_CODE}?stage=1")
    assert api.status_code == 403 and "口令已超过 90 天" in api.json()["detail"]
    client.post("/accounts/password/change/", {"old_password": "Stale-Password-1",
                                               "new_password1": "Renewed-Pass-90",
                                               "new_password2": "Renewed-Pass-90"})
    assert client.get("/maps/").status_code == 200


def test_a_person_without_history_counts_from_joining(client):
    user = User.objects.create_user("joined-long-ago", password="Joined-Long-Ago-1")
    PasswordHistory.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=91))
    client.force_login(user)
    assert client.get("/maps/").status_code == 302


# --- idle timeout -----------------------------------------------------------------------------------

def test_sessions_end_after_thirty_idle_minutes(client):
    assert settings.SESSION_IDLE_SECONDS == settings.SESSION_COOKIE_AGE == 30 * 60
    user = User.objects.create_user("idler", password="Idle-Session-30")
    signed_in = client.post("/accounts/login/", {"username": "idler", "password": "Idle-Session-30"})
    assert signed_in.status_code == 302
    key = client.session.session_key
    left = Session.objects.get(session_key=key).expire_date - timezone.now()
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)
    # Used again after a while: the idle clock starts again.
    session = client.session
    session["_blueprint_seen"] = int(time.time()) - 120
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/maps/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date - timezone.now() > timedelta(minutes=29)
    # Left idle past its end: signed out.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/accounts/password/change/")["Location"].startswith("/accounts/login/")
    assert user.pk  # (the account itself is untouched)


# --- login failures ---------------------------------------------------------------------------------

def _try(client, username, password, ip, path="/accounts/login/", **headers):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def test_failures_lock_the_account_only_from_that_address(client):
    User.objects.create_user("bob", password="Right-Password-9")
    limit = settings.LOGIN_MAX_FAILURES
    for _ in range(limit - 1):  # a forwarded-for header is the client's own claim: ignored by default
        assert _try(client, "bob", "guess", "10.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200
    assert _try(client, "bob", "guess", "10.0.0.1").status_code == 429  # the limit: locked
    locked = _try(client, "bob", "Right-Password-9", "10.0.0.1")
    assert locked.status_code == 429 and "登录已暂时锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert _try(client, "bob", "Right-Password-9", "10.0.0.1", "/admin/login/").status_code == 429
    # A stranger's failures do not lock bob out elsewhere.
    assert _try(client, "bob", "Right-Password-9", "10.0.0.2").status_code == 302
    failed = entries("login.failed", target="bob")
    assert len(failed) >= limit and {e.ip for e in failed} == {"10.0.0.1"}
    assert entries("login.locked", target="bob")[0].ip == "10.0.0.1"


def test_the_cool_off_grows_with_every_further_failure(client):
    User.objects.create_user("carol", password="Right-Password-9")
    for _ in range(settings.LOGIN_MAX_FAILURES + 2):
        _try(client, "carol", "guess", "10.0.0.3")
    base = settings.LOGIN_COOLOFF_SECONDS
    assert [e.detail["cool_off_seconds"] for e in entries("login.locked", target="carol")] == [
        base, 2 * base, 4 * base]


def test_a_security_administrator_unlocks(client):
    User.objects.create_user("dave", password="Right-Password-9")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _try(client, "dave", "guess", "10.0.0.4")
    attempt = AccessAttempt.objects.get(username="dave")
    admin = sign_in(client, Role.SECURITY_ADMIN, username="unlocker")
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    assert client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    assert entries("login.unlock", actor=admin.username)
    client.logout()
    assert _try(client, "dave", "Right-Password-9", "10.0.0.4").status_code == 302


def test_behind_a_proxy_the_trusted_header_names_the_client(client, settings):
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    User.objects.create_user("erin", password="Right-Password-9")
    proxy = "127.0.0.1"  # every request arrives from the reverse proxy
    for _ in range(settings.LOGIN_MAX_FAILURES):
        # The left entry is the client's own claim; the right-most one is what the proxy saw.
        _try(client, "erin", "guess", proxy, HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.7")
    assert _try(client, "erin", "Right-Password-9", proxy,
                HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert _try(client, "erin", "Right-Password-9", proxy,
                HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302
    assert {e.ip for e in entries("login.failed", target="erin")} == {"198.51.100.7"}


# --- two factors for the administrators -----------------------------------------------------------------

def totp(key: bytes, step: int, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1, 30 s steps), written here independently of django-otp."""
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def test_totp_of_this_test_matches_rfc_6238():
    assert totp(b"12345678901234567890", 59 // 30, digits=8) == "94287082"  # RFC 6238, appendix B


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_administrators_enrol_and_verify_a_totp_code_before_anything(client, role):
    user = make_person(role, f"otp-{role}")
    client.force_login(user)  # the password step only
    first = client.get("/admin/")
    assert first.status_code == 302 and first["Location"] == "/accounts/2fa/setup/?next=/admin/"
    assert client.get(f"/api/gate/{PROJECT_CODE}?stage=1").status_code == 403
    page = client.get(first["Location"]).content.decode()
    assert "绑定动态口令" in page and "<svg" in page
    key = base64.b32decode(re.search(r"<code>([A-Z2-7=]+)</code>", page).group(1))
    step = int(time.time()) // 30
    enrolled = client.post("/accounts/2fa/setup/", {"token": totp(key, step), "next": "/admin/"})
    assert enrolled.status_code == 302 and enrolled["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200 and entries("otp.enrol", target=user.username)
    # A new session: the password again, then a code (the next step's: a code is never reused).
    client.logout()
    client.force_login(user)
    assert client.get("/admin/")["Location"] == "/accounts/2fa/verify/?next=/admin/"
    verified = client.post("/accounts/2fa/verify/", {"token": totp(key, step + 1), "next": "/admin/"})
    assert verified.status_code == 302 and client.get("/admin/").status_code == 200
    assert entries("otp.verify", target=user.username)


def test_a_wrong_code_is_refused_and_throttles_the_next_try(client):
    user = make_person(Role.SECURITY_ADMIN, "otp-guesser")
    client.force_login(user)
    page = client.get("/accounts/2fa/setup/").content.decode()
    key = base64.b32decode(re.search(r"<code>([A-Z2-7=]+)</code>", page).group(1))
    right = totp(key, int(time.time()) // 30)
    wrong = client.post("/accounts/2fa/setup/", {"token": f"{(int(right) + 1) % 10**6:06d}"})
    assert "动态口令不正确" in wrong.content.decode() and entries("otp.failed", target=user.username)
    # django-otp waits longer after each failure: even the right code right away is refused.
    assert "动态口令不正确" in client.post("/accounts/2fa/setup/", {"token": right}).content.decode()
    assert client.get("/admin/").status_code == 302


def test_two_factors_are_optional_for_planners(client):
    user = make_person(Role.CITY_PLANNER, "otp-free")
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/accounts/2fa/setup/").status_code == 200  # offered


# --- 三员分立 ------------------------------------------------------------------------------------------

def test_the_superuser_flag_grants_nothing_beyond_the_role(client):
    user = make_person(Role.AUDIT_ADMIN, "flagged")
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    user.refresh_from_db()
    assert principal_for_user(user).role == Role.AUDIT_ADMIN
    log_in(client, user)
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/layers/layer/").status_code == 403
    bare = User.objects.create_user("bare-superuser", is_superuser=True)
    assert principal_for_user(bare).role == Role.SECURITY_ADMIN  # bootstraps the other two


def test_no_administrator_can_do_another_ones_job():
    def who(role):
        return principal_for_user(make_person(role, f"job-{role}"))

    system, security, auditor = who(Role.SYSTEM_ADMIN), who(Role.SECURITY_ADMIN), who(Role.AUDIT_ADMIN)
    assert {p for p in Perm if allows(system, p)} >= {Perm.IMPORT_LAYERS, Perm.EDIT_RULESETS}
    assert not allows(system, Perm.MANAGE_USERS) and not allows(system, Perm.READ_AUDIT)
    assert {p for p in Perm if allows(security, p)} == {Perm.MANAGE_USERS}
    assert {p for p in Perm if allows(auditor, p)} == {Perm.READ_AUDIT}


def test_the_deprecated_administrator_role_is_a_system_administrator():
    user = make_person(Role.CITY_PLANNER, "legacy-admin")
    AccessProfile.objects.filter(user=user).update(role=Role.ADMINISTRATOR)
    user.refresh_from_db()
    assert principal_for_user(user).role == Role.SYSTEM_ADMIN


def test_the_security_administrator_cannot_change_their_own_role(client):
    user = sign_in(client, Role.SECURITY_ADMIN, username="self-promoter")
    response = client.post(f"/admin/auth/user/{user.pk}/change/", {
        "username": user.username, "is_active": "on", "access-TOTAL_FORMS": "1", "access-INITIAL_FORMS": "1",
        "access-0-id": user.access.pk, "access-0-user": user.pk, "access-0-role": Role.AUDIT_ADMIN})
    assert response.status_code == 403
    assert AccessProfile.objects.get(user=user).role == Role.SECURITY_ADMIN


def test_the_audit_administrators_reading_is_itself_audited(client):
    auditor = sign_in(client, Role.AUDIT_ADMIN, username="reader-of-logs")
    assert client.get("/admin/blueprint/auditentry/", {"action__exact": "login"}).status_code == 200
    [read] = entries("audit.view", actor=auditor.username)
    assert read.role == Role.AUDIT_ADMIN and read.detail["filters"] == {"action__exact": "login"}
    entry = AuditEntry.objects.exclude(action="audit.view").first()
    assert client.get(f"/admin/blueprint/auditentry/{entry.pk}/change/").status_code == 200
    assert len(entries("audit.view", actor=auditor.username)) == 2
