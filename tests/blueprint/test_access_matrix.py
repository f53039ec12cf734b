"""The authorization matrix: every URL pattern × every role → the expected status.

The patterns come from the URL resolver, so a new endpoint without a sample (and an expectation)
here, or without a rule in blueprint/access_rules.py, fails. The expectations are written from the
issue's roles, independently of the rule table they check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from axes.models import AccessAttempt
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from blueprint.access_rules import rule_for
from blueprint.models import Alert, ApiToken, AuditEntry, Interface, Role, ServiceLogEntry
from compliance import services
from compliance.jobs import enqueue_check
from compliance.models import GateDecision, Job, RuleSet
from exchange.models import OutboxRow
from layers.models import ConflictRule, District, Layer, Project, QualityRule
from tests.roles import log_in, make_person, make_token

pytestmark = pytest.mark.django_db

PROJECT_CODE = "2022-370811-47-01-000002"  # a demo project in 任城区 (370811)
SERVED = "served"  # any answer of the endpoint itself: not 401/403/429, not a 5xx

ADMINS = {"sysadmin", "secadmin", "auditor"}  # 三员: system, security and audit administrators
NO_DATA = {"secadmin", "auditor"}  # no function over the data, no project
PEOPLE = ADMINS | {"city", "county", "county_other", "owner", "applicant_other"}
TOKENS = {"token_full", "token_ogc", "token_process"}  # all interfaces; ogc_read; compliance_process
BAD_TOKENS = {"token_expired", "token_revoked"}
ROLES = ["anonymous", *sorted(PEOPLE), *sorted(TOKENS), *sorted(BAD_TOKENS)]
EVERYONE = {"anonymous"} | PEOPLE | TOKENS
VISITORS = {"anonymous"} | PEOPLE  # pages are for people: no token interface names a page
READERS = EVERYONE - {"token_process"}  # layer reads: a token needs ogc_read
DATA_STAFF = {"sysadmin", "city", "county", "county_other"}
STAFF = DATA_STAFF | NO_DATA
SEES_PROJECT = {"sysadmin", "city", "county", "owner", "token_full"}  # the county's planner, the owner
SEES_PROJECT_PAGE = SEES_PROJECT - TOKENS
OUT_OF_SCOPE = {"county_other", "applicant_other"}
STATISTICS = {"sysadmin", "city", "county", "county_other"}  # planning staff; tokens need `statistics`


@dataclass
class Sample:
    method: str
    path: str
    ok: int | str
    allowed: set[str]
    hidden: set[str] = field(default_factory=set)  # see 404, as if it did not exist
    special: dict[str, int] = field(default_factory=dict)
    data: dict | None = None


CHECK = "/api/checks/{check}"
QUALITY_READERS = DATA_STAFF | {"token_full"}
APPLICANTS = {"owner", "applicant_other"}
SUBMISSION_READERS = (PEOPLE - NO_DATA) | {"token_full"}
SAMPLES: dict[str, Sample] = {
    "": Sample("get", "/", 200, VISITORS),
    "healthz": Sample("get", "/healthz", 200, EVERYONE),
    # Prometheus: the test client is on this machine (METRICS_NETWORKS); a token needs its interface.
    "metrics": Sample("get", "/metrics", 200, EVERYONE - {"token_ogc", "token_process"}),
    "accounts/login/": Sample("get", "/accounts/login/", 200, {"anonymous"} | TOKENS,
                              special=dict.fromkeys(PEOPLE, 302)),
    "accounts/logout/": Sample("get", "/accounts/logout/", 405, EVERYONE),
    # Sign-in pages: for people; the others are sent to the login page.
    "accounts/password/change/": Sample("get", "/accounts/password/change/", 200, PEOPLE,
                                        special=dict.fromkeys({"anonymous"} | TOKENS, 302)),
    "accounts/password/change/done/": Sample("get", "/accounts/password/change/done/", 200, PEOPLE,
                                             special=dict.fromkeys({"anonymous"} | TOKENS, 302)),
    # The administrators have a device (enrolment leads to verification); the others may enrol.
    "accounts/2fa/setup/": Sample("get", "/accounts/2fa/setup/", 200, PEOPLE - ADMINS,
                                  special=dict.fromkeys({"anonymous"} | TOKENS | ADMINS, 302)),
    "accounts/2fa/verify/": Sample("get", "/accounts/2fa/verify/", 200, ADMINS,
                                   special=dict.fromkeys({"anonymous"} | TOKENS | (PEOPLE - ADMINS), 302)),
    "api/openapi.json": Sample("get", "/api/openapi.json", 200, EVERYONE),
    "api/docs/": Sample("get", "/api/docs/", 200, EVERYONE),
    "api/checks": Sample("post", "/api/checks", 201, (PEOPLE | {"token_full"}) - OUT_OF_SCOPE - NO_DATA,
                         hidden=OUT_OF_SCOPE, data={"project_code": PROJECT_CODE}),
    "api/checks/<str:check_id>": Sample("get", CHECK, 200, SEES_PROJECT, OUT_OF_SCOPE),
    # Re-running against today's data is the planners' (and the approval system's), not applicants'.
    "api/checks/<str:check_id>/rerun": Sample("post", CHECK + "/rerun", 201, SEES_PROJECT - {"owner"},
                                              {"county_other"}),
    "api/checks/<str:check_id>/report": Sample("get", CHECK + "/report", 200, SEES_PROJECT, OUT_OF_SCOPE),
    "api/checks/<str:check_id>/report.pdf": Sample("get", CHECK + "/report.pdf", 200, SEES_PROJECT,
                                                   OUT_OF_SCOPE),
    "api/checks/<str:check_id>/verify": Sample("get", CHECK + "/verify?hash={hash}", 200, EVERYONE),
    # The job was queued by the owner, without a check yet: its queuer and those who see all.
    "api/jobs/<str:job_id>": Sample("get", "/api/jobs/{job}", 200,
                                    {"sysadmin", "city", "owner", "token_full"},
                                    {"county", "county_other", "applicant_other"}),
    "api/projects/<str:code>/checks": Sample("get", f"/api/projects/{PROJECT_CODE}/checks", 200, SEES_PROJECT,
                                             OUT_OF_SCOPE),
    "api/gate/<str:code>": Sample("get", f"/api/gate/{PROJECT_CODE}?stage=1", 200,
                                  {"sysadmin", "city", "county", "token_full"}, {"county_other"}),
    # Map pages: any person may open them; projects and checks follow the caller's scope. Pages
    # (and their data endpoints) are for people: a token is refused whatever its interfaces.
    "maps/": Sample("get", "/maps/", 200, VISITORS),
    "maps/locate": Sample("get", "/maps/locate", 200, VISITORS),
    "maps/projects/<str:code>": Sample("get", f"/maps/projects/{PROJECT_CODE}", 200, SEES_PROJECT_PAGE,
                                       OUT_OF_SCOPE, special={"anonymous": 403}),
    "maps/projects/<str:code>/": Sample("get", f"/maps/projects/{PROJECT_CODE}/", 200, SEES_PROJECT_PAGE,
                                        OUT_OF_SCOPE, special={"anonymous": 403}),
    # The workspace lists what each person may see (their organisation's or districts' projects).
    "maps/projects/": Sample("get", "/maps/projects/", 200, PEOPLE - NO_DATA, special={"anonymous": 403}),
    "maps/preview": Sample("get", "/maps/preview", 200, VISITORS),
    "maps/checks/<str:check_id>": Sample("get", "/maps/checks/{check}", 200, SEES_PROJECT_PAGE, OUT_OF_SCOPE,
                                         special={"anonymous": 403}),
    "maps/imagery": Sample("get", "/maps/imagery", 200, VISITORS),
    "maps/data/locate": Sample("get", "/maps/data/locate?q=任城", 200, VISITORS),
    "maps/data/<slug:slug>": Sample("get", "/maps/data/water_body?bbox=116,35,117,36&zoom=10", 200, VISITORS),
    "maps/data/<slug:slug>/table": Sample("get", "/maps/data/water_body/table?bbox=116,35,117,36", 200,
                                          VISITORS),
    "maps/data/<slug:slug>/export.<str:fmt>": Sample(
        "get", "/maps/data/water_body/export.geojson?bbox=116,35,117,36", 200, VISITORS),
    "maps/print.pdf": Sample("get", "/maps/print.pdf?bbox=116.5,35.3,116.6,35.4&layers=water_body", 200,
                             VISITORS),
    "maps/language/<str:code>": Sample("get", "/maps/language/en", 302, VISITORS),
    # Where people land after signing in (a redirect), and the offline basemap's tiles (public data).
    "maps/start": Sample("get", "/maps/start", 302, VISITORS),
    "maps/basemap/<int:z>/<int:x>/<int:y>.png": Sample("get", "/maps/basemap/8/213/101.png", 200, VISITORS),
    # Version diffs and 多规合一 conflicts: the planners' (REVIEW_PLANS), not applicants' or tokens'.
    "maps/versions/<slug:slug>/diff": Sample("get", "/maps/versions/water_body/diff?from=1&to=1", 400,
                                             DATA_STAFF),
    "maps/versions/<slug:slug>/diff.<str:fmt>": Sample(
        "get", "/maps/versions/water_body/diff.gpkg?from=1&to=1", 400, DATA_STAFF),
    "maps/conflicts": Sample("get", "/maps/conflicts", 200, DATA_STAFF),
    "maps/conflicts.<str:fmt>": Sample(
        "get", "/maps/conflicts.gpkg?rule=farmland_in_development_boundary", 200, DATA_STAFF),
    # The operator page and its acknowledgements: the system administrator's (running the service).
    "maps/ops/": Sample("get", "/maps/ops/", 200, {"sysadmin"}),
    "maps/ops/alerts/<int:alert_id>/ack": Sample("post", "/maps/ops/alerts/999999999/ack", 404, {"sysadmin"}),
    "api/imagery/<slug:slug>/scenes": Sample("get", "/api/imagery/blue_marble/scenes", 200, READERS),
    "tiles/imagery/(?P<slug>[-\\w]+)/(?P<z>\\d{1,2})/(?P<x>\\d{1,8})/(?P<y>\\d{1,8})"
    r"\.(?P<fmt>png|jpg|jpeg|webp)$": Sample("get", "/tiles/imagery/blue_marble/0/0/0.png", 200, READERS),
    "exchange/": Sample("get", "/exchange/", 200, DATA_STAFF),
    "exchange/rows/<int:pk>/resend": Sample("post", "/exchange/rows/999999999/resend", 404, DATA_STAFF),
    "exchange/notify": Sample("post", "/exchange/notify", 202, DATA_STAFF | {"token_full"}),
    # Data quality: the city level reads any county's figures, a county its own; applicants none.
    "api/layers/<slug:slug>/versions/<int:number>/quality": Sample(
        "get", "/api/layers/water_body/versions/1/quality", 200, QUALITY_READERS, APPLICANTS),
    "api/layers/<slug:slug>/versions/<int:number>/quality.pdf": Sample(
        "get", "/api/layers/water_body/versions/1/quality.pdf", 200, QUALITY_READERS, APPLICANTS),
    "api/layers/<slug:slug>/versions/<int:number>/quality/run": Sample(
        "post", "/api/layers/water_body/versions/1/quality/run", 201, {"sysadmin", "city"}),
    # Counties' submissions: the list filters by role (empty for who neither submits nor reviews).
    "api/submissions": Sample("get", "/api/submissions", 200, SUBMISSION_READERS),
    "api/submissions/overdue": Sample("get", "/api/submissions/overdue", 200, SUBMISSION_READERS),
    "api/submissions/<int:pk>": Sample("get", "/api/submissions/999999999", 404, SUBMISSION_READERS),
    "api/submissions/<int:pk>/accept": Sample("post", "/api/submissions/999999999/accept", 404,
                                              {"sysadmin", "city"}),
    "api/submissions/<int:pk>/return": Sample("post", "/api/submissions/999999999/return", 404,
                                              {"sysadmin", "city"}),
    "maps/quality/<slug:slug>/<int:number>": Sample(
        "get", "/maps/quality/water_body/1", 200, QUALITY_READERS - TOKENS,
        {"anonymous"} | APPLICANTS | NO_DATA),
    "maps/submissions": Sample("get", "/maps/submissions", 200, VISITORS),
    "maps/submissions/<int:pk>": Sample("get", "/maps/submissions/999999999", 404, VISITORS),
    # Statistics: planning staff (a county planner its districts); the province with its token.
    "maps/statistics/": Sample("get", "/maps/statistics/", 200, STATISTICS),
    "maps/statistics/projects": Sample("get", "/maps/statistics/projects", 200, STATISTICS),
    "maps/statistics/checks": Sample("get", "/maps/statistics/checks", 200, STATISTICS),
    "maps/statistics/export.xlsx": Sample("get", "/maps/statistics/export.xlsx?table=gate", 200, STATISTICS),
    "maps/statistics/export.pdf": Sample("get", "/maps/statistics/export.pdf?district=370811", 200,
                                         STATISTICS, special={"county_other": 404}),
    "maps/statistics/monthly/<int:pk>.<str:fmt>": Sample("get", "/maps/statistics/monthly/999999.pdf", 404,
                                                         STATISTICS),
    "api/statistics": Sample("get", "/api/statistics", 200, STATISTICS | {"token_full"}),
    "api/statistics/monthly": Sample("get", "/api/statistics/monthly", 200, STATISTICS | {"token_full"}),
    # OGC map tiles: a vector layer drawn as PNG (per-layer levels inside, as for its vector tiles).
    "ogc/collections/<slug:slug>/map/tiles/<str:tileMatrixSetId>/<str:tileMatrix>/<str:tileRow>/<str:tileCol>":
        Sample("get", "/ogc/collections/water_body/map/tiles/WebMercatorQuad/0/0/0", 200, READERS),
}

OGC_IDS = {"collection_id": "water_body", "item_id": "1", "tileMatrixSetId": "WebMercatorQuad",
           "tileMatrix": "0", "tileRow": "0", "tileCol": "0", "tilematrixset_id": "WebMercatorQuad",
           "style_id": "default", "location_id": "x", "instance_id": "x", "process_id": "site-compliance",
           "job_id": str(uuid.UUID(int=1)), "resource": "x"}
OGC_CONVERTED = {"<slug:slug>": "blue_marble"}  # our map-tile set route
OGC_OK = {"ogc": 200, "ogc/": 200, "ogc/collections": 200, "ogc/conformance": 200,
          "ogc/TileMatrixSets/<str:tilematrixset_id>": 200,
          "ogc/collections/<str:collection_id>": 200, "ogc/collections/<str:collection_id>/items": 200,
          "ogc/collections/<str:collection_id>/items/<str:item_id>": 200}
RUNS_CHECKS = (PEOPLE | {"token_full", "token_process"}) - NO_DATA
# pygeoapi 0.24's Django view crashes on this (its bug: job_results_resource() is called without
# process_id): only the access decision is checked there.
PYGEOAPI_BROKEN = {"ogc/jobs/<str:job_id>/results/<str:resource>"}
# Shadowed by ".../instances/<str:instance_id>" in pygeoapi's URL list: no request reaches it.
SHADOWED = {"ogc/collections/<str:collection_id>/instances/locations"}


def ogc_sample(route: str) -> Sample:
    path = "/" + route
    for name, value in OGC_IDS.items():
        path = path.replace(f"<str:{name}>", value)
    for converter, value in OGC_CONVERTED.items():
        path = path.replace(converter, value)
    if route.startswith(("ogc/processes/<str:process_id>/execution", "ogc/jobs")):
        return Sample("post" if route.endswith("execution") else "get", path, SERVED, RUNS_CHECKS,
                      data={"inputs": {}})
    return Sample("get", path + "?f=json", OGC_OK.get(route, SERVED), READERS)


# --- the admin ------------------------------------------------------------------------------------
# model: (roles that may view, roles that may add and change); rows out of a county planner's
# districts are missing for them (the change page of another county's project redirects).
# 三员分立: the data is the system administrator's (and the planners'), people, tokens, lock-outs
# and 2FA devices the security administrator's, the audit log the audit administrator's alone.
ADMIN_MODELS = {
    "layers.layer": (DATA_STAFF, {"sysadmin", "city"}),
    "layers.layerversion": (DATA_STAFF, set()),
    "layers.district": (DATA_STAFF, {"sysadmin", "city"}),
    "layers.qualityrule": (DATA_STAFF, {"sysadmin", "city"}),
    "layers.project": (DATA_STAFF, DATA_STAFF),
    "layers.siterevision": (DATA_STAFF, DATA_STAFF),
    "layers.conflictrule": (DATA_STAFF, {"sysadmin", "city"}),
    "compliance.ruleset": (DATA_STAFF, {"sysadmin"}),
    "compliance.check": (DATA_STAFF, set()),
    "compliance.gatedecision": (DATA_STAFF, set()),
    "auth.user": ({"secadmin"}, {"secadmin"}),
    "blueprint.apitoken": ({"secadmin"}, {"secadmin"}),
    "blueprint.auditentry": ({"auditor"}, set()),
    "axes.accessattempt": ({"secadmin"}, set()),
    "otp_totp.totpdevice": ({"secadmin"}, set()),
    "procrastinate.procrastinatejob": ({"sysadmin"}, set()),
    "blueprint.servicelogentry": ({"sysadmin"}, set()),  # the access and error logs: running the service
    "blueprint.alert": ({"sysadmin"}, set()),  # the queue: the system administrator's
    "exchange.outboxrow": (DATA_STAFF, set()),
}
# Removing a lock-out unlocks the account; removing a 2FA device makes its owner enrol again.
DELETABLE = {"axes.accessattempt": {"secadmin"}, "otp_totp.totpdevice": {"secadmin"}}
SCOPED = {"layers.project", "layers.siterevision", "compliance.check", "compliance.gatedecision",
          "exchange.outboxrow"}
ADMIN_PLAIN = {"index": 200, "login": 302, "logout": 405, "password_change": 200,
               "password_change_done": 200, "jsi18n": 200, "autocomplete": 403, "view_on_site": 404,
               None: 404}


def _model_status(model: str, action: str, role: str) -> int:
    view, change = ADMIN_MODELS[model]
    sees = role in view or role in change
    # Out of a county planner's districts, or no project at all (the security and audit administrators).
    scoped_out = role in {"county_other"} | NO_DATA and model in SCOPED
    return {
        "changelist": 200 if sees else 403,
        "add": 200 if role in change else 403,
        "change": (302 if scoped_out else 200) if sees else 403,
        "history": 302 if scoped_out else (200 if sees else 403),
        "delete": 200 if role in DELETABLE.get(model, ()) else 403,
        "import": 200 if role in change else 302,
        "preview": 200 if role in change else 302,  # a version's preview before activation
        "export": 200 if sees else 403,
        "password_change": 200 if role in change else 403,
        # A version switch (its impact first) and the page after it: for who imports layers.
        "activate": 200 if role in {"sysadmin", "city"} else 302,
        "activated": 200 if role in {"sysadmin", "city"} else 302,
        "rerun_stale": 405,  # POST only (the stale re-runs, queued)
    }[action]


def admin_expectation(name: str | None, kwargs: dict, role: str) -> int:
    if role in BAD_TOKENS:
        return 401
    if role in TOKENS:
        return 403  # the admin is for people
    if role not in STAFF:
        return 200 if name == "login" else 302
    if name == "app_list":
        labels = {m.split(".")[0] for m, (v, c) in ADMIN_MODELS.items() if role in v | c}
        return 200 if kwargs["app_label"] in labels else 404
    if name in ADMIN_PLAIN:
        return ADMIN_PLAIN[name]
    for model in ADMIN_MODELS:
        prefix = model.replace(".", "_") + "_"
        if name.startswith(prefix):
            return _model_status(model, name[len(prefix):], role)
    raise AssertionError(f"admin URL {name} has no expectation: add its model to ADMIN_MODELS")


# --- walking the URL configuration --------------------------------------------------------------------

def routes(resolver=None, prefix: str = "", namespace: str = ""):
    """Yield (route, name) for every URL pattern, as request.resolver_match.route spells it."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        # Django drops a nested regex pattern's "^" when it joins routes (resolver_match.route).
        route = prefix + (str(pattern.pattern).removeprefix("^") if prefix else str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from routes(pattern, route, ns)
        elif isinstance(pattern, URLPattern):
            yield route, (f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name)


ALL_ROUTES = list(dict.fromkeys(routes()))


def test_every_route_has_an_access_rule():
    missing = [route for route, _ in ALL_ROUTES if rule_for(route) is None]
    assert missing == [], f"add rules to blueprint/access_rules.py for {missing}"


def test_every_route_has_a_sample_here():
    missing = [route for route, _ in ALL_ROUTES
               if not route.startswith(("admin/", "ogc/")) and route != "ogc" and route not in SAMPLES]
    assert missing == [], f"add samples and expectations to SAMPLES for {missing}"


@pytest.fixture
def world(small_data):
    """One person or token of every role, and a project, check, job and gate answer to ask about."""
    project = Project.objects.get(code=PROJECT_CODE)
    other = Project.objects.exclude(district__code__startswith="370811").first()
    people = {
        "sysadmin": make_person(Role.SYSTEM_ADMIN, "m-sysadmin"),
        "secadmin": make_person(Role.SECURITY_ADMIN, "m-secadmin"),
        "auditor": make_person(Role.AUDIT_ADMIN, "m-auditor"),
        "city": make_person(Role.CITY_PLANNER, "m-city"),
        "county": make_person(Role.COUNTY_PLANNER, "m-county", districts=["370811"]),
        "county_other": make_person(Role.COUNTY_PLANNER, "m-county-other", districts=[other.district_id]),
        "owner": make_person(Role.APPLICANT, "m-owner", organisation=project.applicant),
        "applicant_other": make_person(Role.APPLICANT, "m-other", organisation=other.applicant),
    }
    from datetime import timedelta

    secrets = {
        "token_full": make_token("m-full")[1],
        "token_ogc": make_token("m-ogc", interfaces=[Interface.OGC_READ])[1],
        "token_process": make_token("m-process", interfaces=[Interface.COMPLIANCE_PROCESS])[1],
        "token_expired": make_token("m-expired", expires_in=-timedelta(minutes=1))[1],
        "token_revoked": make_token("m-revoked", revoked=True)[1],
    }
    check = services.check_project(project, created_by="m-city")
    site = check.geom
    import shapely

    job = enqueue_check(shapely.from_wkb(bytes(site.wkb)), created_by="m-owner", category=check.category)
    services.gate(PROJECT_CODE, "1", caller="m-city")
    AccessAttempt.objects.create(username="m-locked", ip_address="192.0.2.1", user_agent="x", get_data="",
                                 post_data="", failures_since_start=5, attempt_time=timezone.now())
    for admin in ("sysadmin", "secadmin", "auditor"):
        TOTPDevice.objects.create(user=people[admin], name="TOTP")
    values = {"check": check.id, "hash": check.result_hash, "job": job.id}
    return people, secrets, values


def _request(client, people, secrets, role, method, path, data=None):
    client.logout()
    headers = {}
    if role in people:
        log_in(client, people[role])
    elif role in secrets:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secrets[role]}"
    if method == "post":
        return client.post(path, data or {}, content_type="application/json", **headers)
    return client.get(path, **headers)


def expected_status(sample: Sample, role: str) -> int | str:
    if role in BAD_TOKENS:
        return 401
    if role in sample.special:
        return sample.special[role]
    if role in sample.allowed:
        return sample.ok
    if role in sample.hidden:
        return 404
    if role == "anonymous":
        return 401 if sample.path.startswith(("/api/", "/ogc/")) else 302
    return 403


def matches(status: int, want: int | str) -> bool:
    if want == SERVED:  # 501: pygeoapi's own "not implemented" (asyncapi, STAC search)
        return status not in (401, 403, 429) and (status < 500 or status == 501)
    return status == want


@pytest.mark.parametrize("route", [r for r, _ in ALL_ROUTES if not r.startswith("admin/")])
def test_matrix_outside_the_admin(client, world, route):
    people, secrets, values = world
    sample = SAMPLES.get(route) or (ogc_sample(route) if route.split("/")[0] == "ogc" else None)
    assert sample is not None, f"no sample for {route}"
    path = sample.path.format(**values)
    if route not in SHADOWED:
        assert resolve(path.split("?")[0]).route == route, f"the sample {path} does not reach {route}"
    client.raise_request_exception = route not in PYGEOAPI_BROKEN
    wrong = {}
    for role in ROLES:
        status = _request(client, people, secrets, role, sample.method, path, sample.data).status_code
        want = expected_status(sample, role)
        if route in PYGEOAPI_BROKEN and want == SERVED and status == 500:
            continue
        if not matches(status, want):
            wrong[role] = (status, want)
    assert wrong == {}, f"{sample.method.upper()} {path}: role → (got, expected)"


def _admin_kwargs(name: str | None, route: str, people, values) -> dict:
    objects = {
        "layers_layer": lambda: Layer.objects.get(slug="water_body").pk,
        "layers_layerversion": lambda: Layer.objects.get(slug="water_body").active_version_id,
        "layers_district": lambda: "370811",
        "layers_conflictrule": lambda: ConflictRule.objects.first().pk,
        "layers_qualityrule": lambda: QualityRule.objects.filter(layer__slug="water_body").first().pk,
        "layers_project": lambda: Project.objects.get(code=PROJECT_CODE).pk,
        "layers_siterevision": lambda: Project.objects.get(code=PROJECT_CODE).current_site.pk,
        "compliance_ruleset": lambda: RuleSet.objects.get(is_active=True).pk,
        "compliance_check": lambda: values["check"],
        "compliance_gatedecision": lambda: GateDecision.objects.filter(project_code=PROJECT_CODE).first().pk,
        "auth_user": lambda: people["owner"].pk,
        "blueprint_apitoken": lambda: ApiToken.objects.get(name="m-full").pk,
        "blueprint_auditentry": lambda: AuditEntry.objects.first().pk,
        "blueprint_servicelogentry": lambda: ServiceLogEntry.objects.create(kind="request").pk,
        "blueprint_alert": lambda: Alert.objects.create(kind="queue_stuck", severity="warning", message="m",
                                                        resolved_at=timezone.now()).pk,
        "axes_accessattempt": lambda: AccessAttempt.objects.get(username="m-locked").pk,
        "otp_totp_totpdevice": lambda: TOTPDevice.objects.filter(user=people["sysadmin"]).first().pk,
        "procrastinate_procrastinatejob": lambda: Job.objects.get(pk=values["job"]).queue_job_id,
        "exchange_outboxrow": lambda: OutboxRow.objects.filter(district_id="370811").first().pk,
    }
    if name == "view_on_site":
        from django.contrib.contenttypes.models import ContentType

        return {"content_type_id": ContentType.objects.get_for_model(District).pk, "object_id": "370811"}
    kwargs = {}
    if "<path:object_id>" in route or "<int:pk>" in route or "<id>" in route:
        model = next(m for m in objects if name.startswith(m))
        key = "object_id" if "object_id" in route else ("pk" if "<int:pk>" in route else "id")
        kwargs[key] = objects[model]()
    if "<int:number>" in route:
        kwargs["number"] = Layer.objects.get(slug="water_body").active_version.number
    return kwargs


ADMIN_ROUTES = [(r, n) for r, n in ALL_ROUTES if r.startswith("admin/")]
APP_LABELS = sorted({m.split(".")[0] for m in ADMIN_MODELS})


@pytest.mark.parametrize("route,name", ADMIN_ROUTES)
def test_matrix_of_the_admin(client, world, route, name):
    people, secrets, values = world
    name = name.split(":")[-1] if name else None
    if name == "app_list":
        targets = [(reverse("admin:app_list", kwargs={"app_label": a}), {"app_label": a}) for a in APP_LABELS]
    elif name is None:
        targets = [("/admin/no-such-page/", {})]
    else:
        kwargs = _admin_kwargs(name, route, people, values)
        targets = [(reverse(f"admin:{name}", kwargs=kwargs), kwargs)]
    wrong = {}
    for path, kwargs in targets:
        for role in ROLES:
            status = _request(client, people, secrets, role, "get", path).status_code
            want = admin_expectation(name, kwargs, role)
            if status != want:
                wrong[(path, role)] = (status, want)
    assert wrong == {}, "(path, role) → (got, expected)"

