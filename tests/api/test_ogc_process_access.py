"""The compliance process and its jobs follow the access policy: callers see their own jobs, and
another applicant's project is not theirs to check."""

import json

import pytest
import shapely

from blueprint.models import Role
from layers.models import Project
from tests.roles import make_person

pytestmark = pytest.mark.django_db
EXECUTE = "/ogc/processes/site-compliance/execution"


def execute(client, inputs: dict, asynchronous: bool = False):
    headers = {"HTTP_PREFER": "respond-async"} if asynchronous else {}
    return client.post(EXECUTE, json.dumps({"inputs": inputs}), content_type="application/json", **headers)


def site() -> dict:
    return shapely.geometry.mapping(shapely.box(116.58, 35.40, 116.581, 35.401))


def test_a_callers_jobs_are_hidden_from_another_applicant(client, small_data):
    project = Project.objects.exclude(applicant="").first()
    owner = make_person(Role.APPLICANT, "proc-owner", organisation=project.applicant)
    other = make_person(Role.APPLICANT, "proc-other", organisation="另一家建设单位")
    client.force_login(owner)
    queued = execute(client, {"site": site()}, asynchronous=True)
    assert queued.status_code == 201
    job_id = queued["Location"].rstrip("/").rsplit("/", 1)[1]
    listed = client.get("/ogc/jobs", {"f": "json", "limit": 1000}).json()["jobs"]
    assert job_id in [job["jobID"] for job in listed]
    assert client.get(f"/ogc/jobs/{job_id}", {"f": "json"}).status_code == 200

    client.force_login(other)
    listed = client.get("/ogc/jobs", {"f": "json", "limit": 1000}).json()["jobs"]
    assert job_id not in [job["jobID"] for job in listed]
    assert client.get(f"/ogc/jobs/{job_id}", {"f": "json"}).status_code == 404
    assert client.delete(f"/ogc/jobs/{job_id}").status_code == 404


def test_another_applicants_project_cannot_be_checked_through_the_process(client, small_data):
    project = Project.objects.exclude(applicant="").first()
    client.force_login(make_person(Role.APPLICANT, "proc-stranger", organisation="另一家建设单位"))
    answer = execute(client, {"project_code": project.code})
    assert answer.status_code == 404 and project.code in answer.json()["description"]
    client.force_login(make_person(Role.APPLICANT, "proc-owner2", organisation=project.applicant))
    assert execute(client, {"project_code": project.code}).status_code == 200
