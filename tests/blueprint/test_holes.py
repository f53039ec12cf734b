"""The holes found by probing the service from outside (issue 13 §1), each closed and kept closed:
CSRF on /ogc/, tokens on pages, the admin's scope, verify handing out the hash, existence oracles."""

from __future__ import annotations

import json
import uuid

import pytest
import shapely
from django.test import Client

from blueprint.models import Interface, Role
from compliance import services
from compliance.jobs import enqueue_check
from compliance.models import Job
from layers.models import District, Layer, Project
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db
PROJECT_CODE = "2022-370811-47-01-000002"  # a demo project in 任城区 (370811)
EXECUTION = "/ogc/processes/site-compliance/execution"


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _job_of(user) -> Job:
    site = Project.objects.get(code=PROJECT_CODE).current_site
    return enqueue_check(shapely.from_wkb(bytes(site.geom.wkb)), created_by=user.username,
                         category="urban_construction")


# --- CSRF on /ogc/ ---------------------------------------------------------------------------------

def test_a_session_runs_the_process_and_dismisses_jobs_only_with_a_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    user = sign_in(browser, Role.CITY_PLANNER)
    body = json.dumps({"inputs": {"project_code": PROJECT_CODE}})
    job = _job_of(user)
    refused = browser.post(EXECUTION, body, content_type="application/json")
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "Forbidden" and "CSRF" in refused.json()["description"]
    dismissal = browser.delete(f"/ogc/jobs/{job.pk}")
    assert dismissal.status_code == 403 and "CSRF" in dismissal.json()["description"]
    assert Job.objects.filter(pk=job.pk).exists()
    browser.get("/maps/preview")  # the page hands the session its CSRF cookie
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    ran = browser.post(EXECUTION, body, content_type="application/json", **csrf)
    assert ran.status_code == 200 and ran.json()["verdict"]
    assert browser.delete(f"/ogc/jobs/{job.pk}", **csrf).status_code == 200
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_bearer_token_needs_no_csrf_token_on_ogc():
    _, raw = make_token("ogc-system", interfaces=[Interface.COMPLIANCE_PROCESS])
    system = Client(enforce_csrf_checks=True)
    ran = system.post(EXECUTION, json.dumps({"inputs": {"project_code": PROJECT_CODE}}),
                      content_type="application/json", **bearer(raw))
    assert ran.status_code == 200, ran.content
    job = Job.objects.get(check_result_id=ran.json()["id"])
    assert system.delete(f"/ogc/jobs/{job.pk}", **bearer(raw)).status_code == 200


# --- tokens and pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/", "/maps/", "/maps/locate", f"/maps/projects/{PROJECT_CODE}",
    "/maps/data/project_site?bbox=115,34,118,37&zoom=10", "/maps/data/water_body?bbox=115,34,118,37&zoom=10",
    "/maps/data/locate?q=任城"])
def test_a_process_token_reads_no_page_and_no_page_data(client, path):
    _, raw = make_token("process-only", interfaces=[Interface.COMPLIANCE_PROCESS])
    applicant = Project.objects.get(code=PROJECT_CODE).applicant
    response = client.get(path, **bearer(raw))
    assert response.status_code == 403
    assert applicant not in response.content.decode() and PROJECT_CODE not in response.content.decode()


def test_page_data_refuses_a_token_in_problem_json(client):
    _, raw = make_token("reader-only", interfaces=[Interface.OGC_READ])
    response = client.get("/maps/data/water_body?bbox=115,34,118,37&zoom=10", **bearer(raw))
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    # …while the interface it is named for answers.
    assert client.get("/ogc/collections/water_body/items?f=json&limit=1", **bearer(raw)).status_code == 200


# --- the admin's scope -----------------------------------------------------------------------------

def _project_form(code: str, district: str) -> dict:
    return {"code": code, "name": "越权项目", "applicant": "某单位", "project_type": "01", "stage": "1",
            "category": "urban_construction", "district": district, "site_revisions-TOTAL_FORMS": "0",
            "site_revisions-INITIAL_FORMS": "0"}


def test_a_county_planner_files_projects_in_their_own_districts_only(client):
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    form = client.get("/admin/layers/project/add/").context["adminform"].form
    offered = list(form.fields["district"].queryset.values_list("code", flat=True))
    assert offered and all(code.startswith("370811") for code in offered)
    other = District.objects.exclude(code__startswith="370811").filter(code__startswith="3708",
                                                                        level="county").first()
    foreign = f"2024-{other.code}-47-01-000123"
    refused = client.post("/admin/layers/project/add/", _project_form(foreign, other.code))
    assert refused.status_code == 200 and not Project.objects.filter(code=foreign).exists()
    assert "district" in refused.context["adminform"].form.errors
    own = "2024-370811-47-01-000123"
    assert client.post("/admin/layers/project/add/", _project_form(own, "370811")).status_code == 302
    assert Project.objects.get(code=own).district_id == "370811"


def test_version_pages_show_a_restricted_layer_only_to_who_may_read_it(client):
    layer = Layer.objects.get(slug="ecological_redline")
    assert layer.access_level == "restricted"
    version = layer.active_version
    url = f"/admin/layers/layerversion/{version.pk}/change/"
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    listing = client.get("/admin/layers/layerversion/").content.decode()
    assert "ecological_redline" not in listing and "basic_farmland" in listing  # internal: theirs
    hidden = client.get(url, follow=True)
    assert version.content_hash not in hidden.content.decode()
    assert hidden.redirect_chain and hidden.redirect_chain[-1][0] == "/admin/"
    assert "ecological_redline" not in client.get("/admin/layers/layer/").content.decode()
    sign_in(client, Role.CITY_PLANNER)
    assert version.content_hash in client.get(url).content.decode()


# --- verify ----------------------------------------------------------------------------------------

def test_verify_says_valid_or_not_and_nothing_more(client):
    check = services.check_project(Project.objects.get(code=PROJECT_CODE), created_by="verifier")
    url = f"/api/checks/{check.id}/verify"
    wrong = client.get(url, {"hash": "0" * 64})
    assert wrong.status_code == 200 and wrong.json() == {"valid": False, "check_id": str(check.id)}
    assert check.result_hash not in wrong.content.decode()
    assert client.get(url, {"hash": check.result_hash}).json() == {"valid": True, "check_id": str(check.id)}
    missing = uuid.uuid4()
    unknown = client.get(f"/api/checks/{missing}/verify", {"hash": "0" * 64})
    assert (unknown.status_code, unknown.json()) == (200, {"valid": False, "check_id": str(missing)})


# --- existence oracles -----------------------------------------------------------------------------

def _alike(client, template: str, hidden: str, missing: str, **extra) -> tuple[int, int]:
    """GET the path for a hidden and for a missing object; the answers must differ only by the key."""
    seen = client.get(template.format(hidden), **extra)
    gone = client.get(template.format(missing), **extra)
    assert seen.status_code == gone.status_code, (template, seen.status_code, gone.status_code)
    assert seen.content.decode().replace(hidden, "KEY") == \
        gone.content.decode().replace(missing, "KEY"), template
    return seen.status_code, gone.status_code


@pytest.fixture
def someone_elses():
    """A check and a background job of the demo project, neither of them an applicant's."""
    project = Project.objects.get(code=PROJECT_CODE)
    check = services.check_project(project, created_by="planner-elsewhere")
    site = shapely.from_wkb(bytes(project.current_site.geom.wkb))
    return check, enqueue_check(site, created_by="planner-elsewhere", category="urban_construction")


def test_another_applicants_check_answers_like_a_missing_one(client, someone_elses):
    check, job = someone_elses
    sign_in(client, Role.APPLICANT, organisation="另一家建设单位")
    for template in ("/api/checks/{}", "/api/checks/{}/report", "/api/checks/{}/report.pdf",
                     "/maps/checks/{}"):
        assert _alike(client, template, str(check.id), str(uuid.uuid4())) == (404, 404)
    assert _alike(client, "/api/jobs/{}", str(job.pk), str(uuid.uuid4())) == (404, 404)
    assert _alike(client, "/ogc/jobs/{}?f=json", str(job.pk), str(uuid.uuid4())) == (404, 404)
    client.logout()
    assert _alike(client, "/maps/checks/{}", str(check.id), str(uuid.uuid4())) == (403, 403)


def test_another_countys_project_answers_like_a_missing_one(client):
    missing = "2099-370811-47-01-999999"
    sign_in(client, Role.COUNTY_PLANNER, districts=["370826"])
    for template in ("/api/projects/{}/checks", "/api/gate/{}?stage=1", "/maps/projects/{}"):
        assert _alike(client, template, PROJECT_CODE, missing) == (404, 404)
    answers = [client.post(EXECUTION, json.dumps({"inputs": {"project_code": code}}),
                           content_type="application/json") for code in (PROJECT_CODE, missing)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].content.decode().replace(PROJECT_CODE, "KEY") == \
        answers[1].content.decode().replace(missing, "KEY")
