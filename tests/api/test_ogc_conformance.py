"""OGC API Features rules on /ogc/: bbox by geometry, media types, HEAD, unknown parameters, writes
refused, page sizes, and each declared CQL2 class answered — expected sets from the fixture files
read with shapely, never from the service."""

import json

import pytest
import requests
import shapely

from blueprint.models import Role
from tests.api.ogc_oracle import envelope_only_box
from tests.compliance import oracle
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
SPEC = "http://www.opengis.net/spec/"
ITEMS = "/ogc/collections/{}/items"


def items(client, slug, **params):
    response = client.get(ITEMS.format(slug), {"f": "json", **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_bbox_selects_geometries_not_envelopes(client, small_data):
    bbox, expected, by_envelope = envelope_only_box(small_data)
    assert by_envelope > expected  # the old envelope filter counted these
    page = items(client, "admin_district", bbox=",".join(map(str, bbox)))
    assert page["numberMatched"] == expected == len(page["features"])


def test_number_matched_equals_what_the_pages_return(client, small_data):
    geoms, props = oracle.layer_features(small_data, "admin_district")
    box = shapely.box(116.3, 35.2, 116.9, 35.6)
    expected = {p["XZQDM"] for g, p in zip(geoms, props, strict=True) if g.intersects(box)}
    assert len(expected) >= 3
    seen, offset = [], 0
    while True:
        page = items(client, "admin_district", bbox="116.3,35.2,116.9,35.6", limit=2, offset=offset)
        assert page["numberMatched"] == len(expected)
        seen += [f["properties"]["XZQDM"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 2
    assert sorted(seen) == sorted(expected)


def test_unknown_query_parameters_are_refused(client):
    for path in (ITEMS.format("water_body"), ITEMS.format("water_body") + "/1",
                 "/ogc/collections/hires_jining/coverage"):
        response = client.get(path, {"bboxx": "116.9,34.5,117.3,34.9"})
        assert response.status_code == 400, path
        body = response.json()
        assert body["code"] == "InvalidParameterValue" and "bboxx" in body["description"]
    # An attribute of the layer is a query parameter (queryables-query-parameters), `q` is not:
    # the provider does not search text, so it must not be ignored.
    assert client.get(ITEMS.format("water_body"), {"LX": "湖泊"}).status_code == 200
    assert client.get(ITEMS.format("water_body"), {"q": "湖"}).status_code == 400
    assert client.get(ITEMS.format("water_body"), {"limit": "unlimited"}).status_code == 400  # invalid
    # A coverage has no items: 404, pointing at its coverage.
    coverage_items = client.get(ITEMS.format("hires_jining"))
    assert coverage_items.status_code == 404 and "/coverage" in coverage_items.json()["description"]


def test_items_are_geojson_by_format_and_accept(client):
    url = ITEMS.format("water_body")
    assert client.get(url, {"limit": 1})["Content-Type"] == "application/geo+json"
    assert client.get(url, {"limit": 1, "f": "json"})["Content-Type"] == "application/geo+json"
    assert client.get(url, {"limit": 1}, HTTP_ACCEPT="application/geo+json")["Content-Type"] \
        == "application/geo+json"
    assert client.get(url, {"limit": 1}, HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
    assert client.get(url, {"limit": 1}, HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")
    assert client.get(url + "/1")["Content-Type"] == "application/geo+json"


def test_head_is_get_without_a_body(server):
    for path in (ITEMS.format("water_body") + "?limit=3", ITEMS.format("water_body") + "/1",
                 "/ogc/collections/hires_jining/coverage?bbox=116.545,35.355,116.546,35.356"):
        got, head = requests.get(server + path), requests.head(server + path)
        assert got.status_code == head.status_code == 200, path
        assert head.content == b""
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
        assert head.headers.get("Content-Crs") == got.headers.get("Content-Crs")
        assert int(head.headers["Content-Length"]) == len(got.content)


def test_writes_are_refused_as_ogc_json(server):
    """The collections are read-only (no Part 4): 405 with Allow, never Django's CSRF page."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [117, 35]}, "properties": {}}
    url = server + ITEMS.format("water_body")
    for response in (requests.post(url, json=feature, headers={"Content-Type": "application/geo+json"}),
                     requests.put(url + "/1", json=feature), requests.delete(url + "/1"),
                     requests.patch(url + "/1", json={})):
        assert response.status_code == 405, response.request.method
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "MethodNotAllowed"
        assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]
    assert requests.get(url + "/1").status_code == 200  # still there


def test_conformance_has_no_part_4_and_declares_cql2(client):
    declared = set(client.get("/ogc/conformance", {"f": "json"}).json()["conformsTo"])
    assert not any("features-4" in uri for uri in declared)
    assert {f"{SPEC}ogcapi-features-3/1.0/conf/filter", f"{SPEC}cql2/1.0/conf/cql2-text",
            f"{SPEC}cql2/1.0/conf/cql2-json", f"{SPEC}cql2/1.0/conf/basic-cql2"} <= declared
    assert f"{SPEC}ogcapi-coverages-1/1.0/conf/html" not in declared  # GeoTIFF only
    assert f"{SPEC}ogcapi-processes-1/1.0/conf/callback" not in declared


def test_page_size_default_and_maximum(client, small_data):
    sign_in(client, Role.CITY_PLANNER, username="pages")  # reads the internal farmland
    total = len(oracle.layer_features(small_data, "basic_farmland")[0])
    assert total > 1000
    default = items(client, "basic_farmland", skipGeometry="true")
    assert default["numberReturned"] == 1000 and default["numberMatched"] == total
    assert any(link["rel"] == "next" for link in default["links"])
    capped = items(client, "basic_farmland", skipGeometry="true", limit=50000)
    assert capped["numberReturned"] == min(total, 10000)
    water = items(client, "water_body")  # a small layer comes whole in one page
    assert water["numberReturned"] == water["numberMatched"] == len(oracle.layer_features(small_data,
                                                                                          "water_body")[0])


def test_storage_crs_is_cgcs2000(client):
    collection = client.get("/ogc/collections/water_body", {"f": "json"}).json()
    assert collection["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert collection["storageCrs"] in collection["crs"]


# --- CQL2: one case (or more) per declared class, text and JSON -------------------------------

BOX = (116.9, 34.5, 117.3, 34.9)
SQUARE = shapely.box(116.0, 34.0, 118.0, 36.0)
LINE = shapely.LineString([(116.0, 34.0), (118.0, 36.0)])
CASES = [
    ("basic-cql2", "LX='湖泊' AND NOT (MC IS NULL)",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "LX"}, "湖泊"]},
                            {"op": "not", "args": [{"op": "isNull", "args": [{"property": "MC"}]}]}]},
     lambda g, p: p["LX"] == "湖泊" and p["MC"] is not None),
    ("basic-cql2", "LX<>'湖泊' OR MC='微山湖'", None, lambda g, p: p["LX"] != "湖泊" or p["MC"] == "微山湖"),
    ("advanced-comparison-operators", "MC LIKE '%湖%'",
     {"op": "like", "args": [{"property": "MC"}, "%湖%"]}, lambda g, p: "湖" in p["MC"]),
    ("advanced-comparison-operators", "LX IN ('湖泊','河流')",
     {"op": "in", "args": [{"property": "LX"}, ["湖泊", "河流"]]}, lambda g, p: p["LX"] in ("湖泊", "河流")),
    ("basic-spatial-functions", "S_INTERSECTS(geometry, BBOX({},{},{},{}))".format(*BOX),
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(BOX)}]},
     lambda g, p: g.intersects(shapely.box(*BOX))),
    ("basic-spatial-functions-plus", f"S_INTERSECTS(geometry, {LINE.wkt})",
     {"op": "s_intersects", "args": [{"property": "geometry"}, shapely.geometry.mapping(LINE)]},
     lambda g, p: g.intersects(LINE)),
    ("spatial-functions", f"S_WITHIN(geometry, {SQUARE.wkt})",
     {"op": "s_within", "args": [{"property": "geometry"}, shapely.geometry.mapping(SQUARE)]},
     lambda g, p: g.within(SQUARE)),
    ("spatial-functions", "S_DISJOINT(geometry, BBOX({},{},{},{}))".format(*BOX), None,
     lambda g, p: g.disjoint(shapely.box(*BOX))),
    ("spatial-functions", f"S_CROSSES(geometry, {LINE.wkt})", None, lambda g, p: g.crosses(LINE)),
    ("property-property", "LX <> MC",
     {"op": "<>", "args": [{"property": "LX"}, {"property": "MC"}]}, lambda g, p: p["LX"] != p["MC"]),
]


@pytest.mark.parametrize(("conformance_class", "text", "cql_json", "oracle_test"), CASES,
                         ids=[f"{c[0]}:{c[1][:30]}" for c in CASES])
def test_each_declared_cql2_class_answers(client, small_data, conformance_class, text, cql_json, oracle_test):
    declared = client.get("/ogc/conformance", {"f": "json"}).json()["conformsTo"]
    assert f"{SPEC}cql2/1.0/conf/{conformance_class}" in declared
    geoms, props = oracle.layer_features(small_data, "water_body")
    expected = sorted(p["MC"] for g, p in zip(geoms, props, strict=True) if oracle_test(g, p))
    served = items(client, "water_body", filter=text)
    assert sorted(f["properties"]["MC"] for f in served["features"]) == expected
    assert served["numberMatched"] == len(expected)
    if cql_json is not None:
        as_json = items(client, "water_body", filter=json.dumps(cql_json, ensure_ascii=False),
                        **{"filter-lang": "cql2-json"})
        assert sorted(f["properties"]["MC"] for f in as_json["features"]) == expected


def test_the_cql2_cases_are_not_trivial(small_data):
    """Each case selects some features and leaves some out, so that a wrong filter shows."""
    geoms, props = oracle.layer_features(small_data, "water_body")
    for _cls, text, _json, oracle_test in CASES:
        if text == "LX <> MC":
            continue  # every name differs from its type: only the operator is shown
        hits = sum(bool(oracle_test(g, p)) for g, p in zip(geoms, props, strict=True))
        assert 0 < hits < len(geoms), text


def test_between_on_a_number_attribute(client, small_data):
    sign_in(client, Role.CITY_PLANNER, username="between")
    _, props = oracle.layer_features(small_data, "basic_farmland")
    expected = sum(1000 <= p["YJJBNTTBMJ"] <= 5000 for p in props)
    assert 0 < expected < len(props)
    between = items(client, "basic_farmland", filter="YJJBNTTBMJ BETWEEN 1000 AND 5000", resulttype="hits")
    assert between["numberMatched"] == expected
    # pygeofilter's Django backend cannot evaluate arithmetic or CASEI: not declared.
    declared = client.get("/ogc/conformance", {"f": "json"}).json()["conformsTo"]
    assert not {f"{SPEC}cql2/1.0/conf/arithmetic", f"{SPEC}cql2/1.0/conf/case-insensitive-comparison"} \
        & set(declared)
