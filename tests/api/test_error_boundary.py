"""The adversarial corpus: every hostile input answered by the one error boundary, never a 500.

Each case asserts the status and the error's shape: problem+json (`type`, `title`, `status`,
`detail`) on /api/, OGC exception JSON (`code`, `type`, `description`) on /ogc/, a Chinese page
elsewhere. The examples are those of issue 12 §1 and issue 13 §1 (CQL2 property names).
"""

from __future__ import annotations

import json

import pytest
import shapely

from tests.layers.helpers import square
from tests.roles import sign_in

pytestmark = pytest.mark.django_db

ITEMS = "/ogc/collections/water_body/items"
EXECUTION = "/ogc/processes/site-compliance/execution"
COVERAGE = "/ogc/collections/hires_jining/coverage"
SITE = shapely.geometry.mapping(square(116.58, 35.40, 100))


def assert_ogc(response, status: int, *words: str) -> dict:
    """An OGC exception document with a description, in the status expected."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) >= {"code", "type", "description"} and body["description"], body
    for word in words:
        assert word in body["description"], body
    return body


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = json.loads(response.content)
    assert body["status"] == status and body["title"] and body["detail"], body
    assert body["type"].startswith("https://one-blueprint.dev/problems/"), body["type"]
    text = json.dumps(body, ensure_ascii=False)
    for word in words:
        assert word in text, body
    return body


# --- languages ---------------------------------------------------------------------------------

LANGUAGES = ["zh", "zh-TW", "ja", "fr", "garbage", "*", "zh-Hant-HK", "en-GB,en;q=0.9", ";;q=x", "x" * 300]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/ogc/", "/ogc/collections", "/ogc/collections/water_body",
                                  f"{ITEMS}?limit=1", "/ogc/processes", "/ogc/conformance"])
def test_any_accept_language_answers(client, path, language):
    for f in ("json", "html"):
        response = client.get(path, {"f": f}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, (f, response.content[:300])
    title = json.loads(client.get("/ogc/", {"f": "json"}, HTTP_ACCEPT_LANGUAGE=language).content)["title"]
    english = language.startswith("en")
    assert title == ("One Blueprint OGC API" if english else "一张蓝图 OGC API")


@pytest.mark.parametrize("language", ["zh", "zh-TW", "ja", "fr", "garbage", "en"])
def test_any_lang_parameter_answers(client, language):
    response = client.get("/ogc/collections", {"f": "json", "lang": language})
    assert response.status_code == 200
    title = json.loads(client.get("/ogc/", {"f": "json", "lang": language}).content)["title"]
    assert title == ("One Blueprint OGC API" if language == "en" else "一张蓝图 OGC API")


# --- bodies that are not the expected JSON object ---------------------------------------------------

def deep_collection(depth: int) -> str:
    """A GeometryCollection nested `depth` deep, as JSON text (json.dumps stops at ~300 levels)."""
    polygon = json.dumps({"type": "Polygon", "coordinates": SITE["coordinates"]})
    return '{"type": "GeometryCollection", "geometries": [' * depth + polygon + "]}" * depth


DEEP_WKT = "GEOMETRYCOLLECTION(" * 100_000 + "POINT(116.5 35.4)" + ")" * 100_000

BAD_BODIES = {
    "site is a number": (json.dumps({"inputs": {"site": 42}}), "application/json"),
    "array": ("[]", "application/json"),
    "string": ('"site"', "application/json"),
    "null": ("null", "application/json"),
    "inputs is an array": (json.dumps({"inputs": [1, 2]}), "application/json"),
    "invalid UTF-8": (b'{"inputs": {"site": "\xff\xfe\xfa"}}', "application/json"),
    "GBK bytes": ('{"inputs": {"site": "用地"}}'.encode("gbk"), "application/json"),
    "wrong content type": (json.dumps({"inputs": {"site": SITE}}), "text/plain"),
    "form content type": ("site=POLYGON", "application/x-www-form-urlencoded"),
    "GeometryCollection 1000 deep": ('{"inputs": {"site": ' + deep_collection(1000) + "}}",
                                     "application/json"),
    "JSON 100 000 deep": ('{"inputs": {"site": ' + "[" * 100_000 + "]" * 100_000 + "}}", "application/json"),
    "lone surrogate in WKT": ('{"inputs": {"site": "POLYGON((116.5 35.4, \\ud800 35.5, 116.5 35.4))"}}',
                              "application/json"),
    "site 1 MB": (json.dumps({"inputs": {"site": "POLYGON((" + "1" * 1_000_000}}), "application/json"),
    "WKT 100 000 deep": (json.dumps({"inputs": {"site": DEEP_WKT}}), "application/json"),
}


@pytest.fixture
def planner(client):
    return sign_in(client, "city_planner")


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_process_refuses_bad_bodies_as_ogc_json(client, planner, name):
    body, content_type = BAD_BODIES[name]
    response = client.post(EXECUTION, body, content_type=content_type)
    assert_ogc(response, 415 if "content type" in name else 400)
    assert len(response.content) < 4000  # a 1 MB field is not echoed back


REST_BODIES = {
    "site is a number": (json.dumps({"site": 42}), "application/json"),
    "array": ("[]", "application/json"),
    "string": ('"site"', "application/json"),
    "null": ("null", "application/json"),
    "invalid UTF-8": (b'{"site": "\xff\xfe\xfa"}', "application/json"),
    "GBK bytes": ('{"site": "用地"}'.encode("gbk"), "application/json"),
    "wrong content type": (json.dumps({"site": SITE}), "text/plain"),
    "GeometryCollection 1000 deep": ('{"site": ' + deep_collection(1000) + "}", "application/json"),
    "JSON 100 000 deep": ('{"site": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json"),
    "lone surrogate in WKT": ('{"site": "POLYGON((116.5 35.4, \\ud800 35.5, 116.5 35.4))"}',
                              "application/json"),
    "site 1 MB": (json.dumps({"site": "POLYGON((" + "1" * 1_000_000}), "application/json"),
    "WKT 100 000 deep": (json.dumps({"site": DEEP_WKT}), "application/json"),  # GEOS's reader segfaulted
}


@pytest.mark.parametrize("name", list(REST_BODIES))
def test_rest_refuses_bad_bodies_as_problem_json(client, planner, name):
    body, content_type = REST_BODIES[name]
    response = client.post("/api/checks", body, content_type=content_type)
    status = 415 if "content type" in name else 400
    assert_problem(response, status)
    assert len(response.content) < 4000


def test_oversize_body_is_413_on_both_faces(client, planner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"inputs": {"site": "x" * 2000}})
    assert_ogc(client.post(EXECUTION, body, content_type="application/json"), 413, "MiB")
    assert_problem(client.post("/api/checks", body, content_type="application/json"), 413, "MiB")


# --- OGC item query values ----------------------------------------------------------------------

BAD_ITEM_QUERIES = [
    {"bbox": "nan,35,117,36"},
    {"bbox": "116,35,inf,36"},
    {"bbox": "116,35,117"},
    {"bbox": "117,36,116,35"},
    {"bbox": "1e400,35,117,36"},
    {"bbox": "a,b,c,d"},
    {"offset": "-1"},
    {"offset": "1.5"},
    {"limit": "junk"},
    {"limit": "-5"},
    {"limit": "0"},
    {"limit": "1e3"},
    {"filter": "MC > 5"},
    {"filter": "LX = 5 AND MC < 3"},
    {"filter": "MC BETWEEN 1 AND 2"},
    {"filter": "MC IN (1, 2)"},
    {"filter": "S_INTERSECTS(geometry, POLYGON((116 35, 117 35)))"},
    {"filter": "S_INTERSECTS(geometry, POINT(nan 35))"},
    {"filter": "S_INTERSECTS(geometry, POLYGON((116 35, 117 35, 117 36, 116 35"},
    {"filter": "MC = 'a\x00b'"},
    {"filter": "\x00"},
    {"filter": "MC LIKE '%\x00%'"},
    {"MC": "a\x00b"},
    {"filter": "MC = 5" + " " * 6000},
    {"filter-lang": "sql"},
    {"sortby": "nosuch"},
    {"crs": "EPSG:99999"},
    {"bbox": "116,35,117,36", "bbox-crs": "EPSG:99999"},
    {"properties": "nosuch"},
    {"resulttype": "everything"},
]


@pytest.mark.parametrize("query", BAD_ITEM_QUERIES, ids=lambda q: repr(q)[:60])
def test_bad_item_queries_are_400(client, query):
    response = client.get(ITEMS, {"f": "json", **query})
    assert_ogc(response, 400)
    assert len(response.content) < 4000


def test_item_ids_and_offsets_past_the_end(client):
    assert_ogc(client.get(f"{ITEMS}/{10**30}", {"f": "json"}), 404)
    assert_ogc(client.get(f"{ITEMS}/abc\x00", {"f": "json"}), 404)
    for offset in (str(2**63 - 1), str(10**30)):
        page = json.loads(client.get(ITEMS, {"f": "json", "offset": offset}).content)
        assert page["features"] == [] and page["numberReturned"] == 0 and page["numberMatched"] > 0
    many = json.loads(client.get(ITEMS, {"f": "json", "limit": str(10**30)}).content)  # capped
    assert many["numberReturned"] == many["numberMatched"] > 0


# --- CQL2 property names (issue 13 §1) ------------------------------------------------------------------

EXPLOITS = [
    "S_INTERSECTS(version__finding__check_result__findings__layer_version__features__geom,"
    " POINT(116.58 35.40))",
    "version__finding__check_result__project__applicant LIKE '%'",
    "version__layer__slug = 'ecological_redline'",
    "properties__MC = '微山湖'",
    "geom__bboverlaps = 1",
    "fid__gt = 0",
    "p_MC = '微山湖'",
    "version_id > 0",
]


@pytest.mark.parametrize("cql", EXPLOITS)
def test_cql2_names_only_the_layers_queryables(client, cql):
    body = assert_ogc(client.get(ITEMS, {"f": "json", "filter": cql}), 400, "MC", "LX")
    assert "queryables" in body["description"]


def test_cql2_json_names_only_the_layers_queryables(client):
    exploit = {"op": "like", "args": [{"property": "version__finding__check_result__project__applicant"},
                                      "%"]}
    response = client.post(f"{ITEMS}?f=json", json.dumps(exploit), content_type="application/query-cql-json")
    assert response.status_code in (400, 405) and "code" in json.loads(response.content)


def test_cql2_on_the_layers_own_queryables_still_works(client):
    lakes = json.loads(client.get(ITEMS, {"f": "json", "filter": "LX = '湖泊' AND fid > 0"}).content)
    assert lakes["numberMatched"] > 0


def test_an_ogc_read_past_its_statement_timeout_is_503(client, settings):
    sign_in(client, "city_planner", username="timeout-planner")  # reads the restricted farmland
    settings.BLUEPRINT = {**settings.BLUEPRINT, "OGC_STATEMENT_TIMEOUT_MS": 1}
    response = client.get("/ogc/collections/basic_farmland/items",
                          {"f": "json", "limit": 1000, "sortby": "-DLMC", "filter": "DLMC LIKE '%地%'"})
    assert_ogc(response, 503, "OGC_STATEMENT_TIMEOUT_MS")


# --- coverage bboxes -------------------------------------------------------------------------------

@pytest.mark.parametrize("bbox", ["116.6,35.4,116.5,35.3", "116.5,35.3,116.6", "nan,35.3,116.6,35.4",
                                  "-1e10,-1e10,1e10,1e10", "1e10,35.3,1e10,35.4", "a,b,c,d"])
def test_coverage_bboxes_are_400(client, bbox):
    assert_ogc(client.get(COVERAGE, {"f": "GTiff", "bbox": bbox}), 400, "bbox")


def test_coverage_dates_outside_the_extent(client):
    assert_ogc(client.get(COVERAGE, {"f": "GTiff", "datetime": "1900-01-01"}), 400, "datetime")
    assert client.get(COVERAGE, {"f": "GTiff", "datetime": "2023-05-01",
                                 "bbox": "116.55,35.36,116.56,35.37"}).status_code == 200


def test_a_coverage_not_found_stays_404():
    """A date with no scene on or before it is a 404 from the provider, not the 400 it was."""
    from pygeoapi.provider.base import ProviderGenericError

    from api.ogc.coverage import SceneCoverageProvider

    provider = SceneCoverageProvider({"name": "coverage", "type": "coverage", "data": "hires_jining"})
    with pytest.raises(ProviderGenericError) as raised:
        provider.query(format_="GTiff", datetime_="../1900-01-01")
    assert raised.value.http_status_code == 404 and raised.value.ogc_exception_code == "NotFound"


# --- methods -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [ITEMS, f"{ITEMS}/1", EXECUTION, "/ogc/collections", "/ogc/jobs"])
@pytest.mark.parametrize("method", ["patch", "trace"])
def test_unsupported_methods_are_405_with_allow(client, planner, path, method):
    response = getattr(client, method)(path)
    assert_ogc(response, 405)
    assert response["Allow"] and method.upper() not in response["Allow"]


def test_rest_unsupported_method_is_405_with_allow(client, planner):
    response = client.patch("/api/checks")
    assert_problem(response, 405)
    assert "POST" in response["Allow"]


# --- pages and paths outside the views -------------------------------------------------------------

def test_a_restricted_collection_page_as_html(client):
    """pygeoapi rendered every HTML page with the first caller's configuration: after an
    anonymous page, a restricted collection's page was a 500 for those who may read it."""
    assert client.get("/ogc/collections/water_body", {"f": "html"}).status_code == 200
    assert_ogc(client.get("/ogc/collections/ecological_redline", {"f": "json"}), 404)
    assert client.get("/ogc/collections/ecological_redline", {"f": "html"}).status_code == 404
    sign_in(client, "city_planner", username="html-planner")  # reads the restricted red line
    response = client.get("/ogc/collections/ecological_redline", {"f": "html"})
    assert response.status_code == 200 and "生态保护红线" in response.content.decode()


def test_unknown_paths_answer_in_their_face(client):
    assert_problem(client.get("/api/no-such-thing"), 404)
    assert_ogc(client.get("/ogc/no-such-thing"), 404)
    assert_ogc(client.get("/ogc/collections/no_such_layer/items", {"f": "json"}), 404)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    assert "未找到" in page.content.decode()


def test_too_long_uri_is_414_in_its_face(client):
    long = "x" * 9000
    assert_ogc(client.get(ITEMS, {"filter": "MC = '" + "x" * 1_000_000 + "'"}), 414)
    assert len(client.get(ITEMS, {"filter": "x" * 1_000_000}).content) < 4000  # not echoed
    assert_problem(client.get(f"/api/checks/{long}"), 414)
    page = client.get(f"/maps/{long}")
    assert page.status_code == 414 and page["Content-Type"].startswith("text/html")


# --- reasons ---------------------------------------------------------------------------------------------

def test_reasons_show_no_temporary_paths_nor_gdal_text(client, planner):
    for name, content in [("site.zip", b"PK\x03\x04 not a zip"), ("site.kml", b"<kml><broken"),
                          ("site.geojson", b"{ not json")]:
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post("/api/checks", {"file": SimpleUploadedFile(name, content)})
        body = assert_problem(response, 400)
        assert "/tmp" not in body["detail"] and "site-" not in body["detail"], body["detail"]
        assert "GDAL" not in body["detail"] and "driver" not in body["detail"].lower(), body["detail"]


def test_head_answers_as_get_without_a_body(client):
    for path in (ITEMS, f"{ITEMS}/1"):
        response = client.head(path, {"f": "json"})
        assert response.status_code == 200 and response.content == b""
        assert response["Content-Type"].startswith("application/")


def test_a_page_refuses_a_method_as_a_page_with_allow(client):
    response = client.post("/maps/")
    assert response.status_code == 405 and "GET" in response["Allow"]
    assert response["Content-Type"].startswith("text/html") and "GET" in response.content.decode()


# --- imagery, tiles: one domain error, answered in each path's form --------------------------------

RASTER_TILES = "/ogc/collections/hires_jining/map/tiles/WebMercatorQuad"


@pytest.mark.parametrize("path,query,status", [
    (f"{RASTER_TILES}/99/0/0", {}, 404),
    (f"{RASTER_TILES}/15/0/0", {"f": "gif"}, 400),
    (f"{RASTER_TILES}/15/0/0", {"date": "yesterday"}, 400),
    (f"{RASTER_TILES}/x/0/0", {}, 400),
    ("/ogc/collections/hires_jining/map/tiles/NoSuchQuad/1/0/0", {}, 404),
    ("/ogc/collections/ecological_redline/map/tiles/WebMercatorQuad/1/0/0", {}, 404),
    ("/ogc/collections/water_body/tiles/WebMercatorQuad/x/0/0", {}, 400),
    ("/ogc/collections/water_body/tiles/WebMercatorQuad/1/9/9", {}, 404),
])
def test_tile_errors_are_ogc_json(client, path, query, status):
    assert_ogc(client.get(path, query), status)


def test_imagery_errors_are_problem_json(client):
    assert_problem(client.get("/tiles/imagery/no_such_layer/1/1/1.png"), 404)
    assert_problem(client.get("/tiles/imagery/hires_jining/15/1/1.png", {"date": "x"}), 400, "YYYY-MM-DD")
    assert_problem(client.get("/api/imagery/no_such_layer/scenes"), 404)


def test_a_csrf_failure_answers_in_its_face(planner):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(planner)
    assert_problem(strict.post("/api/checks", json.dumps({"site": SITE}), content_type="application/json"),
                   403, "CSRF")
    page = strict.post("/accounts/logout/")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_deep_geojson_in_a_file_or_a_string_is_400(client, planner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    deep = deep_collection(100_000)
    upload = SimpleUploadedFile("site.geojson", deep.encode())
    assert_problem(client.post("/api/checks", {"file": upload}), 400, "GeoJSON")
    assert_problem(client.post("/api/checks", json.dumps({"site": deep}), content_type="application/json"),
                   400)
    body = json.dumps({"inputs": {"site": deep}})
    assert_ogc(client.post(EXECUTION, body, content_type="application/json"), 400)


@pytest.mark.parametrize("field", ["crs", "project_code", "category", "format", "dxf_layer", "zone",
                                   "repair"])
def test_a_1_mb_field_is_not_echoed(client, planner, field):
    body = {"site": SITE, field: "x" * 1_000_000}
    rest = client.post("/api/checks", json.dumps(body), content_type="application/json")
    ogc = client.post(EXECUTION, json.dumps({"inputs": body}), content_type="application/json")
    for response in (rest, ogc):  # dxf_layer means nothing to a GeoJSON site: checked (201/200)
        assert response.status_code in ((200, 201) if field == "dxf_layer" else (400, 404))
        assert b"x" * 1100 not in response.content, response.content[:300]


def test_gunicorn_leaves_a_long_uri_to_the_boundary(server):
    """gunicorn's own 414 is an HTML page: its request-line limit is lifted, the app answers."""
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{server}/ogc/collections/water_body/items?filter={'x' * 9000}", timeout=30)
    assert raised.value.code == 414
    body = json.loads(raised.value.read())
    assert body["code"] == "URITooLong" and "8192" in body["description"]
