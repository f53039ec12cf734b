"""The project-site layer (项目选址) as a standard service: the current site of every project as
an OGC API Features collection and vector tiles, read by OWSLib, GDAL's OGCAPI driver and
mapbox-vector-tile from the real gunicorn, under the access policy (internal; a county's
token or planner sees its districts). Expected sites come from the site revisions read in the
test (the latest of each project), tile bounds from morecantile, never from the code under test."""

import json
import os
import subprocess
from zoneinfo import ZoneInfo

import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import requests
import shapely
from owslib import ogcapi
from owslib.ogcapi.features import Features

from blueprint.models import Role
from layers.models import Project
from layers.services import add_site_revision
from layers.sites import SITE_FIELDS
from tests.api.test_tiles import BUFFER, EXTENT, MVT, assert_same_shape, fetch, tile_units
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db
SITES = "/ogc/collections/project_site"
COUNTY = "370811"
TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def tokens(django_db_setup, django_db_blocker):
    """Committed tokens (the server is another process): the city's and a county's (both naming the
    layer), and one reading public layers only."""
    with django_db_blocker.unblock():
        made = {"city": make_token("sites-city", interfaces=["ogc_read"], layers=["project_site"]),
                "county": make_token("sites-county", interfaces=["ogc_read"], layers=["project_site"],
                                     districts=[COUNTY]),
                "public": make_token("sites-public", interfaces=["ogc_read"])}
    TOKENS.update({name: raw for name, (_, raw) in made.items()})
    yield
    with django_db_blocker.unblock():
        for token, _ in made.values():
            token.delete()


@pytest.fixture(autouse=True)
def owslib_headers():
    """OWSLib 0.3x's API() updates its module-wide REQUEST_HEADERS with the headers it is given:
    one client's token would be sent by every later client (here and in other modules). Restored."""
    pristine = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(pristine)


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"} if who in TOKENS else {}


def features_client(server: str, who: str) -> Features:
    """OWSLib's Features client sending `who`'s token (and only it: see owslib_headers)."""
    ogcapi.REQUEST_HEADERS.pop("Authorization", None)
    return Features(f"{server}/ogc", headers=auth(who))


def current_sites(county: str = "") -> dict[int, tuple]:
    """{project id: (project, latest revision, shapely geometry)}, read from the revisions."""
    out = {}
    for project in Project.objects.filter(district__code__startswith=county).select_related("district"):
        revision = project.site_revisions.order_by("number").last()
        if revision is not None:
            out[project.pk] = (project, revision, shapely.from_wkb(bytes(revision.geom.wkb)))
    return out


def test_owslib_reads_the_current_site_of_every_project(server):
    expected = current_sites()
    assert len(expected) >= 10
    features = features_client(server, "city")
    assert "project_site" in {c["id"] for c in features.collections()["collections"]}
    collection = features.collection("project_site")
    assert collection["title"] == "项目选址"
    page = features.collection_items("project_site", limit=1000)
    assert page["numberMatched"] == len(expected) == page["numberReturned"]
    for feature in page["features"]:
        project, revision, geom = expected[feature["id"]]
        assert feature["properties"] == {
            "XMDM": project.code, "XMMC": project.name, "JSDW": project.applicant,
            "XMLX": {"01": "审批", "02": "核准", "03": "备案"}[project.project_type],
            "JD": {"1": "立项用地规划许可", "2": "工程建设许可", "3": "施工许可", "4": "竣工验收",
                   "5": "并行推进"}[project.stage],
            "XZQDM": project.district_id, "XZQMC": project.district.name, "HXBB": revision.number,
            "HXRQ": revision.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")}
        served = shapely.geometry.shape(feature["geometry"])
        assert np.allclose(shapely.get_coordinates(served), shapely.get_coordinates(geom), atol=1e-9)
    one = features.collection_item("project_site", str(next(iter(expected))))
    assert one["properties"]["XMDM"] == expected[one["id"]][0].code


def test_a_filter_and_the_chinese_field_titles(server):
    expected = current_sites(COUNTY)
    features = features_client(server, "city")
    page = features.collection_items("project_site", filter=f"XZQDM='{COUNTY}'", limit=100)
    assert {f["id"] for f in page["features"]} == set(expected)
    schema = requests.get(f"{server}{SITES}/schema?f=json", headers=auth("city"), timeout=30).json()
    assert {name: spec["title"] for name, spec in schema["properties"].items() if name in SITE_FIELDS} == {
        name: f"{zh} ({en})" for name, (_, zh, en) in SITE_FIELDS.items()}


def test_gdal_reads_the_collection_with_the_county_token(server, tmp_path):
    """GDAL's OGCAPI driver (ogr2ogr) with the county's token: its districts' sites only."""
    expected = current_sites(COUNTY)
    assert 0 < len(expected) < len(current_sites())
    out = tmp_path / "sites.geojson"
    gdal = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-oo", "API=ITEMS", str(out),
                           f"OGCAPI:{server}{SITES}",  # API=ITEMS: GDAL 3.6 would open the tiles first
                           "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {TOKENS['county']}"],
                          capture_output=True, timeout=120, text=True)
    assert gdal.returncode == 0, gdal.stderr
    read = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert sorted(f["properties"]["XMDM"] for f in read) == sorted(p.code for p, _, _ in expected.values())
    for feature in read:
        _, _, geom = next(v for v in expected.values() if v[0].code == feature["properties"]["XMDM"])
        assert shapely.geometry.shape(feature["geometry"]).equals_exact(geom, 1e-7)


@pytest.mark.parametrize("who", ["anonymous", "public"])
def test_callers_without_internal_access_do_not_see_the_sites(server, who, tmp_path):
    collections = features_client(server, who).collections()["collections"]
    assert "project_site" not in {c["id"] for c in collections}
    project, _, geom = next(iter(current_sites().values()))
    tile = morecantile.tms.get("WebMercatorQuad").tile(*shapely.point_on_surface(geom).coords[0], 14)
    for path in (f"{SITES}/items", f"{SITES}/items/{project.pk}", f"{SITES}/tiles/WebMercatorQuad",
                 f"{SITES}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?f=mvt",
                 f"{SITES}/map/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"):
        status, headers, body = fetch(server + path, auth(who))
        assert status == 404 and json.loads(body)["code"] == "NotFound", path
    headers = "".join(f"{name}: {value}" for name, value in auth(who).items())
    gdal = subprocess.run(["ogrinfo", "-ro", "-so", "-oo", "API=ITEMS", f"OGCAPI:{server}{SITES}"],
                          capture_output=True, timeout=60, text=True,
                          env={**os.environ, "GDAL_HTTP_HEADERS": headers})
    assert gdal.returncode != 0 and "404" in gdal.stderr + gdal.stdout


def test_an_applicant_and_a_county_planner_as_the_policy_says(client):
    sign_in(client, Role.APPLICANT, organisation=next(iter(current_sites().values()))[0].applicant)
    assert client.get(f"{SITES}/items").status_code == 404  # the layer is internal
    client.logout()
    sign_in(client, Role.COUNTY_PLANNER, username="county-sites", districts=[COUNTY])
    items = client.get(f"{SITES}/items?limit=100&f=json").json()
    county = current_sites(COUNTY)
    assert {f["id"] for f in items["features"]} == set(county) and items["numberMatched"] == len(county)
    elsewhere = next(pk for pk in current_sites() if pk not in current_sites(COUNTY))
    assert client.get(f"{SITES}/items/{elsewhere}").status_code == 404
    client.logout()
    sign_in(client, Role.COUNTY_PLANNER, username="county-none")  # no districts: no project
    assert client.get(f"{SITES}/items?f=json").json()["numberMatched"] == 0


def site_tile(geom, zoom: int = 15) -> morecantile.Tile:
    return morecantile.tms.get("WebMercatorQuad").tile(*shapely.point_on_surface(geom).coords[0], zoom)


def test_the_tile_containing_a_site_holds_it(server):
    sites = current_sites()
    pk, (project, _, geom) = next(iter(sites.items()))
    tile = site_tile(geom)
    status, headers, body = fetch(f"{server}{SITES}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?f=mvt",
                                  auth("city"))
    assert status == 200 and headers["Content-Type"] == MVT
    assert headers["Cache-Control"] == "private, no-cache"
    layer = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})["project_site"]
    assert layer["extent"] == EXTENT
    served = {f["id"]: f for f in layer["features"]}
    assert served[pk]["properties"]["XMDM"] == project.code
    buffered = shapely.box(-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    exact = tile_units("WebMercatorQuad", tile)(geom).intersection(buffered)
    assert_same_shape(shapely.geometry.shape(served[pk]["geometry"]), exact)
    # A 304 for the same content; the county's token does not see another county's site.
    assert fetch(f"{server}{SITES}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                 {**auth("city"), "If-None-Match": headers["ETag"]})[0] == 304
    other_pk, (_, _, other) = next((k, v) for k, v in sites.items() if k not in current_sites(COUNTY))
    tile = site_tile(other)
    path = f"{SITES}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    status, _, body = fetch(server + path, auth("county"))
    assert status == 204 or other_pk not in {
        f["id"] for f in mapbox_vector_tile.decode(body)["project_site"]["features"]}
    assert fetch(server + path, auth("city"))[0] == 200


def test_a_new_revision_is_served_at_once(client):
    """Items, vector tile and map tile answer the new revision in the next request."""
    sign_in(client, Role.CITY_PLANNER)
    pk, (project, revision, geom) = next(iter(current_sites(COUNTY).items()))
    tile = site_tile(geom)
    path = f"{SITES}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    before = client.get(path)
    png = client.get(f"{SITES}/map/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
    assert before.status_code == 200 and png.status_code == 200 and png["Content-Type"] == "image/png"
    smaller = shapely.MultiPolygon([shapely.affinity.scale(p, 0.5, 0.5) for p in shapely.get_parts(geom)])
    add_site_revision(project, smaller, note="project-site service test")
    item = client.get(f"{SITES}/items/{pk}?f=json").json()
    assert item["properties"]["HXBB"] == revision.number + 1
    assert shapely.geometry.shape(item["geometry"]).equals_exact(smaller, 1e-7)  # GeoJSON: 8 decimals
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    served = {f["id"]: f for f in mapbox_vector_tile.decode(
        after.content, default_options={"y_coord_down": True})["project_site"]["features"]}
    exact = tile_units("WebMercatorQuad", tile)(smaller)
    assert_same_shape(shapely.geometry.shape(served[pk]["geometry"]), exact)
    again = client.get(f"{SITES}/map/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                       HTTP_IF_NONE_MATCH=png["ETag"])
    assert again.status_code == 200 and again.content != png.content


def test_its_documents_and_pages_answer(client):
    """The collection's documents, HTML pages and the OpenAPI document of a caller who sees it."""
    sign_in(client, Role.CITY_PLANNER)
    for path in (f"{SITES}?f=json", f"{SITES}?f=html", f"{SITES}/items?f=html", f"{SITES}/queryables?f=json",
                 f"{SITES}/tiles/WebMercatorQuad/metadata?f=tilejson", "/ogc/openapi?f=json"):
        response = client.get(path)
        assert response.status_code == 200, path
    queryables = client.get(f"{SITES}/queryables?f=json").json()["properties"]
    assert {name: queryables[name]["title"] for name in SITE_FIELDS} == {
        name: f"{zh} ({en})" for name, (_, zh, en) in SITE_FIELDS.items()}
    assert "/collections/project_site/items" in client.get("/ogc/openapi?f=json").json()["paths"]
