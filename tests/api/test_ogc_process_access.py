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


def test_the_job_list_filter_keeps_exactly_the_jobs_each_caller_may_see(small_data):
    """`access.jobs_q` (the database filter of GET /ogc/jobs) agrees with `access.can_see_job`
    (the rule for one job) for every kind of caller, over jobs queued by different people, done
    with checks of projects in different districts, done without a project, and still queued."""
    from blueprint import access
    from compliance.jobs import enqueue_check
    from compliance.models import Job
    from compliance.services import run_check

    projects = list(Project.objects.exclude(applicant="").select_related("district")[:4])
    geom = shapely.box(116.58, 35.40, 116.581, 35.401)
    for i, project in enumerate(projects):
        job = enqueue_check(geom, created_by=f"queuer-{i % 2}", project=project)
        if i % 2:  # done: its check belongs to the project, stored by the worker
            job.check_result = run_check(geom, project=project, created_by="worker")
            job.state = Job.State.DONE
            job.save()
    enqueue_check(geom, created_by="proc-owner")
    county = projects[0].district.code
    callers = [access.principal_for_user(make_person(role, f"jq-{i}", districts=districts,
                                                     organisation=organisation))
               for i, (role, districts, organisation) in enumerate([
                   (Role.APPLICANT, (), projects[1].applicant), (Role.APPLICANT, (), "无关单位"),
                   (Role.COUNTY_PLANNER, (county,), ""), (Role.CITY_PLANNER, (), ""),
                   (Role.ADMINISTRATOR, (), "")])]
    callers += [access.principal_for_user(make_person(Role.APPLICANT, "queuer-1")), access.ANONYMOUS]
    everyone = list(Job.objects.select_related("check_result__project__district"))
    for caller in callers:
        expected = {job.pk for job in everyone if access.can_see_job(caller, job)}
        assert set(Job.objects.filter(access.jobs_q(caller)).values_list("pk", flat=True)) == expected
    assert 0 < len({job.pk for job in everyone if access.can_see_job(callers[2], job)}) < len(everyone)
