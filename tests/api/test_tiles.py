"""OGC API – Tiles: real tiles from the live server, decoded with mapbox-vector-tile and checked against
the fixture files read directly, with tile bounds from morecantile and geometry from shapely/pyproj
(never from the code under test)."""

import json
import urllib.error
import urllib.request

import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from blueprint.models import Role
from layers.importers import import_layer
from layers.services import register_layer
from tests.compliance import oracle
from tests.layers.helpers import CGCS2000_GEOD, geod_area, jining_patches, write_geojson
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
EXTENT, BUFFER = 4096, 256
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
MVT = "application/vnd.mapbox-vector-tile"


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def tile_path(slug: str, tms: str, tile: morecantile.Tile) -> str:
    return f"/ogc/collections/{slug}/tiles/{tms}/{tile.z}/{tile.y}/{tile.x}?f=mvt"


def source(small_data, slug: str):
    geoms, props = oracle.layer_features(small_data, slug)
    return {i + 1: (g, p) for i, (g, p) in enumerate(zip(geoms, props, strict=True))}  # GPKG fids 1…n


def tile_units(tms_id: str, tile: morecantile.Tile):
    """A function taking lon/lat geometries to this tile's MVT grid (y down), from morecantile's bounds."""
    tms = morecantile.tms.get(tms_id)
    left, bottom, right, top = tms.xy_bounds(tile)
    mercator = tms_id == "WebMercatorQuad"

    def to_units(geom):
        def transform(coords):
            x, y = TO_MERCATOR.transform(coords[:, 0], coords[:, 1]) if mercator else coords.T
            return np.c_[(np.asarray(x) - left) / (right - left) * EXTENT,
                         (top - np.asarray(y)) / (top - bottom) * EXTENT]
        return shapely.transform(geom, transform)
    return to_units


def pixel_m2(tms_id: str, tile: morecantile.Tile) -> float:
    """The ground area of a 256-px screen pixel at the tile's middle latitude (pyproj's Geod)."""
    west, south, east, north = morecantile.tms.get(tms_id).bounds(tile)
    lat = (south + north) / 2
    return (CGCS2000_GEOD.inv(west, lat, east, lat)[2] / 256) ** 2


def decode(body: bytes, slug: str) -> dict[int, tuple]:
    layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    assert set(layers) == {slug}
    assert layers[slug]["extent"] == EXTENT
    return {f["id"]: (shapely.geometry.shape(f["geometry"]), f["properties"])
            for f in layers[slug]["features"]}


def check_tile(get, small_data, slug, tms_id, tile, key_fields):
    """Fetch, decode and compare a tile with the source features inside it; return the ids served."""
    status, headers, body = get(tile_path(slug, tms_id, tile))
    assert status == 200 and headers["Content-Type"] == MVT
    served = decode(body, slug)
    to_units = tile_units(tms_id, tile)
    inner, buffered = shapely.box(0, 0, EXTENT, EXTENT), shapely.box(-BUFFER, -BUFFER, EXTENT + BUFFER,
                                                                      EXTENT + BUFFER)
    small = pixel_m2(tms_id, tile)
    expected = set()
    for fid, (geom, props) in source(small_data, slug).items():
        units = to_units(geom)
        if not units.intersects(buffered):
            assert fid not in served
            continue
        if geod_area(geom) < 0.9 * small:  # smaller than a screen pixel: left out of the tile
            assert fid not in served
        elif geod_area(geom) > 1.1 * small and units.intersection(inner).area > 16:
            expected.add(fid)
        if fid in served:
            shape, attrs = served[fid]
            assert {k: attrs.get(k) for k in key_fields} == {k: props[k] for k in key_fields}
            assert_same_shape(shape, units.intersection(buffered))
    assert expected and expected <= set(served)
    return set(served), headers


def assert_same_shape(served, exact):
    """Simplified by 4 grid units and snapped to the grid: every served vertex within 8 units of the
    exact clip, every vertex of its parts larger than a screen pixel (256 units²) within 8 units of the
    served shape (smaller islands may vanish), and the same area within 2 % or a boundary shift of
    2 units on average."""
    def farthest(geom, other):
        return shapely.distance(shapely.points(shapely.get_coordinates(geom)), other).max(initial=0)
    assert farthest(served, exact) <= 8
    parts = shapely.get_parts(exact)
    assert farthest(shapely.multipolygons(parts[shapely.area(parts) > 256]), served) <= 8
    assert served.area == pytest.approx(exact.area, rel=0.02, abs=2 * exact.length)


def largest_feature_tile(small_data, slug: str, tms_id: str, zoom: int) -> morecantile.Tile:
    geoms, _ = oracle.layer_features(small_data, slug)
    point = shapely.point_on_surface(geoms[int(np.argmax(shapely.area(geoms)))])
    return morecantile.tms.get(tms_id).tile(point.x, point.y, zoom)


@pytest.mark.parametrize(("slug", "zoom", "key_fields"), [
    ("admin_district", 7, ["XZQDM", "XZQMC", "JB"]),
    ("water_body", 9, ["MC", "LX"]),
    ("agricultural_space", 8, ["KJLX", "XZQMC"]),  # whole polygons (16 564 vertices), clipped
    ("agricultural_space", 13, ["KJLX", "XZQMC"]),  # the same from their subdivided pieces
])
def test_web_mercator_tiles_hold_the_source_features(server, small_data, slug, zoom, key_fields):
    tile = largest_feature_tile(small_data, slug, "WebMercatorQuad", zoom)
    served, headers = check_tile(lambda path: fetch(server + path), small_data, slug, "WebMercatorQuad", tile,
                                 key_fields)
    assert headers["ETag"] and headers["Cache-Control"] == "public, max-age=300"


def test_world_crs84_quad_tiles_hold_the_source_features(server, small_data):
    for slug, zoom in (("admin_district", 6), ("agricultural_space", 12)):
        tile = largest_feature_tile(small_data, slug, "WorldCRS84Quad", zoom)
        check_tile(lambda path: fetch(server + path), small_data, slug, "WorldCRS84Quad", tile, ["XZQMC"])


def test_farmland_patches_smaller_than_a_pixel_are_left_out(client, small_data):
    """At zoom 11 a screen pixel is ~0.4 ha, about the size of the smaller patches: check_tile asserts
    that those below it are absent and those above it present."""
    sign_in(client, Role.CITY_PLANNER)  # farmland is internal
    tile = largest_feature_tile(small_data, "basic_farmland", "WebMercatorQuad", 11)
    served, _ = check_tile(lambda path: _client_get(client, path), small_data, "basic_farmland",
                           "WebMercatorQuad", tile, ["TBBH", "DLMC", "GDPDJB"])
    patches = source(small_data, "basic_farmland")
    pixel = pixel_m2("WebMercatorQuad", tile)
    inside = [fid for fid, (g, _) in patches.items() if tile_units("WebMercatorQuad", tile)(g).intersects(
        shapely.box(0, 0, EXTENT, EXTENT))]
    assert sum(geod_area(patches[fid][0]) < 0.9 * pixel for fid in inside) > 10  # the rule bites here
    assert len(served) > 10


def _client_get(client, path):
    response = client.get(path)
    return response.status_code, response.headers, response.content


def test_etag_answers_304_and_changes_with_the_tile(server, small_data):
    tile = largest_feature_tile(small_data, "admin_district", "WebMercatorQuad", 8)
    url = server + tile_path("admin_district", "WebMercatorQuad", tile)
    status, headers, body = fetch(url)
    etag = headers["ETag"]
    assert status == 200 and body
    status, again, body = fetch(url, {"If-None-Match": etag})
    assert status == 304 and body == b"" and again["ETag"] == etag and "max-age" in again["Cache-Control"]
    assert fetch(url, {"If-None-Match": '"something-else"'})[0] == 200
    neighbour = morecantile.Tile(tile.x + 1, tile.y, tile.z)
    assert fetch(server + tile_path("admin_district", "WebMercatorQuad", neighbour))[1]["ETag"] != etag


def test_etag_changes_with_a_new_layer_version(client, tmp_path):
    layer = register_layer("tile_test_zone", "瓦片测试", "Tile test", fields={"TBBH": "string"},
                           access_level="public")[0]
    patches = jining_patches(3)
    import_layer(layer.slug, write_geojson(tmp_path / "1.geojson", patches, [{"TBBH": "a"}] * 3))
    tile = morecantile.tms.get("WebMercatorQuad").tile(*shapely.centroid(patches[1]).coords[0], 14)
    path = tile_path(layer.slug, "WebMercatorQuad", tile)
    first = client.get(path)
    assert first.status_code == 200 and client.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    moved = [shapely.transform(p, lambda c: c + [0.0005, 0.0]) for p in patches]
    import_layer(layer.slug, write_geojson(tmp_path / "2.geojson", moved, [{"TBBH": "b"}] * 3))
    second = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    features = mapbox_vector_tile.decode(second.content)[layer.slug]["features"]
    assert {f["properties"]["TBBH"] for f in features} == {"b"}


def test_empty_tiles_are_204_without_a_body(server, small_data):
    far_away = morecantile.tms.get("WebMercatorQuad").tile(10.0, 50.0, 10)  # Germany
    status, headers, body = fetch(server + tile_path("admin_district", "WebMercatorQuad", far_away))
    assert status == 204 and body == b"" and headers["ETag"]
    # Inside the extent but between features: an empty tile all the same.
    geoms, _ = oracle.layer_features(small_data, "water_body")
    tms = morecantile.tms.get("WebMercatorQuad")
    west, south, east, north = shapely.total_bounds(geoms)
    for lon in np.linspace(west, east, 40):
        tile = tms.tile(lon, (south + north) / 2, 15)
        box = shapely.box(*tms.bounds(tile)).buffer(0.01)
        if not shapely.intersects(geoms, box).any():
            assert fetch(server + tile_path("water_body", "WebMercatorQuad", tile))[0] == 204
            break
    else:
        pytest.fail("no empty tile found inside the water layer's extent")


def test_hidden_layers_have_no_tiles(server, client, small_data):
    tile = largest_feature_tile(small_data, "basic_farmland", "WebMercatorQuad", 12)
    for path in (tile_path("basic_farmland", "WebMercatorQuad", tile),
                 "/ogc/collections/basic_farmland/tiles",
                 "/ogc/collections/basic_farmland/tiles/WebMercatorQuad/metadata?f=tilejson"):
        status, headers, body = fetch(server + path, {"If-None-Match": "*"})
        assert status == 404 and headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["code"] == "NotFound"
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])  # internal layers
    seen = client.get(tile_path("basic_farmland", "WebMercatorQuad", tile))
    assert seen.status_code == 200 and seen["Cache-Control"].startswith("private")
    assert mapbox_vector_tile.decode(seen.content)["basic_farmland"]["features"]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("WebMercatorQuad/a/1/1", 400, "InvalidParameterValue"),
    ("WebMercatorQuad/5/1.5/1", 400, "InvalidParameterValue"),
    ("WebMercatorQuad/5/32/1", 404, "NotFound"),
    ("WebMercatorQuad/-1/0/0", 404, "NotFound"),
    ("WebMercatorQuad/30/0/0", 404, "NotFound"),
    ("WorldCRS84Quad/2/0/8", 404, "NotFound"),
    ("NoSuchMatrixSet/5/1/1", 404, "NotFound"),
    ("NoSuchMatrixSet", 404, "NotFound"),
])
def test_bad_tile_requests_are_ogc_exceptions(server, path, status, code):
    got, headers, body = fetch(f"{server}/ogc/collections/admin_district/tiles/{path}")
    assert got == status and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["code"] == code and "(" in json.loads(body)["description"]


def test_tile_metadata_lets_a_map_client_find_the_tiles(server, small_data):
    _, _, body = fetch(f"{server}/ogc/collections/water_body/tiles?f=json")
    sets = {s["tileMatrixSetURI"].rsplit("/", 1)[1] for s in json.loads(body)["tilesets"]}
    assert sets == {"WebMercatorQuad", "WorldCRS84Quad"}
    status, _, body = fetch(f"{server}/ogc/collections/water_body/tiles/WebMercatorQuad?f=json")
    tileset = json.loads(body)
    assert status == 200 and tileset["crs"].endswith("/3857")
    assert any(link["rel"] == "item" and link["type"] == MVT for link in tileset["links"])
    status, _, body = fetch(f"{server}/ogc/collections/water_body/tiles/WebMercatorQuad/metadata?f=tilejson")
    tilejson = json.loads(body)
    assert status == 200 and tilejson["tilejson"] == "3.0.0"
    assert [layer["id"] for layer in tilejson["vector_layers"]] == ["water_body"]
    assert set(tilejson["vector_layers"][0]["fields"]) == {"MC", "LX"}
    geoms, _ = oracle.layer_features(small_data, "water_body")
    assert np.allclose(tilejson["bounds"], shapely.total_bounds(geoms), atol=1e-6)
    # A map client fills in the URL template as it is, with {z}/{y}/{x} (no f=…: the MVT default).
    tile = largest_feature_tile(small_data, "water_body", "WebMercatorQuad", 10)
    url = tilejson["tiles"][0].format(z=tile.z, x=tile.x, y=tile.y).replace("?f=mvt", "")
    assert url.startswith(server)
    status, headers, body = fetch(url)
    assert status == 200 and headers["Content-Type"] == MVT and decode(body, "water_body")
