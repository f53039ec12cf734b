"""一张蓝图 browser page: layers from vector tiles (project sites by bounding box), legend toggles,
attributes on a click, coordinates, measuring."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from tests.compliance import oracle
from tests.layers.helpers import CGCS2000_GEOD, geod_area

pytestmark = pytest.mark.django_db


def paths(page, slug: str) -> int:
    """SVG paths of a layer drawn by bounding box (project sites)."""
    return page.locator(f"path.bp-layer-{slug}").count()


def drawn(page, slug: str) -> list[dict]:
    """The loaded vector tiles of a layer: their address and the feature ids drawn in each."""
    return page.evaluate("slug => BP.layers[slug].drawn()", slug)


def images(page, slug: str) -> list[dict]:
    """The loaded PNG map tiles of a layer: their addresses."""
    return page.evaluate("slug => BP.layers[slug].images()", slug)


def drawn_ids(page, slug: str) -> set[int]:
    return {fid for tile in drawn(page, slug) for fid in tile["ids"]}


def fixture_fids(folder, slug: str) -> np.ndarray:
    """The GeoPackage feature ids of a fixture layer (the ids the import keeps), in file order."""
    return pyogrio.raw.read(str(folder / f"{slug}.gpkg"), return_fids=True)[1]


def farm_tile(folder, z: int = 12) -> str:
    """z/y/x of the Web-Mercator tile holding the first farmland patch of the fixture."""
    point = oracle.layer_features(folder, "basic_farmland")[0][0].representative_point()
    n = 2 ** z
    row = (1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n
    return f"{z}/{int(row)}/{int((point.x + 180) / 360 * n)}"


def tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a Web-Mercator tile grown by `margin` tiles on each side."""
    n = 2 ** z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    west, east = (x - margin) / n * 360 - 180, (x + 1 + margin) / n * 360 - 180
    return west, lat(y + 1 + margin), east, lat(y - margin)


def legend_checkbox(page, title: str):
    return page.locator(".bp-legend label", has_text=title).locator("input")


def screen_xy(page, lat: float, lon: float) -> list[float]:
    """Where on the screen the map shows (lat, lon)."""
    return page.evaluate("([lat, lon]) => { const p = BP.map.latLngToContainerPoint([lat, lon]);"
                         " const r = BP.map.getContainer().getBoundingClientRect();"
                         " return [p.x + r.left, p.y + r.top]; }", [lat, lon])


def set_view(watch, lat: float, lon: float, zoom: int) -> None:
    watch.page.evaluate(f"BP.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    watch.page.wait_for_timeout(100)
    watch.wait_idle()


def test_staff_sees_internal_layers_in_the_legend_and_all_districts(staff, small_data):
    page = staff.page
    staff.wait_idle()
    legend = page.locator(".bp-legend").inner_text()
    for title in ["行政区划", "永久基本农田", "城镇开发边界", "城镇空间", "农业空间", "生态空间",
                  "水域", "项目选址", "空白底图"]:
        assert title in legend
    assert "生态保护红线" not in legend  # restricted: the city level only
    # The page opens on the districts' extent: every district is in the tiles drawn.
    assert drawn_ids(page, "admin_district") == set(fixture_fids(small_data, "admin_district"))
    sites = json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"]
    assert paths(page, "project_site") == len(sites)
    boundaries = drawn_ids(page, "urban_development_boundary")
    assert boundaries and boundaries <= set(fixture_fids(small_data, "urban_development_boundary"))
    # Dense: farmland is shown from zoom 10 on (as map tiles up to zoom 12).
    district = oracle.layer_features(small_data, "admin_district")[0][0].representative_point()
    set_view(staff, district.y, district.x, 9)
    assert drawn(page, "basic_farmland") == [] and images(page, "basic_farmland") == []
    assert page.locator(".bp-tiles-basic_farmland canvas").count() == 0
    assert "放大后显示" in page.locator('[data-bp-status="basic_farmland"]').inner_text()


def test_anonymous_visitors_see_public_layers_only(watched, small_data):
    page = watched.page
    page.goto("/maps/")
    watched.wait_idle()
    legend = page.locator(".bp-legend").inner_text()
    assert "行政区划" in legend and "水域" in legend
    for hidden in ["生态保护红线", "永久基本农田", "城镇开发边界", "项目选址"]:
        assert hidden not in legend
    answer = page.request.get("/maps/data/basic_farmland?bbox=116,35,117,36&zoom=12")
    assert answer.status == 404 and answer.headers["content-type"] == "application/problem+json"
    tile = f"/ogc/collections/basic_farmland/tiles/WebMercatorQuad/{farm_tile(small_data)}"
    assert page.request.get(tile).status == 404


def test_toggling_a_layer_in_the_legend(staff, small_data):
    page = staff.page
    staff.wait_idle()
    districts = set(fixture_fids(small_data, "admin_district"))
    assert drawn_ids(page, "admin_district") == districts
    legend_checkbox(page, "行政区划").uncheck()
    assert page.locator(".bp-tiles-admin_district canvas").count() == 0
    assert drawn(page, "admin_district") == []
    legend_checkbox(page, "行政区划").check()
    staff.wait_idle()
    assert drawn_ids(page, "admin_district") == districts


def _farmland_view(staff, small_data):
    """Open a dense farmland area at zoom 15; the fixture's patches, ids and ellipsoidal areas."""
    geoms, props = oracle.layer_features(small_data, "basic_farmland")
    centre = geoms[len(geoms) // 2].representative_point()
    set_view(staff, centre.y, centre.x, 15)
    areas = np.array([geod_area(g) for g in geoms])
    return geoms, props, fixture_fids(small_data, "basic_farmland"), areas, centre


def test_farmland_is_drawn_completely_from_vector_tiles(staff, small_data):
    """Zoomed in, each farmland tile holds every patch that meets it and is at least a few screen
    pixels large, and nothing from farther than the tile's buffer; together they cover the view."""
    page = staff.page
    staff.wait_idle()
    geoms, _, fids, areas, _ = _farmland_view(staff, small_data)
    tiles = drawn(page, "basic_farmland")
    assert tiles and all(tile["z"] == 15 for tile in tiles)
    assert page.locator(".bp-tiles-basic_farmland canvas.leaflet-tile-loaded").count() == len(tiles)
    required_total = 0
    for tile in tiles:
        z, x, y = tile["z"], tile["x"], tile["y"]
        west, south, east, north = tile_bounds(z, x, y)
        mid = (south + north) / 2
        pixel = CGCS2000_GEOD.inv(west, mid, west + (east - west) / 256, mid)[2]  # a 256-px screen pixel, m
        inner = shapely.box(*tile_bounds(z, x, y, -0.01))
        outer = shapely.box(*tile_bounds(z, x, y, 256 / 4096 + 0.01))
        required = set(fids[shapely.intersects(geoms, inner) & (areas >= 4 * pixel ** 2)])
        allowed = set(fids[shapely.intersects(geoms, outer)])
        ids = set(tile["ids"])
        assert required <= ids, f"tile {z}/{y}/{x} misses patches {sorted(required - ids)[:10]}"
        assert ids <= allowed, f"tile {z}/{y}/{x} holds patches from elsewhere {sorted(ids - allowed)[:10]}"
        required_total += len(required)
    view = page.evaluate("(() => { const b = BP.map.getBounds();"
                         " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
    in_view = set(fids[shapely.intersects(geoms, shapely.box(*view)) & (areas >= 100)])
    assert required_total > 50 and len(in_view) > 50
    assert in_view <= drawn_ids(page, "basic_farmland")
    assert page.locator('[data-bp-status="basic_farmland"]').inner_text() == ""  # nothing truncated


MAP_TILE = re.compile(r"/ogc/collections/basic_farmland/map/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)$")
PAINTED = """img => { const c = document.createElement("canvas"); c.width = c.height = 256;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, 256, 256).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n += 1; } } return n; }"""


def test_farmland_comes_as_map_tiles_below_zoom_13(staff, small_data):
    """At zoom 10–12 farmland is drawn by the server (PNG map tiles, one image per tile, no vector
    tile of it requested); from zoom 13 from its vector tiles."""
    page = staff.page
    staff.wait_idle()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    geoms = oracle.layer_features(small_data, "basic_farmland")[0]
    centre = geoms[len(geoms) // 2].representative_point()
    for zoom in (10, 11, 12):
        set_view(staff, centre.y, centre.x, zoom)
        tiles = images(page, "basic_farmland")
        assert tiles and {t["z"] for t in tiles} == {zoom}
        assert drawn(page, "basic_farmland") == []
        loaded = page.locator(".bp-maptiles-basic_farmland img.leaflet-tile-loaded")
        assert loaded.count() == len(tiles)
        sources = {tuple(map(int, MAP_TILE.search(src).groups())) for src in
                   loaded.evaluate_all("imgs => imgs.map(i => i.src)")}
        assert sources == {(t["z"], t["y"], t["x"]) for t in tiles}
        painted = [loaded.nth(i).evaluate(PAINTED) for i in range(loaded.count())]
        assert max(painted) > 500  # the patches are on the tiles (their pixels: tests/api/test_map_tiles.py)
        assert page.locator('[data-bp-status="basic_farmland"]').inner_text() == ""
    assert not any("/ogc/collections/basic_farmland/tiles/" in url for url in requested)
    # On the plain background (no imagery layer to lift Leaflet's zoom limit) zoom 13 is still reached.
    page.locator(".bp-legend label", has_text="空白底图").locator("input").check()
    set_view(staff, centre.y, centre.x, 13)
    assert page.evaluate("BP.map.getZoom()") == 13
    assert drawn(page, "basic_farmland") and images(page, "basic_farmland") == []
    assert page.locator(".bp-maptiles-basic_farmland img").count() == 0


def test_clicking_a_farmland_patch_at_zoom_12_shows_its_attributes(staff, small_data):
    """Drawn as an image at zoom 12, a patch still answers a click with its attributes."""
    page = staff.page
    staff.wait_idle()
    geoms, props = oracle.layer_features(small_data, "basic_farmland")
    patch = int(np.argmax(shapely.area(geoms)))
    point = geoms[patch].representative_point()
    set_view(staff, point.y, point.x, 12)
    assert images(page, "basic_farmland")
    page.mouse.click(*screen_xy(page, point.y, point.x))
    section = page.locator('.bp-popup .bp-popup-feature[data-slug="basic_farmland"]')
    section.wait_for()
    text = section.inner_text()
    assert str(props[patch]["TBBH"]) in text and str(props[patch]["BSM"]) in text
    shown = float(re.search(r"([\d,]+\.\d+) 平方米", text).group(1).replace(",", ""))
    assert shown == pytest.approx(geod_area(geoms[patch]), abs=0.01)
    page.wait_for_timeout(300)  # the popup's fade-in, for the screenshot


def test_clicking_a_farmland_patch_shows_its_attributes(staff, small_data):
    """A click looks the patch up (all its attributes, its area) although the tiles are canvas."""
    page = staff.page
    staff.wait_idle()
    geoms, props, _, areas, centre = _farmland_view(staff, small_data)
    patch = int(np.flatnonzero(shapely.contains(geoms, centre))[0])
    page.mouse.click(*screen_xy(page, centre.y, centre.x))
    section = page.locator('.bp-popup .bp-popup-feature[data-slug="basic_farmland"]')
    section.wait_for()
    text = section.inner_text()
    assert page.locator('.bp-popup .bp-popup-feature[data-slug="basic_farmland"]').count() == 1
    for field in ("BSM", "ZLDWMC", "DLMC", "TBBH"):
        assert str(props[patch][field]) in text
    assert "图斑编号" in text and "地类名称" in text
    shown = float(re.search(r"([\d,]+\.\d+) 平方米", text).group(1).replace(",", ""))
    assert shown == pytest.approx(areas[patch], abs=0.01)
    # The districts it lies in (city and county) are in the same popup, and no other.
    districts, district_props = oracle.layer_features(small_data, "admin_district")
    homes = sorted(str(district_props[i]["XZQDM"])
                   for i in np.flatnonzero(shapely.contains(districts, centre)))
    shown = page.locator('.bp-popup .bp-popup-feature[data-slug="admin_district"]').all_inner_texts()
    assert len(homes) == len(shown) == 2
    assert sorted(re.search(r"行政区代码\s*(\d+)", t).group(1) for t in shown) == homes
    # The smallest first: the patch, then its county, then its city.
    order = page.locator(".bp-popup .bp-popup-feature").evaluate_all("s => s.map(x => x.dataset.slug)")
    assert order[0] == "basic_farmland" and order[-1] == "admin_district"
    page.wait_for_timeout(300)  # the popup's fade-in, for the screenshot


def test_vector_tiles_follow_the_signed_in_session(staff, small_data):
    """The page's tiles come from the OGC tile route, which reads the page's session as /maps/data does."""
    staff.wait_idle()
    tile = farm_tile(small_data)
    tiles = "/ogc/collections/{}/tiles/WebMercatorQuad/" + tile
    assert staff.page.request.get(tiles.format("basic_farmland")).status == 200
    # The restricted red line is the city level's: a county planner gets no tile of it.
    assert staff.page.request.get(tiles.format("ecological_redline")).status == 404


def test_an_applicant_gets_no_tiles_of_internal_layers(applicant, small_data):
    """Signed in as an applicant (public layers only): no internal layer in the legend or the page's
    requests, and the tile route refuses them with the same session."""
    page = applicant.page
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/maps/")
    applicant.wait_idle()
    legend = page.locator(".bp-legend").inner_text()
    assert "行政区划" in legend and "永久基本农田" not in legend and "城镇开发边界" not in legend
    assert any("/ogc/collections/admin_district/tiles/" in url for url in requested)
    assert not any(f"/ogc/collections/{slug}/" in url for url in requested
                   for slug in ("basic_farmland", "urban_development_boundary", "ecological_redline"))
    tiles = "/ogc/collections/{}/tiles/WebMercatorQuad/" + farm_tile(small_data)
    assert page.request.get(tiles.format("admin_district")).status in (200, 204)
    for internal in ("basic_farmland", "urban_development_boundary", "ecological_redline"):
        assert page.request.get(tiles.format(internal)).status == 404


def _clear_point(small_data):
    """A point inside a district that no other layer shown by default covers."""
    districts, props = oracle.layer_features(small_data, "admin_district")
    others = np.concatenate([oracle.layer_features(small_data, slug)[0] for slug in
                             ["ecological_redline", "urban_development_boundary", "water_body"]])
    for geom, prop in zip(districts, props, strict=True):
        point = geom.representative_point()
        if not shapely.intersects(others, point.buffer(0.01)).any():
            return point, prop
    raise AssertionError("no district point clear of the other layers")


def test_clicking_a_district_shows_its_attributes(staff, small_data):
    page = staff.page
    staff.wait_idle()
    point, prop = _clear_point(small_data)
    set_view(staff, point.y, point.x, 11)
    page.mouse.click(*screen_xy(page, point.y, point.x))
    popup = page.locator(".bp-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert prop["XZQMC"] in text and str(prop["XZQDM"]) in text and "行政区代码" in text
    assert "亩" in text


def test_pointer_coordinates_agree_with_the_server(staff):
    """The page's Gauss–Krüger figures match layers/crs.py (pyproj) to the millimetre."""
    from layers import crs

    page = staff.page
    staff.wait_idle()
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(110.6, 117.9, 60), rng.uniform(31.0, 36.5, 60)
    ours = page.evaluate("pts => pts.map(p => BP.gk.forward(p[0], p[1]))",
                         [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)])
    for lon, lat, got in zip(lons, lats, ours, strict=True):
        zone = round(lon / 3)
        assert got["zone"] == zone
        prefixed = crs.from_cgcs2000(shapely.Point(lon, lat), crs.gauss_kruger(zone, prefixed=True).srid)
        assert got["yPrefixed"] == pytest.approx(prefixed.x, abs=1e-3)
        assert got["x"] == pytest.approx(prefixed.y, abs=1e-3)
    # And what the pointer readout shows where the mouse is.
    box = page.locator(".folium-map").bounding_box()
    page.mouse.move(box["x"] + 500, box["y"] + 400)
    latlng = page.evaluate("(() => { const r = BP.map.getContainer().getBoundingClientRect();"
                           f" const ll = BP.map.containerPointToLatLng([{box['x']} + 500 - r.left,"
                           f" {box['y']} + 400 - r.top]); return [ll.lng, ll.lat]; }})()")
    text = page.locator("#bp-pointer").inner_text()
    zone = round(latlng[0] / 3)
    expected = Transformer.from_crs(4490, 4513 + zone - 25, always_xy=True).transform(*latlng)
    assert f"{zone} 带" in text
    assert f"X {expected[1]:.2f}" in text and f"Y {expected[0]:.2f}" in text


def test_measures_agree_with_the_server(staff):
    """Distances and areas on the CGCS2000 ellipsoid, as crs.ellipsoidal_area_m2 and Geod give."""
    from layers import crs

    page = staff.page
    staff.wait_idle()
    rng = np.random.default_rng(11)
    for _ in range(20):
        lon, lat = rng.uniform(111, 117.5), rng.uniform(31, 36)
        ring = [(lon + dx, lat + dy) for dx, dy in rng.uniform(-0.05, 0.05, (6, 2))]
        polygon = shapely.Polygon(ring).convex_hull
        points = [list(p) for p in polygon.exterior.coords[:-1]]
        area = page.evaluate("pts => BP.measure.area(pts)", points)
        # Straight lon/lat edges, the server's one edge model: Geod on the edges cut into 0.005°
        # steps; the server measures the same polygon by an equal-area projection.
        assert area == pytest.approx(geod_area(shapely.segmentize(polygon, crs.EDGE_STEP_DEGREES)), rel=1e-9)
        assert area == pytest.approx(crs.ellipsoidal_area_m2(polygon), rel=1e-6)
        line = points[:4]
        distance = page.evaluate("pts => BP.measure.distance(pts)", line)
        expected = sum(crs.geodesic_distance_m(*a, *b) for a, b in zip(line[:-1], line[1:], strict=True))
        assert distance == pytest.approx(expected, rel=1e-12)
        assert distance == pytest.approx(CGCS2000_GEOD.line_length(*zip(*line, strict=True)), rel=1e-9)


def test_measuring_an_area_by_clicking(staff):
    page = staff.page
    staff.wait_idle()
    set_view(staff, 35.4, 116.6, 14)
    # Corners clear of the legend (top right), which would take a click.
    staff.click_polygon("[data-measure=area]", [(420, 330), (700, 350), (680, 620), (440, 580)])
    page.wait_for_function("() => BP.lastMeasure !== null")
    result = page.evaluate("BP.lastMeasure")
    from layers import crs

    assert len(result["points"]) == 4
    drawn = shapely.Polygon(result["points"])
    straight_edges = shapely.segmentize(drawn, crs.EDGE_STEP_DEGREES)
    assert result["m2"] == pytest.approx(geod_area(straight_edges), rel=1e-9)
    assert result["m2"] == pytest.approx(crs.ellipsoidal_area_m2(drawn), rel=1e-6)
    shown = page.locator("#bp-measure-result").inner_text()
    assert "平方米" in shown and "亩" in shown and "公顷" in shown
    assert f"{result['m2']:,.2f}" in shown


def test_every_default_layer_is_drawn(watched):
    """The opening view: every default layer loaded and drawn, none failed (its time is measured
    by bench/maps_ready_bench.py, not asserted here: a shared machine's load is no verdict)."""
    page = watched.page
    page.goto("/maps/")
    watched.wait_idle()
    assert page.evaluate("BP.readyAt") is not None  # set when the last default layer is drawn
    shown = page.evaluate("Object.values(BP.layers).filter(l => BP.map.hasLayer(l.group))"
                          ".map(l => [l.def.slug, l.status || ''])")
    slugs = {slug for slug, _ in shown}
    assert {"admin_district", "water_body"} <= slugs, shown
    assert not [slug for slug, status in shown if status == "error"], shown
