"""The REST face: submit, read, re-run, history, gate, OpenAPI; errors as problem+json."""

import json

import pytest
import shapely

from layers.models import Project
from tests.compliance import oracle
from tests.layers.helpers import geod_area, square
from tests.roles import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def planner(client):
    """The REST calls here are a city planner's (tests/blueprint/test_access_matrix.py covers roles)."""
    return sign_in(client, "city_planner")


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def assert_problem(response, status, *words):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    for word in words:
        assert word in json.dumps(body, ensure_ascii=False)
    return body


def test_submit_geojson_and_read_back(client, small_data):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    response = post_json(client, "/api/checks", {"site": shapely.geometry.mapping(site)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["verdict"] == "fail" and response["Location"].endswith(body["id"])
    assert body["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)
    farmland = next(f for f in body["findings"] if f["rule_id"] == "basic_farmland")
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    assert farmland["measures"]["overlap"]["m2"] == pytest.approx(oracle.overlap_m2(site, geoms), rel=1e-4)
    assert farmland["conflict"]["type"] == "MultiPolygon"
    again = client.get(f"/api/checks/{body['id']}").json()
    assert again["result_hash"] == body["result_hash"] and again["findings"] == body["findings"]


def test_submit_wkt_with_gauss_kruger_crs(client):
    from layers.crs import from_cgcs2000

    site = square(116.58, 35.40, 150)
    response = post_json(client, "/api/checks", {"site": from_cgcs2000(site, 4527).wkt, "crs": "EPSG:4527"})
    assert response.status_code == 201, response.content
    assert response.json()["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)
    assert response.json()["source_crs"] == "EPSG:4527"


def test_project_submission_rerun_history_and_gate(client):
    project = Project.objects.order_by("code").first()
    site = shapely.from_wkb(bytes(project.current_site.geom.wkb))
    moved = shapely.affinity.translate(site, 0.0005, 0)
    created = post_json(client, "/api/checks", {"site": shapely.geometry.mapping(moved),
                                                "project_code": project.code})
    assert created.status_code == 201, created.content
    check = created.json()
    assert check["project_code"] == project.code and check["site_revision"] == 2
    rerun = client.post(f"/api/checks/{check['id']}/rerun")
    assert rerun.status_code == 201 and rerun.json()["rerun_of"] == check["id"]
    assert rerun.json()["changes"] == []  # nothing changed since
    history = client.get(f"/api/projects/{project.code}/checks").json()
    assert history["current_site_revision"] == 2
    assert history["latest_check_for_current_site"] == rerun.json()["id"]
    assert [c["id"] for c in history["checks"]][:2] == [rerun.json()["id"], check["id"]]
    decision = client.get(f"/api/gate/{project.code}?stage=1").json()
    assert decision["check_id"] == rerun.json()["id"] and decision["stale"] is False
    expected = {"pass": "allowed", "warn": "allowed", "fail": "blocked"}.get(check["verdict"], "needs_review")
    assert decision["decision"] == expected


@pytest.mark.parametrize("body,words", [
    ({}, ["site"]),
    ({"site": {"type": "Point", "coordinates": [116.5, 35.4]}}, ["面"]),
    ({"site": {"type": "Polygon", "coordinates": [[[116.5, 35.4], [116.51, 35.41], [116.51, 35.4],
                                                   [116.5, 35.41], [116.5, 35.4]]]}}, ["Self-intersection"]),
    ({"site": "POLYGON((35.4 116.5, 35.41 116.5, 35.41 116.51, 35.4 116.5))"}, ["swapped"]),
    ({"site": shapely.geometry.mapping(square(116.5, 35.4, 100)), "crs": "EPSG:99999"}, ["EPSG:4490"]),
    ({"site": shapely.geometry.mapping(square(116.5, 35.4, 100)), "category": "castle"}, ["category"]),
])
def test_bad_input_answers_problem_json(client, body, words):
    assert_problem(post_json(client, "/api/checks", body), 400, *words)


def test_unknown_check_project_and_gate_are_404(client):
    assert_problem(client.get("/api/checks/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(client.get("/api/checks/not-a-uuid"), 404)
    assert_problem(client.get("/api/projects/2024-370811-48-01-999999/checks"), 404)
    assert_problem(client.get("/api/gate/2024-370811-48-01-999999"), 404)


def test_repair_true_repairs_and_reports(client):
    bowtie = {"type": "Polygon", "coordinates": [[[116.5, 35.4], [116.51, 35.41], [116.51, 35.4],
                                                  [116.5, 35.41], [116.5, 35.4]]]}
    response = post_json(client, "/api/checks", {"site": bowtie, "repair": True})
    assert response.status_code == 201, response.content
    assert "Self-intersection" in response.json()["repair"]


def test_openapi_document(client):
    doc = client.get("/api/openapi.json")
    assert doc.status_code == 200
    spec = json.loads(doc.content)
    assert spec["openapi"].startswith("3.")
    assert {"/api/checks", "/api/checks/{check_id}", "/api/gate/{code}"} <= set(spec["paths"])


def test_unknown_api_path_is_problem_json(client):
    assert_problem(client.get("/api/no-such-thing"), 404)


def test_huge_site_runs_in_the_background(client, settings):
    from blueprint.tasks import run_until_idle

    settings.BLUEPRINT = {**settings.BLUEPRINT, "SITE_ASYNC_AREA_KM2": 0.01}
    site = square(116.58, 35.40, 150)  # 2.25 ha > 0.01 km²
    queued = post_json(client, "/api/checks", {"site": shapely.geometry.mapping(site)})
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    status_url = queued["Location"]
    assert client.get(status_url).json()["state"] == "queued"
    run_until_idle(["checks"])  # procrastinate's worker
    done = client.get(status_url).json()
    assert done["state"] == "done" and done["check_id"]
    check = client.get(f"/api/checks/{done['check_id']}").json()
    assert check["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)


def test_prefer_respond_async(client):
    from blueprint.tasks import run_until_idle

    site = shapely.geometry.mapping(square(116.58, 35.40, 100))
    queued = client.post("/api/checks", json.dumps({"site": site}), content_type="application/json",
                         HTTP_PREFER="respond-async")
    assert queued.status_code == 202
    run_until_idle(["checks"])
    assert client.get(queued["Location"]).json()["check_id"]
    assert_problem(client.get("/api/jobs/not-a-job"), 404)


def upload(client, name: str, data: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/checks", {"file": SimpleUploadedFile(name, data), **fields})


def test_txt_upload_two_parcels_and_a_hole_checked_against_farmland(client, small_data):
    from tests.compliance.test_parsers import txt_file

    first, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    west, south, east, north = first.bounds
    outer = shapely.box(east + 0.01, south, east + 0.013, south + 0.003)
    holed = shapely.Polygon(outer.exterior, [shapely.box(east + 0.011, south + 0.001,
                                                         east + 0.012, south + 0.002).exterior])
    response = upload(client, "用地坐标.txt", txt_file([first, holed], 4527))
    assert response.status_code == 201, response.content
    body = response.json()
    site = shapely.MultiPolygon([first, holed])
    assert body["input_format"] == "txt" and body["source_crs"] == "EPSG:4527"
    assert body["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)
    farmland = next(f for f in body["findings"] if f["rule_id"] == "basic_farmland")
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    # The file holds coordinates to 0.1 mm, which moves a 0.2 m strip by ~0.05 %: measure the
    # site as read back, independently (areas are reported to 1 cm²).
    as_read = shapely.geometry.shape(body["site"])
    assert shapely.symmetric_difference(as_read, site).area < 1e-10
    expected = oracle.overlap_m2(as_read, geoms)
    assert farmland["measures"]["overlap"]["m2"] == pytest.approx(expected, rel=1e-6, abs=1e-4)


def test_dxf_upload_on_the_red_line_layer(client, small_data, tmp_path):
    from tests.compliance.test_parsers import dxf_file, project, ring

    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    data = dxf_file(tmp_path, {"红线": [ring(project(site, 4527))]})
    response = upload(client, "site.dxf", data, dxf_layer="红线")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["input_format"] == "dxf" and body["verdict"] == "fail"
    assert body["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)


def test_upload_errors_are_problem_json(client, tmp_path):
    assert_problem(upload(client, "site.txt", "[地块坐标]\n1,2,3\n".encode()), 400)
    assert_problem(upload(client, "site.xyz", b"nothing"), 400, "GeoJSON")


def test_site_outside_the_projects_district_is_flagged(client):
    project = Project.objects.filter(district_id="370811").order_by("code").first()
    inside = shapely.from_wkb(bytes(project.current_site.geom.wkb))
    weishan = square(116.90, 34.70, 200)  # 微山县, not 任城区
    body = post_json(client, "/api/checks", {"site": shapely.geometry.mapping(weishan),
                                             "project_code": project.code}).json()
    assert any("370811" in w and "100.0%" in w for w in body["warnings"])
    again = post_json(client, "/api/checks", {"site": shapely.geometry.mapping(inside),
                                              "project_code": project.code}).json()
    assert not any("370811" in w for w in again["warnings"])


def test_oversized_upload_and_body_are_problem_json(client, settings):
    settings.BLUEPRINT = {**settings.BLUEPRINT, "SITE_MAX_BYTES": 1000}
    assert_problem(upload(client, "big.geojson", b" " * 2000), 400, "MiB")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_problem(client.post("/api/checks", "x" * 2000, content_type="application/json"), 413, "MiB")
