"""OGC API – Tiles map tiles of vector layers (PNG drawn on the server), checked against the fixture
files: pixel centres are placed with morecantile's tile bounds and pyproj, patches read with pyogrio
and measured with shapely (never with the code under test)."""

import io
import json

import morecantile
import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

from blueprint.models import AuditEntry, Role
from layers.styles import LAYER_STYLES
from tests.api.test_tiles import fetch, largest_feature_tile
from tests.compliance import oracle
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
TMS = morecantile.tms.get("WebMercatorQuad")


def map_tile_path(slug: str, tile: morecantile.Tile, tms: str = "WebMercatorQuad") -> str:
    return f"/ogc/collections/{slug}/map/tiles/{tms}/{tile.z}/{tile.y}/{tile.x}"


def colour(hex_colour: str, opacity: float) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)] + [opacity * 255])


def pixels(body: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG" and image.size == (256, 256) and image.mode == "RGBA"
    return np.asarray(image).astype(float)


def patches_in_pixels(geoms: np.ndarray, tile: morecantile.Tile) -> np.ndarray:
    """The patches in the tile's pixel grid (x right, y down, a pixel is 1 × 1), via pyproj."""
    left, bottom, right, top = TMS.xy_bounds(tile)

    def transform(coords):
        x, y = TO_MERCATOR.transform(coords[:, 0], coords[:, 1])
        return np.c_[(np.asarray(x) - left) / (right - left) * 256,
                     (top - np.asarray(y)) / (top - bottom) * 256]
    return shapely.transform(geoms, transform)


# At zoom 12 a pixel is ~38 m: a patch of 0.2–2 ha has few pixels 2 px inside its edge.
@pytest.mark.parametrize(("zoom", "deep_pixels"), [(14, 1000), (13, 300), (12, 5)])
def test_farmland_map_tile_paints_the_patches_and_nothing_else(client, small_data, zoom, deep_pixels):
    """Pixels whose centres lie 2 px or more inside a fixture patch have the farmland fill; pixels
    2 px or more from every patch are transparent."""
    sign_in(client, Role.CITY_PLANNER)  # farmland is internal
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    tile = largest_feature_tile(small_data, "basic_farmland", "WebMercatorQuad", zoom)
    response = client.get(map_tile_path("basic_farmland", tile))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = pixels(response.content)
    near = patches_in_pixels(geoms, tile)
    near = near[shapely.intersects(near, shapely.box(-4, -4, 260, 260))]
    cols, rows = np.meshgrid(np.arange(256) + 0.5, np.arange(256) + 0.5)
    centres = shapely.points(cols.ravel(), rows.ravel())
    tree = shapely.STRtree(near)
    inside = np.zeros(len(centres), bool)
    point_idx, patch_idx = tree.query(centres, predicate="within")
    deep = shapely.distance(centres[point_idx], shapely.boundary(near[patch_idx])) >= 2
    inside[point_idx[deep]] = True
    far = ~np.isin(np.arange(len(centres)), tree.query(centres, predicate="dwithin", distance=2)[0])
    style = LAYER_STYLES["basic_farmland"]
    flat = image.reshape(-1, 4)
    assert inside.sum() > deep_pixels and far.sum() > 300, (inside.sum(), far.sum())
    # Filled in the fill colour, with the style's diagonal hatching every 8 pixels (col + row ≡ 7).
    hatch = ((cols.ravel() - 0.5 + rows.ravel() - 0.5) % 8 == 7)
    assert style["hatch"] == "diagonal"
    assert np.abs(flat[inside & ~hatch] - colour(style["fillColor"], style["fillOpacity"])).max() <= 1
    if (inside & hatch).sum() >= 4:  # a tile with few deep pixels may have no hatch line through them
        assert np.abs(flat[inside & hatch] - colour(style["hatchColor"], 0.85)).max() <= 1
        assert (inside & hatch).sum() > inside.sum() / 20
    assert (flat[far][:, 3] == 0).all()
    # The outline colour is there too, on the patches' edges.
    assert (np.abs(flat - colour(style["color"], 1.0)).max(axis=1) <= 1).sum() > 100


def test_map_tiles_follow_the_layer_access(server, client, small_data):
    tile = largest_feature_tile(small_data, "basic_farmland", "WebMercatorQuad", 12)
    path = map_tile_path("basic_farmland", tile)
    status, headers, body = fetch(server + path)  # anonymous: internal layers do not exist for them
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["code"] == "NotFound"
    sign_in(client, Role.APPLICANT)
    assert client.get(path).status_code == 404
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    seen = client.get(path)
    assert seen.status_code == 200 and seen["Cache-Control"].startswith("private")
    assert (pixels(seen.content)[:, :, 3] > 0).sum() > 1000
    client.logout()
    _, raw = make_token("map-tiles", interfaces=["ogc_read"], layers=["basic_farmland"])
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    _, other = make_token("map-tiles-other", interfaces=["ogc_read"])
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404


def test_restricted_map_tiles_are_audited(client, small_data):
    user = sign_in(client, Role.CITY_PLANNER)
    tile = largest_feature_tile(small_data, "ecological_redline", "WebMercatorQuad", 9)
    response = client.get(map_tile_path("ecological_redline", tile))
    assert response.status_code == 200 and (pixels(response.content)[:, :, 3] > 0).any()
    [entry] = AuditEntry.objects.filter(action="layer.read", actor=user.username)
    assert entry.target == "ecological_redline" and entry.bbox.endswith(f"{tile.z}/{tile.y}/{tile.x}")
    client.get(map_tile_path("basic_farmland", tile))  # internal: not audited
    assert AuditEntry.objects.filter(action="layer.read", actor=user.username).count() == 1


def test_etag_answers_304(server, small_data):
    tile = largest_feature_tile(small_data, "water_body", "WebMercatorQuad", 10)
    url = server + map_tile_path("water_body", tile)
    status, headers, body = fetch(url)
    assert status == 200 and headers["Cache-Control"] == "public, max-age=300" and body
    again = fetch(url, {"If-None-Match": headers["ETag"]})
    assert again[0] == 304 and again[2] == b""
    neighbour = morecantile.Tile(tile.x + 1, tile.y, tile.z)
    assert fetch(server + map_tile_path("water_body", neighbour))[1]["ETag"] != headers["ETag"]
    # The vector tile of the same address is another resource with another tag.
    vector = fetch(url.replace("/map/tiles/", "/tiles/"))[1]["ETag"]
    assert vector != headers["ETag"]


def test_tiles_without_features_are_transparent(server):
    far_away = TMS.tile(10.0, 50.0, 10)  # Germany: outside the layer
    status, headers, body = fetch(server + map_tile_path("water_body", far_away))
    assert status == 200 and headers["Content-Type"] == "image/png" and headers["ETag"]
    assert (pixels(body)[:, :, 3] == 0).all()


def test_world_crs84_quad_map_tiles(server, small_data):
    tile = largest_feature_tile(small_data, "water_body", "WorldCRS84Quad", 9)
    status, _, body = fetch(server + map_tile_path("water_body", tile, "WorldCRS84Quad"))
    assert status == 200 and (pixels(body)[:, :, 3] > 0).sum() > 100


@pytest.mark.parametrize(("path", "status", "code"), [
    ("water_body/map/tiles/WebMercatorQuad/a/1/1", 400, "InvalidParameterValue"),
    ("water_body/map/tiles/WebMercatorQuad/5/1.5/1", 400, "InvalidParameterValue"),
    ("water_body/map/tiles/WebMercatorQuad/5/1/1?f=jpeg", 400, "InvalidParameterValue"),
    ("water_body/map/tiles/WebMercatorQuad/5/32/1", 404, "NotFound"),
    ("water_body/map/tiles/WebMercatorQuad/-1/0/0", 404, "NotFound"),
    ("water_body/map/tiles/NoSuchMatrixSet/5/1/1", 404, "NotFound"),
    ("no_such_layer/map/tiles/WebMercatorQuad/5/1/1", 404, "NotFound"),
    ("blue_marble/map/tiles/WebMercatorQuad/x/0/0", 400, "InvalidParameterValue"),
])
def test_bad_map_tile_requests_are_ogc_exceptions(server, path, status, code):
    got, headers, body = fetch(f"{server}/ogc/collections/{path}")
    assert got == status and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["code"] == code and "(" in json.loads(body)["description"]


def test_map_tilesets_are_listed_and_linked(server, small_data):
    status, _, body = fetch(f"{server}/ogc/collections/water_body?f=json")
    links = [link for link in json.loads(body)["links"] if link["rel"].endswith("/tilesets-map")]
    assert status == 200 and links
    status, _, body = fetch(links[0]["href"])
    sets = json.loads(body)["tilesets"]
    assert status == 200 and {s["tileMatrixSetURI"].rsplit("/", 1)[1] for s in sets} == {
        "WebMercatorQuad", "WorldCRS84Quad"}
    template = next(s for s in sets if s["tileMatrixSetURI"].endswith("WebMercatorQuad"))["links"][0]["href"]
    tile = largest_feature_tile(small_data, "water_body", "WebMercatorQuad", 10)
    url = template.format(tileMatrix=tile.z, tileRow=tile.y, tileCol=tile.x)
    status, headers, body = fetch(url)
    assert status == 200 and headers["Content-Type"] == "image/png" and (pixels(body)[:, :, 3] > 0).any()
