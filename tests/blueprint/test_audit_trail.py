"""What the audit log adds for 等保三级 (issue 13 §2): refused access, restricted reads through the
pages, every use of a token by interface and layer, exports, role and permission changes, and a
retention of at least six months."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction
from django.utils import timezone

from blueprint.models import AccessProfile, AuditEntry, Interface, Role
from compliance import services
from layers.models import Project
from tests.roles import make_person, make_token, sign_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PROJECT_CODE = "2022-370811-47-01-000002"
BBOX = "116.0,35.0,117.5,36.0"


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def refusals(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="access.refused", **filters).order_by("id"))


# --- refused access -----------------------------------------------------------------------------

def test_refused_requests_are_audited_with_status_who_and_where(client):
    check = services.check_project(Project.objects.get(code=PROJECT_CODE), created_by="a-planner")
    assert client.get(f"/api/checks/{check.id}").status_code == 401
    # Only this request's: tests through the live server commit their refusals outside this test.
    [anonymous] = [e for e in refusals(actor="anonymous") if str(check.id) in e.path]
    assert (anonymous.detail["status"], anonymous.target, anonymous.ip) == (
        401, "api/checks/<str:check_id>", "127.0.0.1")
    assert str(check.id) in anonymous.path
    _, gate_only = make_token("gate-only-audit", interfaces=[Interface.GATE])
    assert client.get("/ogc/collections", {"f": "json"}, **bearer(gate_only)).status_code == 403
    [token] = refusals(actor="token:gate-only-audit")
    assert token.detail["status"] == 403 and token.role == "system" and "无权" in token.detail["reason"]
    assert client.get("/api/gate/x", **bearer("bp_not-a-token")).status_code == 401
    assert "令牌无效" in refusals(target="/api/gate/x")[-1].detail["reason"]  # refused before routing


def test_a_404_for_hidden_data_is_audited_and_a_404_for_missing_data_is_not(client):
    check = services.check_project(Project.objects.get(code=PROJECT_CODE), created_by="a-planner")
    user = sign_in(client, Role.APPLICANT, organisation="另一家建设单位")
    assert client.get(f"/api/checks/{uuid.uuid4()}").status_code == 404
    assert refusals(actor=user.username) == []
    assert client.get(f"/api/checks/{check.id}").status_code == 404
    assert client.get(f"/maps/checks/{check.id}").status_code == 404
    assert [(e.target, e.detail["status"]) for e in refusals(actor=user.username)] == [
        (f"check:{check.id}", 404)] * 2
    planner = sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    for path in ("/ogc/collections/ecological_redline/items?f=json",
                 "/ogc/collections/ecological_redline/tiles/WebMercatorQuad/10/413/843",
                 f"/maps/data/ecological_redline?bbox={BBOX}&zoom=10",
                 "/ogc/collections/no_such_layer/items?f=json"):
        assert client.get(path).status_code == 404, path
    assert [e.target for e in refusals(actor=planner.username)] == ["layer:ecological_redline"] * 3


# --- restricted reads through the pages --------------------------------------------------------------

def test_restricted_features_read_through_the_page_data_are_audited(client):
    user = sign_in(client, Role.CITY_PLANNER)
    response = client.get("/maps/data/ecological_redline", {"bbox": BBOX, "zoom": "12"})
    assert response.status_code == 200 and response.json()["features"], "the demo red line meets the bbox"
    [read] = AuditEntry.objects.filter(action="layer.read", actor=user.username)
    assert (read.target, read.bbox, read.role) == ("ecological_redline", BBOX, "city_planner")
    client.get("/maps/data/water_body", {"bbox": BBOX, "zoom": "12"})  # public: not a restricted read
    assert AuditEntry.objects.filter(action="layer.read", actor=user.username).count() == 1


# --- tokens ---------------------------------------------------------------------------------------

def test_every_use_of_a_token_is_audited_by_interface_and_layer(client):
    _, raw = make_token("audited-system", interfaces=[Interface.OGC_READ, Interface.GATE])
    client.get("/ogc/collections/water_body/items", {"f": "json", "limit": 1}, **bearer(raw))
    client.get(f"/api/gate/{PROJECT_CODE}", {"stage": "1"}, **bearer(raw))
    client.get("/api/checks/x", **bearer(raw))  # not its interface: refused, and still a use
    entries = AuditEntry.objects.filter(action="token.use", target="audited-system").order_by("id")
    uses = [(e.detail.get("interface"), e.detail.get("layer"), e.detail["status"]) for e in entries]
    assert uses == [("ogc_read", "water_body", 200), ("gate", None, 200), (None, None, 403)]


# --- exports -------------------------------------------------------------------------------------

def test_report_exports_are_audited(client):
    check = services.check_project(Project.objects.get(code=PROJECT_CODE), created_by="a-planner")
    user = sign_in(client, Role.CITY_PLANNER)
    assert client.get(f"/api/checks/{check.id}/report").status_code == 200
    assert client.get(f"/api/checks/{check.id}/report.pdf").status_code == 200
    exports = AuditEntry.objects.filter(action="report.export", actor=user.username).order_by("id")
    assert [(e.target, e.detail["format"]) for e in exports] == [(str(check.id), "html"),
                                                                  (str(check.id), "pdf")]


# --- role and permission changes --------------------------------------------------------------------

def _changes(username: str) -> list[dict]:
    return [e.detail["changes"] for e in AuditEntry.objects.filter(action="role.change", target=username)
            .order_by("id")]


def test_role_district_and_flag_changes_are_audited_with_before_and_after():
    user = make_person(Role.APPLICANT, "role-audit", organisation="甲单位")
    assert _changes("role-audit")[-1]["role"] == [None, "applicant"]
    profile = AccessProfile.objects.get(user=user)
    profile.role, profile.districts = Role.COUNTY_PLANNER, ["370811"]
    profile.save()
    assert _changes("role-audit")[-1] == {"role": ["applicant", "county_planner"],
                                          "districts": [[], ["370811"]]}
    user.refresh_from_db()  # staff access followed the role
    user.is_superuser = True
    user.save()
    assert _changes("role-audit")[-1] == {"is_superuser": [False, True]}
    count = len(_changes("role-audit"))
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])  # not a change of grants
    assert len(_changes("role-audit")) == count


def test_a_role_changed_in_the_admin_is_audited_with_the_administrator(client):
    admin = sign_in(client, Role.SECURITY_ADMIN, username="grants-admin")
    target = make_person(Role.APPLICANT, "grants-target")
    page = client.get(f"/admin/auth/user/{target.pk}/change/")
    data = _admin_form_data(page)
    data.update({"access-0-role": Role.CITY_PLANNER})
    response = client.post(f"/admin/auth/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    [entry] = AuditEntry.objects.filter(action="role.change", target="grants-target", actor=admin.username)
    assert entry.detail["changes"]["role"] == ["applicant", "city_planner"] and entry.ip == "127.0.0.1"


class _FormFields(HTMLParser):
    """The fields a browser would send back unchanged from a page's forms."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _admin_form_data(page) -> dict:
    parser = _FormFields()
    parser.feed(page.content.decode())
    return {name: values if len(values) != 1 else values[0] for name, values in parser.data.items()}


def test_group_and_permission_changes_are_audited():
    user = make_person(Role.CITY_PLANNER, "group-audit")
    group = Group.objects.create(name="审批科")
    user.groups.add(group)
    user.groups.remove(group)
    changes = [(e.detail["relation"], e.detail["change"], e.detail["members"]) for e in
               AuditEntry.objects.filter(action="permission.change", target="group-audit").order_by("id")]
    assert changes == [("groups", "add", ["审批科"]), ("groups", "remove", ["审批科"])]


# --- retention ----------------------------------------------------------------------------------------

def test_the_audit_log_is_kept_at_least_six_months():
    assert settings.AUDIT_RETENTION_DAYS >= 183
    from blueprint import audit

    younger = audit.record("check.run", target="kept", actor="tester")  # younger than any retention
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        since = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        AuditEntry.objects.filter(at__gt=since).delete()
    assert AuditEntry.objects.filter(pk=younger.pk).exists()


def test_a_retention_under_six_months_is_refused_at_start_up():
    env = {**os.environ, "AUDIT_RETENTION_DAYS": "90", "DJANGO_SETTINGS_MODULE": "blueprint.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "AUDIT_RETENTION_DAYS=90" in result.stderr
    assert "183" in result.stderr


def test_the_readme_states_the_retention():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "AUDIT_RETENTION_DAYS" in readme and "183" in readme
