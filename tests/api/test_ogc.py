"""OGC API Features through pygeoapi, read by a real client (GDAL's OAPIF driver) and checked
against the fixture files read directly (never against the code under test)."""

import json
import urllib.parse
import urllib.request

import numpy as np
import pyogrio.raw
import pytest
import shapely

from blueprint.models import Role
from tests.api.ogc_oracle import envelope_only_box
from tests.compliance import oracle
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def gdal_read(server, slug: str, **options):
    meta, _fids, wkb, fields = pyogrio.raw.read(f"OAPIF:{server}/ogc/collections/{slug}", **options)
    props = [{name: fields[i][row] for i, name in enumerate(meta["fields"])} for row in range(len(wkb))]
    return meta, shapely.from_wkb(wkb), props


def by_name(geoms, props, key):
    return {p[key]: g for g, p in zip(geoms, props, strict=True)}


def test_gdal_lists_the_public_collections(server):
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server}/ogc")}
    assert {"admin_district", "water_body", "urban_space"} <= layers
    assert not layers & {"basic_farmland", "ecological_redline", "urban_development_boundary"}
    # Imagery collections are coverages: not vector layers whose /items GDAL would read.
    assert not layers & {"blue_marble", "hillshade", "hires_jining"}


def test_gdal_bbox_read_counts_what_number_matched_says(server, small_data):
    """GDAL filters again on its side: the server must already have answered by geometry."""
    bbox, expected, by_envelope = envelope_only_box(small_data)
    assert by_envelope > expected
    _meta, geoms, _props = gdal_read(server, "admin_district", bbox=bbox)
    query = urllib.parse.urlencode({"f": "json", "bbox": ",".join(map(str, bbox))})
    with urllib.request.urlopen(f"{server}/ogc/collections/admin_district/items?{query}") as answer:
        matched = json.load(answer)["numberMatched"]
    assert len(geoms) == matched == expected
    wide = (116.3, 35.2, 116.9, 35.6)
    source_geoms, _ = oracle.layer_features(small_data, "admin_district")
    assert len(gdal_read(server, "admin_district", bbox=wide)[1]) == \
        int(shapely.intersects(source_geoms, shapely.box(*wide)).sum()) >= 3


def test_gdal_reads_the_same_features_and_coordinates(server, small_data):
    meta, geoms, props = gdal_read(server, "admin_district")
    expected_geoms, expected_props = oracle.layer_features(small_data, "admin_district")
    assert len(geoms) == len(expected_geoms)
    served, source = by_name(geoms, props, "XZQDM"), by_name(expected_geoms, expected_props, "XZQDM")
    assert served.keys() == source.keys()
    for code, geom in source.items():
        assert np.allclose(shapely.get_coordinates(served[code]), shapely.get_coordinates(geom), atol=1e-8)


def test_gdal_in_epsg4490_gets_the_axis_order_right(server, small_data):
    """GDAL asks for EPSG:4490 (latitude first) and turns it back to GIS order: equal coordinates
    prove the server answered latitude first."""
    meta, geoms, props = gdal_read(server, "admin_district", CRS="EPSG:4490")
    assert "4490" in meta["crs"]
    source = by_name(*oracle.layer_features(small_data, "admin_district"), "XZQDM")
    for code, geom in by_name(geoms, props, "XZQDM").items():
        assert np.allclose(shapely.get_coordinates(geom), shapely.get_coordinates(source[code]), atol=1e-8)


def test_raw_epsg4490_is_latitude_first_with_content_crs(client, small_data):
    response = client.get("/ogc/collections/water_body/items", {"f": "json", "crs": EPSG4490, "limit": 1})
    assert response["Content-Crs"] == f"<{EPSG4490}>"
    feature = response.json()["features"][0]
    lon_lat = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
    source = by_name(*oracle.layer_features(small_data, "water_body"), "MC")
    assert np.allclose(lon_lat[:, ::-1], shapely.get_coordinates(source[feature["properties"]["MC"]]))


def test_bbox_and_cql2_filter_match_the_source(client, small_data):
    geoms, props = oracle.layer_features(small_data, "water_body")
    bbox = (116.9, 34.5, 117.3, 34.9)
    expected = int(shapely.intersects(geoms, shapely.box(*bbox)).sum())
    page = client.get("/ogc/collections/water_body/items",
                      {"f": "json", "bbox": ",".join(map(str, bbox)), "limit": 100}).json()
    assert page["numberMatched"] == expected == len(page["features"]) > 0
    lakes = client.get("/ogc/collections/water_body/items",
                       {"f": "json", "filter": "LX='湖泊'", "limit": 100}).json()
    assert lakes["numberMatched"] == sum(p["LX"] == "湖泊" for p in props) > 0
    assert {f["properties"]["LX"] for f in lakes["features"]} == {"湖泊"}


def test_errors_are_ogc_exception_json(client):
    bad = client.get("/ogc/collections/water_body/items", {"f": "json", "filter": "nosuch=1"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidQuery"
    hidden = client.get("/ogc/collections/ecological_redline/items", {"f": "json"})
    assert hidden.status_code == 404 and hidden.json()["code"] == "NotFound"


def test_restricted_layers_need_the_right_account(client):
    sign_in(client, Role.CITY_PLANNER, username="ogcadmin")  # the city level reads restricted layers
    ids = {c["id"] for c in client.get("/ogc/collections", {"f": "json"}).json()["collections"]}
    assert {"ecological_redline", "basic_farmland"} <= ids
    query = urllib.parse.urlencode({"f": "json", "limit": 2})
    body = json.loads(client.get(f"/ogc/collections/basic_farmland/items?{query}").content)
    assert body["numberMatched"] > 1000 and len(body["features"]) == 2
