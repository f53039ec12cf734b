"""OWSLib against the real gunicorn: OGC API Features and Coverages read back against the fixture files, and
the `site-compliance` process executed synchronously and asynchronously, with expected verdicts and
overlap areas from tests/compliance/oracle.py (shapely + pyproj's Geod), never from the service."""

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import rasterio
import requests
import shapely
from owslib.ogcapi.coverages import Coverages
from owslib.ogcapi.features import Features
from owslib.ogcapi.processes import Processes

from tests.compliance import oracle
from tests.database import app_env
from tests.layers.helpers import CGCS2000_GEOD, geod_area, square

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


# The approval system calls the process with a token naming the compliance-process interface.
AUTH: dict[str, str] = {}


class SESSION:  # noqa: N801 — plain requests with the token (sync workers close each connection)
    @staticmethod
    def get(url, headers=None, **kwargs):
        return requests.get(url, headers={**AUTH, **(headers or {})}, **kwargs)

    @staticmethod
    def delete(url, headers=None, **kwargs):
        return requests.delete(url, headers={**AUTH, **(headers or {})}, **kwargs)

    @staticmethod
    def post(url, headers=None, **kwargs):
        return requests.post(url, headers={**AUTH, **(headers or {})}, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def system_token(django_db_setup, django_db_blocker):
    """A committed token (the server is another process) for every request of this module."""
    from tests.roles import make_token

    with django_db_blocker.unblock():
        token, raw = make_token("owslib-tests")
    AUTH["Authorization"] = f"Bearer {raw}"
    yield
    with django_db_blocker.unblock():
        token.delete()


# --- Features -----------------------------------------------------------------------------------

def source_features(folder: Path, slug: str) -> dict:
    """The fixture file read directly: {fid: (geometry, attributes)}."""
    meta, fids, wkb, fields = pyogrio.raw.read(str(folder / f"{slug}.gpkg"), return_fids=True)
    geoms = shapely.from_wkb(wkb)
    return {int(fid): (geoms[row], {name: fields[i][row] for i, name in enumerate(meta["fields"])})
            for row, fid in enumerate(fids)}


def test_collections_are_the_public_layers(server):
    collections = Features(f"{server}/ogc").collections()["collections"]
    ids = {c["id"] for c in collections}
    assert {"admin_district", "water_body", "urban_space"} <= ids
    assert not ids & {"basic_farmland", "ecological_redline", "urban_development_boundary"}  # not public


def test_items_with_bbox_and_limit_match_the_source(server, small_data):
    source = source_features(small_data, "water_body")
    box = (116.9, 34.5, 117.3, 34.9)
    inside = {fid for fid, (geom, _) in source.items()
              if shapely.box(*box).intersects(geom)}
    assert len(inside) >= 2
    features = Features(f"{server}/ogc")
    page = features.collection_items("water_body", bbox=list(box), limit=100)
    assert page["numberMatched"] == len(inside) == page["numberReturned"]
    assert {f["id"] for f in page["features"]} == inside
    first = features.collection_items("water_body", bbox=list(box), limit=1)
    assert first["numberReturned"] == 1 and first["features"][0]["id"] in inside
    assert any(link["rel"] == "next" for link in first["links"])


def test_one_item_has_the_source_coordinates_and_attributes(server, small_data):
    fid, (geom, attributes) = sorted(source_features(small_data, "water_body").items())[0]
    item = Features(f"{server}/ogc").collection_item("water_body", str(fid))
    served = shapely.geometry.shape(item["geometry"])
    assert np.allclose(shapely.get_coordinates(served), shapely.get_coordinates(geom), atol=1e-8)
    assert item["properties"] == attributes


def test_items_with_a_cql2_filter_and_pages(server, small_data):
    """OWSLib passes `filter` through; the server answers by the filter, across pages."""
    source = source_features(small_data, "water_body")
    lakes = {fid for fid, (_, attributes) in source.items() if attributes["LX"] == "湖泊"}
    assert 0 < len(lakes) < len(source)
    features = Features(f"{server}/ogc")
    first = features.collection_items("water_body", filter="LX='湖泊'", limit=2)
    second = features.collection_items("water_body", filter="LX='湖泊'", limit=2, offset=2)
    assert first["numberMatched"] == len(lakes)
    rest = features.collection_items("water_body", filter="LX='湖泊'", limit=100, offset=4)
    assert {f["id"] for f in first["features"] + second["features"] + rest["features"]} == lakes


# --- Coverages ----------------------------------------------------------------------------------

def test_coverages_list_only_the_imagery(server):
    coverages = Coverages(f"{server}/ogc")
    assert set(coverages.coverages()) == {"blue_marble", "hillshade", "hires_jining"}
    assert coverages.collection("hires_jining")["itemType"] == "coverage"


def test_coverage_subset_and_bands_equal_the_source(server, small_data):
    """OWSLib's `subset` in the newest scene's axes (x/y of its Gauss–Krüger CRS) and a band
    subset; the pixels equal the source file's, read with rasterio."""
    late = small_data / "imagery" / "hires_jining_2024-09-26.tif"
    with rasterio.open(late) as src:
        west, south = src.bounds.left + 100, src.bounds.bottom + 100
        east, north = west + 200, south + 150
        blob = Coverages(f"{server}/ogc").coverage(
            "hires_jining", subset={"x": [west, east], "y": [south, north]}, properties=[3]).read()
        with rasterio.open(io.BytesIO(blob)) as cut:
            assert cut.crs == src.crs and cut.count == 1 and cut.res == src.res
            assert cut.bounds.left == pytest.approx(west, abs=src.res[0])
            assert cut.bounds.top == pytest.approx(north, abs=src.res[1])
            window = rasterio.windows.from_bounds(*cut.bounds, transform=src.transform).round_offsets()
            expected = src.read([3], window=rasterio.windows.Window(window.col_off, window.row_off,
                                                                    cut.width, cut.height))
            assert np.array_equal(cut.read(), expected)


# --- Processes ----------------------------------------------------------------------------------

def farmland_site(folder: Path):
    """A ~0.8 km square over farmland patches well inside the covered counties."""
    geoms, _ = oracle.layer_features(folder, "basic_farmland")
    patch = next(g for g in geoms if oracle.coverage(folder).contains(g.buffer(0.01)))
    return shapely.box(*shapely.buffer(patch.centroid, 0.004).bounds)


def geodesic_gap_m(a, b) -> float:
    """Distance in metres between the nearest points of two lon/lat geometries (pyproj's Geod)."""
    (x0, y0), (x1, y1) = shapely.get_coordinates(shapely.shortest_line(a, b))
    return CGCS2000_GEOD.inv(x0, y0, x1, y1)[2]


def clean_site(folder: Path):
    """A 100 m square inside the urban development boundary (not a special-use zone), off every
    control line and more than 100 m from water: each rule should pass."""
    boundaries, props = oracle.layer_features(folder, "urban_development_boundary")
    avoid = shapely.union_all(np.concatenate([oracle.layer_features(folder, slug)[0]
                                              for slug in ("basic_farmland", "ecological_redline")]))
    water = shapely.union_all(oracle.layer_features(folder, "water_body")[0])
    covered = oracle.coverage(folder)
    for zone, attributes in zip(boundaries, props, strict=True):
        if attributes["GHFQMC"] == "特别用途区":
            continue
        west, south, east, north = zone.bounds
        for lon in np.linspace(west, east, 12)[1:-1]:
            for lat in np.linspace(south, north, 12)[1:-1]:
                site = square(lon, lat, 100)
                if (zone.contains(site.buffer(2e-4)) and covered.contains(site) and not site.intersects(avoid)
                        and geodesic_gap_m(site, water) > 100):
                    return site
    raise LookupError("no clean site in the fixtures")


def expected_statuses(folder: Path, site) -> dict:
    """The oracle's grade of each rule that applies to urban construction."""
    area = geod_area(site)
    statuses = {}
    for slug in ("basic_farmland", "ecological_redline"):
        overlap = oracle.overlap_m2(site, oracle.layer_features(folder, slug)[0])
        statuses[slug] = oracle.grade(overlap, overlap / area, oracle.RULES[slug])
    outside = oracle.outside_m2(site, oracle.layer_features(folder, "urban_development_boundary")[0])
    statuses["urban_development_boundary"] = oracle.grade(outside, outside / area,
                                                          oracle.RULES["urban_development_boundary"])
    return statuses


def worst(statuses) -> str:
    order = ["pass", "info", "warn", "needs_review", "not_covered", "error", "fail"]
    return max(statuses, key=order.index)


def by_rule(result: dict) -> dict:
    return {f["rule_id"]: f for f in result["findings"]}


def test_list_and_describe_the_process(server):
    processes = Processes(f"{server}/ogc", headers=AUTH)
    assert "site-compliance" in {p["id"] for p in processes.processes()}
    described = processes.process("site-compliance")
    assert {"site", "crs", "format", "category", "project_code", "repair", "zone"} <= set(described["inputs"])
    assert set(described["jobControlOptions"]) == {"sync-execute", "async-execute"}
    english = SESSION.get(f"{server}/ogc/processes/site-compliance",
                           params={"f": "json", "lang": "en"}).json()
    assert described["title"] == "用地红线合规性检查" and english["title"] == "Site compliance check"


def test_execute_on_farmland_fails_with_the_oracle_area(server, small_data):
    site = farmland_site(small_data)
    expected = oracle.overlap_m2(site, oracle.layer_features(small_data, "basic_farmland")[0])
    statuses = expected_statuses(small_data, site)
    assert expected > 1000 and statuses["basic_farmland"] == "fail"
    processes = Processes(f"{server}/ogc", headers=AUTH)
    result = processes.execute("site-compliance", {"site": shapely.geometry.mapping(site)})
    farmland = by_rule(result)["basic_farmland"]
    assert result["verdict"] == worst(statuses.values()) == "fail"
    assert farmland["status"] == "fail"
    assert farmland["measures"]["overlap"]["m2"] == pytest.approx(expected, rel=1e-6)
    assert result["site_area"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)
    job_url = processes.response_headers["Location"]  # the synchronous run is a finished job too
    assert SESSION.get(job_url, params={"f": "json"}).json()["status"] == "successful"
    assert_links_serve_the_stored_check(result)


def assert_links_serve_the_stored_check(result: dict) -> None:
    links = result["links"]
    stored = SESSION.get(links["check"]).json()
    assert stored["id"] == result["check_id"] and stored["verdict"] == result["verdict"]
    assert stored["result_hash"] == result["result_hash"]
    html = SESSION.get(links["report_html"])
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert result["result_hash"] in html.text
    pdf = SESSION.get(links["report_pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_execute_a_clean_site_passes(server, small_data):
    site = clean_site(small_data)
    statuses = expected_statuses(small_data, site)
    assert set(statuses.values()) == {"pass"}
    result = Processes(f"{server}/ogc", headers=AUTH).execute(
        "site-compliance", {"site": shapely.to_wkt(site), "category": "urban_construction", "crs": "CRS84"})
    findings = by_rule(result)
    assert result["verdict"] == "pass"
    assert {rule: findings[rule]["status"] for rule in statuses} == statuses
    assert findings["water_body_buffer"]["status"] == "pass"
    assert findings["water_body_buffer"]["measures"]["nearest"]["distance_m"] > 100


def run_worker_once() -> None:
    """The real `run_worker` command on the test database, as `make run` starts it."""
    env = app_env()
    subprocess.run([sys.executable, "manage.py", "run_worker", "--once"], cwd=ROOT, env=env, check=True,
                   timeout=120, capture_output=True)


def test_execute_asynchronously_and_poll_the_job(server, small_data, client):
    site = farmland_site(small_data)
    expected = oracle.overlap_m2(site, oracle.layer_features(small_data, "basic_farmland")[0])
    processes = Processes(f"{server}/ogc", headers=AUTH)
    accepted = processes.execute("site-compliance", {"site": shapely.geometry.mapping(site)}, async_=True)
    job_url = processes.response_headers["Location"]
    assert accepted["status"] == "accepted" and job_url.endswith(f"/ogc/jobs/{accepted['jobID']}")
    assert SESSION.get(job_url, params={"f": "json"}).json()["status"] == "accepted"
    listed = SESSION.get(f"{server}/ogc/jobs", params={"f": "json", "limit": 1000}).json()["jobs"]
    assert accepted["jobID"] in {job["jobID"] for job in listed}
    not_ready = SESSION.get(f"{job_url}/results", params={"f": "json"})
    assert not_ready.status_code == 404 and not_ready.json()["code"] == "ResultNotReady"

    run_worker_once()
    for _ in range(50):
        status = SESSION.get(job_url, params={"f": "json"}).json()
        if status["status"] not in ("accepted", "running"):
            break
        time.sleep(0.1)
    assert status["status"] == "successful" and status["progress"] == 100
    result = SESSION.get(f"{job_url}/results", params={"f": "json"}).json()
    assert result["verdict"] == "fail"
    assert by_rule(result)["basic_farmland"]["measures"]["overlap"]["m2"] == pytest.approx(expected, rel=1e-6)
    # Nothing of the job lives in gunicorn: another process (this one) reads it from PostgreSQL.
    from compliance.models import Job

    stored = Job.objects.get(pk=accepted["jobID"])
    assert stored.state == "done" and str(stored.check_result_id) == result["check_id"]
    # Its own token: a token's rate counter row written in this test's transaction would hold
    # gunicorn's next request with the module token until the test ends.
    from tests.roles import make_token

    local = make_token("owslib-in-process")[1]
    elsewhere = client.get(f"/ogc/jobs/{accepted['jobID']}/results", {"f": "json"},
                           HTTP_AUTHORIZATION=f"Bearer {local}").json()
    check_url = result["links"]["check"]
    assert elsewhere.pop("links") != result.pop("links")  # each answer links to its own host
    assert elsewhere == result

    dismissed = SESSION.delete(job_url)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert SESSION.get(job_url, params={"f": "json"}).status_code == 404
    assert SESSION.get(check_url).status_code == 200  # the stored check stays


@pytest.mark.parametrize(("inputs", "status", "words"), [
    ({}, 400, ["site", "Give a site"]),
    ({"site": "POLYGON((1 2, 3 4))"}, 400, ["WKT", "does not parse"]),
    ({"site": "POINT(116.5 35.3)", "category": "palace"}, 400, ["category", "not a valid choice"]),
    ({"site": "POINT(116.5 35.3)", "colour": "red"}, 400, ["未知的输入 colour", "Unknown inputs colour"]),
    ({"project_code": "2099-000000-00-00-000000"}, 404, ["不存在", "No project"]),
    ({"site": {"type": "Polygon", "coordinates": [[[35.40, 116.58], [35.40, 116.59], [35.41, 116.59],
                                                   [35.40, 116.58]]]}}, 400, ["颠倒", "swapped"]),
])
def test_bad_inputs_are_ogc_exceptions_in_chinese_and_english(server, inputs, status, words):
    response = SESSION.post(f"{server}/ogc/processes/site-compliance/execution", json={"inputs": inputs})
    assert response.status_code == status
    body = response.json()
    assert body["code"] in ("InvalidParameterValue", "NotFound")
    assert all(word in body["description"] for word in words), body["description"]
    assert any("\u4e00" <= char <= "\u9fff" for char in body["description"])  # Chinese first, then English


def test_malformed_bodies_and_unknown_jobs_are_said_in_chinese_and_english(server):
    execution = f"{server}/ogc/processes/site-compliance/execution"
    not_json = SESSION.post(execution, data="{inputs:", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "不是合法的 JSON" in not_json.json()["description"]
    assert "not valid JSON" in not_json.json()["description"]
    empty = SESSION.post(execution, data=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400 and "请求体为空" in empty.json()["description"]
    unknown = SESSION.get(f"{server}/ogc/jobs/no-such-job", params={"f": "json"})
    assert unknown.status_code == 404
    assert unknown.json()["description"] == "没有任务 no-such-job。 (No job no-such-job.)"
