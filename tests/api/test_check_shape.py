"""One shape for a check and the gate: REST, the OGC process and the OpenAPI document agree."""

import json

import pytest
import shapely

from compliance.models import Check, GateDecision
from compliance.services import DECISIONS, STAGES
from layers.models import LayerVersion, Project
from tests.api.test_rest import assert_problem, post_json
from tests.layers.helpers import square
from tests.roles import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def planner(client):
    return sign_in(client, "city_planner")


def resolve(spec: dict, schema: dict) -> dict:
    """Follow a $ref (or an allOf of one) of the OpenAPI document to the schema it names."""
    schema = schema.get("allOf", [schema])[0]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def small_site() -> dict:
    return shapely.geometry.mapping(square(116.58, 35.40, 200))


def unchecked_project() -> Project:
    return Project.objects.exclude(checks__isnull=False).order_by("code").first()


@pytest.mark.parametrize("stage", ["0", "6", "9", "x", "", "12", " 1"])
def test_the_gate_refuses_a_stage_outside_1_to_5(client, stage):
    project = unchecked_project()
    before = GateDecision.objects.count()
    answer = client.get(f"/api/gate/{project.code}", {"stage": stage})
    body = assert_problem(answer, 400, "stage", "1, 2, 3, 4, 5")
    assert body["valid"] == STAGES == ["1", "2", "3", "4", "5"]
    assert GateDecision.objects.count() == before  # a refused question is not a decision


def test_the_gate_without_a_stage_is_refused(client):
    assert_problem(client.get(f"/api/gate/{unchecked_project().code}"), 400, "stage")


def test_no_check_yet_is_blocked(client):
    project = unchecked_project()
    answer = client.get(f"/api/gate/{project.code}", {"stage": "2"}).json()
    assert answer["decision"] == "blocked" and answer["check_id"] is None and answer["stage"] == "2"
    assert any("尚未进行合规性检查" in reason for reason in answer["reasons"])


def test_openapi_documents_the_gate_and_the_project_checks_as_answered(client):
    spec = client.get("/api/openapi.json").json()
    gate = spec["paths"]["/api/gate/{code}"]["get"]
    stage = next(p for p in gate["parameters"] if p["name"] == "stage")
    assert stage["required"] is True and stage["schema"]["enum"] == STAGES
    answer = resolve(spec, gate["responses"]["200"]["content"]["application/json"]["schema"])
    assert resolve(spec, answer["properties"]["decision"])["enum"] == DECISIONS
    history = spec["paths"]["/api/projects/{code}/checks"]["get"]["responses"]["200"]["content"]
    described = resolve(spec, history["application/json"]["schema"])
    assert described["type"] == "object"
    assert {"project_code", "current_site_revision", "latest_check_for_current_site", "checks"} \
        <= set(described["properties"])
    project = unchecked_project()
    answered = client.get(f"/api/projects/{project.code}/checks").json()
    assert isinstance(answered, dict) and set(answered) == set(described["properties"])


def test_top_level_layer_versions_are_the_findings_version_numbers(client):
    response = post_json(client, "/api/checks", {"site": small_site()})
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Check.objects.get(pk=body["id"])
    versions = LayerVersion.objects.filter(id__in=stored.layer_versions.values()).select_related("layer")
    numbers = {v.layer.slug: v.number for v in versions}
    assert body["layer_versions"] == numbers
    for finding in body["findings"]:
        if finding["layer_version"] is not None:
            assert body["layer_versions"][finding["layer"]] == finding["layer_version"]


def test_crs84_input_is_recorded_as_crs84(client):
    declared = post_json(client, "/api/checks", {"site": small_site(), "crs": "CRS84"}).json()
    assert declared["source_crs"] == "OGC:CRS84"
    cgcs2000 = post_json(client, "/api/checks", {"site": small_site(), "crs": "EPSG:4490"}).json()
    assert cgcs2000["source_crs"] == "EPSG:4490"


def test_the_process_result_is_the_rest_document(client):
    from api.ogc.processes import check_outputs

    response = post_json(client, "/api/checks", {"site": small_site()})
    rest = response.json()
    ogc = json.loads(json.dumps(check_outputs(Check.objects.get(pk=rest["id"]), "http://testserver")))
    assert ogc.keys() == rest.keys() and ogc["id"] == rest["id"] and "site" in ogc
    assert {k: v for k, v in ogc.items() if k != "links"} == {k: v for k, v in rest.items() if k != "links"}
    assert ogc["links"] == rest["links"]  # both absolute on the same host


def test_a_check_is_answered_without_a_query_per_finding(client):
    """The findings' layer versions come with the findings (an N+1 sent one query per finding)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    check_id = post_json(client, "/api/checks", {"site": small_site()}).json()["id"]
    findings = Check.objects.get(pk=check_id).findings.exclude(layer_version=None).count()
    assert findings >= 3
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/checks/{check_id}").status_code == 200
    version_reads = [q["sql"] for q in queries.captured_queries
                     if 'FROM "layers_layerversion"' in q["sql"] and "JOIN" not in q["sql"]]
    assert len(version_reads) <= 1, version_reads  # the top-level numbers: one query for all
