"""Access control beyond the matrix: layer levels per role, tokens, rate limits, sign-in,
the audit log (an entry per audited action, append-only in the database), hardening, OIDC."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import shapely
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.test import Client

from blueprint.models import ApiToken, AuditEntry, Interface, Role
from blueprint.oidc import oidc_settings
from layers.models import Project
from tests.database import app_env
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PROJECT_CODE = "2022-370811-47-01-000002"


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def collections(client, **headers) -> set[str]:
    response = client.get("/ogc/collections", {"f": "json"}, **headers)
    assert response.status_code == 200, response.content
    return {c["id"] for c in response.json()["collections"]}


def entries(action: str, **filters):
    return list(AuditEntry.objects.filter(action=action, **filters))


# --- layer access levels ------------------------------------------------------------------------------

def test_collections_follow_the_layer_levels_of_each_role(client):
    from django.db.models import Q

    from layers.models import Layer

    # Layers with a version, and the project sites (internal), read live (layers/sites.py).
    levels = dict(Layer.objects.filter(Q(active_version__isnull=False) | Q(slug="project_site"))
                  .values_list("slug", "access_level"))
    assert levels["project_site"] == "internal"
    by_level = {lvl: {s for s, v in levels.items() if v == lvl}
                for lvl in ("public", "internal", "restricted")}
    assert all(by_level.values()), by_level  # the demo data has layers of every level
    assert collections(client) == by_level["public"]
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    assert collections(client) == by_level["public"] | by_level["internal"]
    sign_in(client, Role.CITY_PLANNER)
    assert collections(client) == set(levels)
    client.logout()
    _, raw = make_token("reader", interfaces=[Interface.OGC_READ], layers=["basic_farmland"])
    assert collections(client, **bearer(raw)) == by_level["public"] | {"basic_farmland"}
    hidden = client.get("/ogc/collections/ecological_redline/items", {"f": "json"}, **bearer(raw))
    assert hidden.status_code == 404 and hidden.json()["code"] == "NotFound"
    _, gate_only = make_token("gate-only", interfaces=[Interface.GATE])
    refused = client.get("/ogc/collections", {"f": "json"}, **bearer(gate_only))
    assert refused.status_code == 403 and refused.json()["code"] == "Forbidden"


def test_home_page_lists_no_restricted_layer_to_an_applicant(client):
    sign_in(client, Role.APPLICANT)
    page = client.get("/").content.decode()
    assert "行政区划" in page and "永久基本农田" not in page and "生态保护红线" not in page


def test_restricted_read_is_audited_with_who_and_bbox(client):
    user = sign_in(client, Role.CITY_PLANNER)
    bbox = "116.5,35.3,116.7,35.5"
    response = client.get("/ogc/collections/ecological_redline/items",
                          {"f": "json", "bbox": bbox, "limit": 1})
    assert response.status_code == 200
    [entry] = entries("layer.read", actor=user.username)
    assert (entry.target, entry.bbox, entry.role, entry.ip) == ("ecological_redline", bbox, "city_planner",
                                                                 "127.0.0.1")
    client.get("/ogc/collections/basic_farmland/items", {"f": "json", "limit": 1})  # internal: not audited
    assert len(entries("layer.read", actor=user.username)) == 1


# --- tokens ---------------------------------------------------------------------------------------------

def test_only_the_hash_of_a_token_is_stored():
    token, raw = make_token("hash-only")
    assert raw.startswith("bp_") and len(raw) > 40
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(stored, default=str)


@pytest.mark.parametrize("kind,words", [("expired", "过期"), ("revoked", "吊销"), ("unknown", "无效")])
def test_bad_tokens_are_refused_with_the_reason(client, kind, words):
    if kind == "unknown":
        raw = "bp_" + "x" * 43
    else:
        _, raw = make_token(f"bad-{kind}", expires_in=-timedelta(seconds=1) if kind == "expired"
                            else timedelta(days=1), revoked=kind == "revoked")
    rest = client.get(f"/api/gate/{PROJECT_CODE}", **bearer(raw))
    assert rest.status_code == 401 and rest["Content-Type"] == "application/problem+json"
    assert words in rest.json()["detail"] and rest["WWW-Authenticate"].startswith("Bearer")
    ogc = client.get("/ogc/collections", {"f": "json"}, **bearer(raw))
    assert ogc.status_code == 401 and ogc.json()["code"] == "NotAuthorized"
    assert words in ogc.json()["description"]


def test_a_token_scoped_to_districts_sees_only_their_projects(client):
    _, raw = make_token("county-system", interfaces=[Interface.GATE], districts=["370826"])
    assert client.get(f"/api/gate/{PROJECT_CODE}?stage=1", **bearer(raw)).status_code == 404
    other = Project.objects.filter(code__contains="-370826-").first()
    assert client.get(f"/api/gate/{other.code}?stage=1", **bearer(raw)).status_code == 200


@pytest.fixture(scope="module")
def committed_tokens(django_db_blocker):
    """Tokens the gunicorn server can see (committed; the test database is dropped afterwards)."""
    with django_db_blocker.unblock():
        slow = make_token("rate-limited", rate=3)[1]
        fast = make_token("server-client")[1]
    return slow, fast


def _http(url: str, raw: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {raw}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_rate_limit_answers_429_with_retry_after_on_rest_and_ogc(server, committed_tokens):
    raw, _ = committed_tokens
    statuses = [_http(f"{server}/api/gate/{PROJECT_CODE}?stage=1", raw)[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    status, headers, body = _http(f"{server}/api/gate/{PROJECT_CODE}?stage=1", raw)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    assert headers["Content-Type"] == "application/problem+json" and "60" not in json.loads(body)["title"]
    status, headers, body = _http(f"{server}/ogc/collections?f=json", raw)
    assert status == 429 and json.loads(body)["code"] == "TooManyRequests"
    assert int(headers["Retry-After"]) >= 1


def test_a_system_calls_rest_and_ogc_with_its_token_over_http(server, committed_tokens):
    _, raw = committed_tokens
    status, _, body = _http(f"{server}/api/gate/{PROJECT_CODE}?stage=1", raw)
    assert status == 200 and json.loads(body)["decision"] in {"allowed", "blocked", "needs_review"}
    status, _, body = _http(f"{server}/ogc/collections/water_body/items?f=json&limit=1", raw)
    assert status == 200 and len(json.loads(body)["features"]) == 1
    status, _, body = _http(f"{server}/api/nowhere", raw)
    assert status == 404 and b"Traceback" not in body and b"DEBUG" not in body


# --- sessions, CSRF, throttling -----------------------------------------------------------------------------

def test_session_posts_need_a_csrf_token_and_bearer_posts_do_not():
    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, Role.CITY_PLANNER)
    refused = strict.post("/api/checks", json.dumps({"project_code": PROJECT_CODE}),
                          content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    _, raw = make_token("csrf-free")
    anonymous = Client(enforce_csrf_checks=True)
    created = anonymous.post("/api/checks", json.dumps({"project_code": PROJECT_CODE}),
                             content_type="application/json", **bearer(raw))
    assert created.status_code == 201, created.content


def test_login_page_is_chinese_and_logins_are_audited(client):
    User.objects.create_user("alice", password="right-password-9")
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page and "用户名" in page and "密码" in page
    failed = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert failed.status_code == 200 and "_auth_user_id" not in client.session
    assert [(e.actor, e.ip) for e in entries("login.failed", target="alice")] == [("alice", "127.0.0.1")]
    ok = client.post("/accounts/login/", {"username": "alice", "password": "right-password-9"})
    assert ok.status_code == 302 and client.session["_auth_user_id"]
    assert len(entries("login", actor="alice")) == 1


# --- the audit log ------------------------------------------------------------------------------------------

def test_the_audit_table_refuses_update_delete_and_truncate():
    from blueprint import audit

    entry = audit.record("check.run", target="x", actor="tester")
    for sql in ("UPDATE blueprint_auditentry SET actor = 'someone else' WHERE id = %s",
                "DELETE FROM blueprint_auditentry WHERE id = %s", "TRUNCATE blueprint_auditentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [entry.pk] if "%s" in sql else None)
    assert AuditEntry.objects.get(pk=entry.pk).actor == "tester"


def test_checks_reruns_and_gate_decisions_are_audited_with_the_system(client):
    _, raw = make_token("approval-flow")
    created = client.post("/api/checks", json.dumps({"project_code": PROJECT_CODE}),
                          content_type="application/json", **bearer(raw))
    check_id = created.json()["id"]
    [run] = entries("check.run", target=check_id)
    assert (run.actor, run.role, run.detail["project"]) == ("token:approval-flow", "system", PROJECT_CODE)
    rerun = client.post(f"/api/checks/{check_id}/rerun", **bearer(raw)).json()
    [again] = entries("check.rerun", target=rerun["id"], actor="token:approval-flow")
    assert again.detail["rerun_of"] == check_id
    decision = client.get(f"/api/gate/{PROJECT_CODE}?stage=1", **bearer(raw)).json()
    [gate] = entries("gate.decision", target=PROJECT_CODE, actor="token:approval-flow")
    assert gate.detail["decision"] == decision["decision"] and gate.detail["stage"] == "1"


def test_site_revisions_and_projects_are_audited(client):
    user = sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    project = Project.objects.get(code=PROJECT_CODE)
    moved = shapely.affinity.translate(shapely.from_wkb(bytes(project.current_site.geom.wkb)), 0.0004, 0)
    response = client.post("/api/checks", json.dumps({"site": shapely.geometry.mapping(moved),
                                                      "project_code": PROJECT_CODE}),
                           content_type="application/json")
    assert response.status_code == 201
    [revised] = entries("site.revise", target=PROJECT_CODE, actor=user.username)
    assert revised.detail["revision"] == response.json()["site_revision"]
    from layers.services import create_project

    create_project(code="2024-370811-47-01-000099", name="审计测试项目", applicant="测试单位")
    assert entries("project.create", target="2024-370811-47-01-000099")[0].detail["district"] == "370811"
    change = client.post(f"/admin/layers/project/{project.pk}/change/", {
        "code": project.code, "name": "改名后的项目", "applicant": project.applicant,
        "project_type": project.project_type, "stage": project.stage, "category": project.category,
        "district": project.district_id, "site_revisions-TOTAL_FORMS": "0",
        "site_revisions-INITIAL_FORMS": "0"})
    assert change.status_code == 302, change.content.decode()[:2000]
    assert entries("project.change", actor=user.username)[0].detail["fields"] == ["name"]


def test_layer_imports_activations_and_rule_sets_are_audited(client, tmp_path):
    from layers.services import register_layer
    from tests.layers.helpers import jining_patches, write_geojson

    user = sign_in(client, Role.CITY_PLANNER)
    layer = register_layer("audit_line", "审计线", "Audit line", fields={"MC": "string"})[0]
    assert entries("layer.register", target="audit_line")
    path = write_geojson(tmp_path / "a.geojson", jining_patches(2), [{"MC": "甲"}, {"MC": "乙"}])
    with path.open("rb") as upload:
        client.post(f"/admin/layers/layer/{layer.pk}/import/", {"file": upload})
    client.post(f"/admin/layers/layer/{layer.pk}/preview/1/", {"action": "confirm"})  # after the preview
    [imported] = entries("layer.import", target="audit_line", actor=user.username)
    assert imported.detail["features"] == 2 and imported.detail["version"] == 1
    assert imported.detail["content_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entries("layer.activate", target="audit_line", actor=user.username)[0].detail["version"] == 1
    admin = sign_in(client, Role.SYSTEM_ADMIN, username="rules-admin")
    text = (ROOT / "compliance/rulesets/default.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "2026.1"', 'version: "2026.1-audit"')
    assert client.post("/admin/compliance/ruleset/add/", {"source_yaml": text}).status_code == 302
    assert entries("ruleset.save", actor=admin.username)[0].target.endswith("2026.1-audit")
    assert entries("ruleset.activate", actor=admin.username)


def test_tokens_issued_and_revoked_in_the_admin_are_audited(client):
    admin = sign_in(client, Role.SECURITY_ADMIN, username="token-admin")
    response = client.post("/admin/blueprint/apitoken/add/", {
        "name": "flow-system", "interfaces": ["gate", "checks"], "layers": "", "districts": "",
        "rate_limit_per_minute": "60", "expires_at_0": "2099-01-01", "expires_at_1": "00:00:00"}, follow=True)
    raw = re.search(r"bp_[A-Za-z0-9_-]{40,}", response.content.decode()).group(0)
    token = ApiToken.objects.get(name="flow-system")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert entries("token.create", target="flow-system", actor=admin.username)[0].detail["interfaces"] == [
        "checks", "gate"]
    client.post("/admin/blueprint/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert entries("token.revoke", target="flow-system", actor=admin.username)


def test_audit_list_filters_and_csv_export(client):
    sign_in(client, Role.AUDIT_ADMIN, username="auditor")
    from compliance.services import gate

    for stage in ("1", "2"):
        gate(PROJECT_CODE, stage, caller="csv-test")
    page = client.get("/admin/blueprint/auditentry/", {"action__exact": "gate.decision"})
    assert page.status_code == 200 and "csv-test" in page.content.decode()
    export = client.get("/admin/blueprint/auditentry/export.csv", {"action__exact": "gate.decision"})
    text = b"".join(export.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff") and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {r["action"] for r in rows} == {"gate.decision"}
    assert sorted(json.loads(r["detail"])["stage"] for r in rows if r["actor"] == "csv-test") == ["1", "2"]
    assert entries("audit.export", actor="auditor")


def test_county_planner_admin_lists_only_their_projects(client, small_data):
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    features = json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"]
    codes = {f["properties"]["XMDM"] for f in features}
    page = client.get("/admin/layers/project/").content.decode()
    shown = {code for code in codes if code in page}
    assert shown == {code for code in codes if code.split("-")[1] == "370811"} and shown != codes


# --- hardening ----------------------------------------------------------------------------------------------

def test_pages_carry_a_content_security_policy_without_external_hosts(client):
    csp = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
    docs = client.get("/api/docs/")
    html = docs.content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script to allow
    assert re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html) == []


def _manage(*args, **env):
    full = app_env(**env)
    full.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests' own allowance, not production's
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    production = {"HTTPS": "true", "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
                  "ALLOWED_HOSTS": "blueprint.example.org"}
    clean = _manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert clean.returncode == 0 and "no issues" in clean.stdout, clean.stdout + clean.stderr
    plain_http = _manage("check", "--deploy", **{**production, "HTTPS": "false"})
    assert "security.W008" in plain_http.stderr + plain_http.stdout  # the check can fail


def test_oidc_is_off_by_default(client):
    assert settings.OIDC_ENABLED is False and "mozilla_django_oidc" not in settings.INSTALLED_APPS
    assert settings.AUTHENTICATION_BACKENDS == ["axes.backends.AxesStandaloneBackend",
                                                "django.contrib.auth.backends.ModelBackend"]
    assert client.get("/oidc/authenticate/").status_code == 404
    assert "统一认证" not in client.get("/accounts/login/").content.decode()


PORTAL = {"OIDC_ENABLED": "true", "OIDC_RP_CLIENT_ID": "blueprint", "OIDC_RP_CLIENT_SECRET": "s3cret",
          "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://portal.example.gov.cn/oauth2/authorize",
          "OIDC_OP_TOKEN_ENDPOINT": "https://portal.example.gov.cn/oauth2/token",
          "OIDC_OP_USER_ENDPOINT": "https://portal.example.gov.cn/oauth2/userinfo",
          "OIDC_OP_JWKS_ENDPOINT": "https://portal.example.gov.cn/oauth2/jwks"}


def test_enabling_oidc_validates_its_settings():
    assert oidc_settings({}) == {}
    with pytest.raises(ImproperlyConfigured, match="OIDC_RP_CLIENT_ID.*OIDC_OP_JWKS_ENDPOINT"):
        oidc_settings({"OIDC_ENABLED": "true"})
    with pytest.raises(ImproperlyConfigured, match="https"):
        oidc_settings({**PORTAL, "OIDC_OP_TOKEN_ENDPOINT": "http://portal.example.gov.cn/token"})
    assert oidc_settings(PORTAL)["OIDC_RP_CLIENT_ID"] == "blueprint"


def test_enabled_oidc_sends_people_to_the_portal():
    script = ("import django; django.setup(); from django.test import Client; "
              "r = Client(HTTP_HOST='localhost').get('/oidc/authenticate/'); "
              "print(r.status_code, r['Location'])")
    env = app_env(**PORTAL, DJANGO_SETTINGS_MODULE="blueprint.settings")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    status, location = done.stdout.split()[-2:]
    assert status == "302" and location.startswith(PORTAL["OIDC_OP_AUTHORIZATION_ENDPOINT"] + "?")
    assert "client_id=blueprint" in location


def test_layer_upload_over_the_limit_is_refused(client, settings, tmp_path):
    from layers.services import register_layer
    from tests.layers.helpers import jining_patches, write_geojson

    settings.BLUEPRINT = {**settings.BLUEPRINT, "LAYER_UPLOAD_MAX_BYTES": 100}
    sign_in(client, Role.CITY_PLANNER)
    layer = register_layer("big_line", "大文件线", "Big line", fields={"MC": "string"})[0]
    path = write_geojson(tmp_path / "big.geojson", jining_patches(3), [{"MC": "甲"}] * 3)
    with path.open("rb") as upload:
        page = client.post(f"/admin/layers/layer/{layer.pk}/import/", {"file": upload}, follow=True)
    assert "文件超过上限" in page.content.decode() and layer.versions.count() == 0


def test_demo_users_one_per_role_and_never_on_https(settings, client):
    from django.core.management import CommandError, call_command

    from blueprint.access import principal_for_user

    settings.HTTPS = True
    with pytest.raises(CommandError, match="HTTPS"):
        call_command("demo_users", stdout=io.StringIO())
    settings.HTTPS = False
    call_command("demo_users", stdout=io.StringIO())
    roles = {u: principal_for_user(User.objects.get(username=u)).role
             for u in ("sysadmin", "secadmin", "auditor", "city", "county", "applicant")}
    assert roles == {"sysadmin": "system_admin", "secadmin": "security_admin", "auditor": "audit_admin",
                     "city": "city_planner", "county": "county_planner", "applicant": "applicant"}
    login = client.post("/accounts/login/", {"username": "county", "password": "Rencheng-Plan-2025"})
    assert login.status_code == 302
