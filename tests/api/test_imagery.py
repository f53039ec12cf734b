"""Imagery over HTTP from a real gunicorn: tiles against the source GeoTIFFs read directly with
rasterio and pyproj (never against the code under test), mosaic order, caching, access, coverages."""

import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject

from layers.imagery import import_scene, scene_path
from layers.models import Scene
from layers.services import register_layer

pytestmark = pytest.mark.django_db
EARLY, LATE = "hires_jining_2023-04-18.tif", "hires_jining_2024-09-26.tif"
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
WORLD = 20037508.342789244


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def tile_of(lon, lat, z):
    x, y = TO_MERCATOR.transform(lon, lat)
    n = 2 ** z
    return int((x + WORLD) / (2 * WORLD) * n), int((WORLD - y) / (2 * WORLD) * n)


def expected_tile(source, z, x, y, indexes=(1, 2, 3)):
    """Nearest source pixel under each tile pixel centre, and whether the centre is inside."""
    size = 2 * WORLD / 2 ** z
    centres = (np.arange(256) + 0.5) * size / 256
    mx, my = np.meshgrid(-WORLD + x * size + centres, WORLD - y * size - centres)
    with rasterio.open(source) as src:
        to_src = Transformer.from_crs(3857, src.crs.to_epsg(), always_xy=True)
        sx, sy = to_src.transform(mx, my)
        cols, rows = ~src.transform @ (sx, sy)
        cols, rows = np.floor(cols).astype(int), np.floor(rows).astype(int)
        inside = (cols >= 0) & (cols < src.width) & (rows >= 0) & (rows < src.height)
        data = src.read(list(indexes))
    pixels = data[:, np.clip(rows, 0, src.height - 1), np.clip(cols, 0, src.width - 1)]
    return pixels, inside


def decode(blob):
    image = Image.open(io.BytesIO(blob)).convert("RGBA")
    array = np.asarray(image).transpose(2, 0, 1)
    return array[:3], array[3]


def source_box(source):
    with rasterio.open(source) as src:
        to_lonlat = Transformer.from_crs(src.crs.to_epsg(), 4326, always_xy=True)
        return to_lonlat.transform([src.bounds.left, src.bounds.right], [src.bounds.bottom, src.bounds.top])


def warped(source, z, x, y, indexes=(1, 2, 3), overview_level=None):
    """The source reprojected by rasterio.warp.reproject onto the tile's grid (nearest neighbour)."""
    size = 2 * WORLD / 2 ** z
    grid = from_origin(-WORLD + x * size, WORLD - y * size, size / 256, size / 256)
    out = np.zeros((len(indexes), 256, 256), np.uint8)
    options = {} if overview_level is None else {"overview_level": overview_level}
    with rasterio.open(source, **options) as src:
        reproject(rasterio.band(src, list(indexes)), out, dst_transform=grid, dst_crs="EPSG:3857",
                  resampling=Resampling.nearest)
    return out


def test_a_tile_is_the_source_resampled_once(server, small_data):
    source = small_data / "imagery" / EARLY
    (west, east), (south, north) = source_box(source)
    x, y = tile_of(west + 0.2 * (east - west), (south + north) / 2, 18)
    status, headers, blob = get(f"{server}/tiles/imagery/hires_jining/18/{x}/{y}.png?date=2023-12-31")
    assert status == 200 and headers["Content-Type"] == "image/png"
    rgb, alpha = decode(blob)
    assert (alpha == 255).all()
    # One nearest-neighbour warp from the source onto the tile's grid, as GDAL's reproject does it.
    assert np.array_equal(rgb, warped(source, 18, x, y))
    # And against exact PROJ coordinates of each pixel centre: GDAL's warper interpolates the
    # transformation (within 1/8 pixel), so a centre that close to a source pixel edge may differ
    # (measured: 0.01 % of pixels at z16–z18).
    expected, inside = expected_tile(source, 18, x, y)
    assert inside.all()
    assert (rgb == expected).all(axis=0).mean() > 0.999


def test_a_low_zoom_tile_comes_from_the_matching_overview(server, small_data):
    """At z14 a tile pixel is ~7.8 m on the ground: the COG's 4 m overview (the second, ×4) is the
    coarsest one still finer, and the tile is that overview warped once."""
    source = small_data / "imagery" / EARLY
    (west, east), (south, north) = source_box(source)
    x, y = tile_of((west + east) / 2, (south + north) / 2, 14)
    rgb, alpha = decode(get(f"{server}/tiles/imagery/hires_jining/14/{x}/{y}.png?date=2023-12-31")[2])
    scene = Scene.objects.get(layer__slug="hires_jining", acquired="2023-04-18")
    with rasterio.open(scene_path(scene)) as cog:
        assert cog.overviews(1)[:2] == [2, 4]
    expected = warped(scene_path(scene), 14, x, y, overview_level=1)
    opaque = alpha == 255
    assert 0.05 < opaque.mean() and np.array_equal(rgb[:, opaque], expected[:, opaque])


def test_transparent_outside_the_footprint(server, small_data):
    source = small_data / "imagery" / EARLY
    (west, east), (south, north) = source_box(source)
    x, y = tile_of(west, (south + north) / 2, 16)
    _, _, blob = get(f"{server}/tiles/imagery/hires_jining/16/{x}/{y}.png")
    _, alpha = decode(blob)
    _, inside = expected_tile(source, 16, x, y)
    assert 0.05 < inside.mean() < 0.95
    agree = (alpha == 255) == inside
    assert agree.mean() > 0.99
    status, _, _ = get(f"{server}/tiles/imagery/hires_jining/16/{x - 3}/{y}.png")
    assert status == 204  # no scene there at all


def _corr(rendered, expected, mask):
    """Mean per-band correlation (each band has its own display stretch)."""
    return np.mean([np.corrcoef(r[mask].astype(float), e[mask].astype(float))[0, 1]
                    for r, e in zip(rendered, expected, strict=True)])


def test_newest_scene_is_on_top_unless_a_date_is_chosen(server, small_data):
    early, late = small_data / "imagery" / EARLY, small_data / "imagery" / LATE
    (west, east), (south, north) = source_box(late)
    x, y = tile_of((west + east) / 2, (south + north) / 2, 16)
    url = f"{server}/tiles/imagery/hires_jining/16/{x}/{y}.png"
    newest, _ = decode(get(url)[2])
    chosen, _ = decode(get(url + "?date=2024-01-01")[2])
    expected_early, inside_early = expected_tile(early, 16, x, y)
    expected_late, inside_late = expected_tile(late, 16, x, y)
    both = inside_early & inside_late
    assert both.mean() > 0.9
    assert _corr(newest, expected_late, both) > 0.9 > _corr(newest, expected_early, both)
    assert _corr(chosen, expected_early, both) > 0.9 > _corr(chosen, expected_late, both)
    assert get(url + "?date=2004-01-01")[0] == 204


def test_formats_caching_and_errors(server):
    x, y = tile_of(116.55, 35.36, 15)
    for fmt, mime in (("png", "image/png"), ("jpg", "image/jpeg"), ("webp", "image/webp")):
        status, headers, blob = get(f"{server}/tiles/imagery/hires_jining/15/{x}/{y}.{fmt}")
        assert status == 200 and headers["Content-Type"] == mime
        assert Image.open(io.BytesIO(blob)).size == (256, 256)
        assert headers["Cache-Control"] == "public, max-age=3600"
        again = get(f"{server}/tiles/imagery/hires_jining/15/{x}/{y}.{fmt}",
                    {"If-None-Match": headers["ETag"]})
        assert again[0] == 304 and again[2] == b""
    status, headers, body = get(f"{server}/tiles/imagery/hires_jining/15/{x}/{y}.png?date=2024-13-01")
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert "YYYY-MM-DD" in json.loads(body)["detail"]
    assert get(f"{server}/tiles/imagery/hires_jining/3/9/1.png")[0] == 404
    assert get(f"{server}/tiles/imagery/water_body/15/{x}/{y}.png")[0] == 404


def test_scene_list(server, small_data):
    status, _, body = get(f"{server}/api/imagery/hires_jining/scenes")
    scenes = json.loads(body)
    assert status == 200 and [s["acquired"] for s in scenes] == ["2024-09-26", "2023-04-18"]
    (west, east), (south, north) = source_box(small_data / "imagery" / LATE)
    # The footprint is densified, so its bbox bulges past the corners by up to ~10 m.
    assert scenes[0]["bbox"] == pytest.approx([west, south, east, north], abs=3e-4)
    assert scenes[0]["bands"] == ["red", "green", "blue", "nir"] and scenes[0]["resolution_m"] == 0.8
    assert set(scenes[1]) == {"id", "acquired", "sensor", "resolution_m", "bbox", "bands"}
    hill = json.loads(get(f"{server}/api/imagery/hillshade/scenes")[2])
    assert len(hill) == 2 and hill[0]["bands"] == ["shade"]


@pytest.fixture(scope="module")
def restricted_imagery(django_db_blocker, small_data):
    """A restricted raster layer, committed so that the server sees it."""
    with django_db_blocker.unblock():
        register_layer("secret_imagery", "涉密影像", "Restricted imagery", kind="raster",
                       geometry_type="Raster", access_level="restricted")
        import_scene("secret_imagery", small_data / "imagery" / "blue_marble.tif")
    return "secret_imagery"


def test_hidden_layers_answer_404(server, restricted_imagery):
    x, y = tile_of(116.6, 35.4, 6)
    assert get(f"{server}/tiles/imagery/blue_marble/6/{x}/{y}.png")[0] == 200
    assert get(f"{server}/tiles/imagery/{restricted_imagery}/6/{x}/{y}.png")[0] == 404
    assert get(f"{server}/api/imagery/{restricted_imagery}/scenes")[0] == 404
    collections = json.loads(get(f"{server}/ogc/collections?f=json")[2])["collections"]
    ids = {c["id"] for c in collections}
    assert {"blue_marble", "hillshade", "hires_jining"} <= ids and restricted_imagery not in ids
    assert get(f"{server}/ogc/collections/{restricted_imagery}/coverage?f=GTiff")[0] == 404


def test_coverage_subset_bounds_and_values(server, small_data):
    late = small_data / "imagery" / LATE
    bbox = (116.545, 35.355, 116.552, 35.36)
    status, headers, blob = get(f"{server}/ogc/collections/hires_jining/coverage?f=GTiff"
                                f"&bbox={','.join(map(str, bbox))}&properties=1,4")
    assert status == 200 and headers["Content-Type"].startswith("image/tiff")
    with rasterio.open(io.BytesIO(blob)) as cut, rasterio.open(late) as src:
        assert cut.crs == src.crs and cut.count == 2 and cut.res == src.res
        to_gk = Transformer.from_crs(4326, 4548, always_xy=True)
        xs, ys = to_gk.transform([bbox[0], bbox[2], bbox[0], bbox[2]], [bbox[1], bbox[1], bbox[3], bbox[3]])
        assert cut.bounds.left == pytest.approx(min(xs), abs=src.res[0])
        assert cut.bounds.right == pytest.approx(max(xs), abs=src.res[0])
        assert cut.bounds.bottom == pytest.approx(min(ys), abs=src.res[1])
        assert cut.bounds.top == pytest.approx(max(ys), abs=src.res[1])
        window = rasterio.windows.from_bounds(*cut.bounds, transform=src.transform).round_offsets()
        expected = src.read([1, 4], window=rasterio.windows.Window(window.col_off, window.row_off,
                                                                   cut.width, cut.height))
        assert np.array_equal(cut.read(), expected)


def test_coverage_errors_are_ogc_exceptions(server):
    base = f"{server}/ogc/collections/hires_jining/coverage"
    status, _, body = get(f"{base}?f=GTiff&properties=9")
    assert status == 400 and "code" in json.loads(body)
    status, _, body = get(f"{base}?f=GTiff&bbox=100,20,130,50")
    assert status == 400 and "bbox" in json.loads(body)["description"]
    status, _, body = get(f"{base}?f=json")
    assert status == 400 and "GeoTIFF" in json.loads(body)["description"]


def test_ogc_map_tiles(server):
    status, _, body = get(f"{server}/ogc/collections/hires_jining/map/tiles")
    links = json.loads(body)["tilesets"][0]["links"]
    assert status == 200 and {link["type"] for link in links} == {"image/png", "image/jpeg", "image/webp"}
    x, y = tile_of(116.55, 35.36, 15)
    base = f"{server}/ogc/collections/hires_jining/map/tiles/WebMercatorQuad/15/{y}/{x}"
    status, headers, _ = get(f"{base}?f=webp")
    assert status == 200 and headers["Content-Type"] == "image/webp"
    xyz = get(f"{server}/tiles/imagery/hires_jining/15/{x}/{y}.png")[2]
    assert get(f"{base}?f=png")[2] == xyz
