"""项目定位: by project code, by Gauss–Krüger coordinates, by a pasted 界址坐标 TXT; project pages."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Transformer

from tests.compliance import oracle
from tests.layers.helpers import geod_area

pytestmark = pytest.mark.django_db


def first_project(small_data) -> dict:
    return json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"][0]


def search(watch, text: str, zone: int | None = None) -> None:
    page = watch.page
    page.goto("/maps/locate")
    watch.wait_idle()
    page.fill("#bp-q", text)
    if zone is not None:
        page.fill("#bp-zone", str(zone))
    page.click("#bp-locate-go")
    page.wait_for_selector(".bp-result.bp-selected, .bp-message-error")
    watch.wait_idle()


def counties(small_data):
    geoms, props = oracle.layer_features(small_data, "admin_district")
    return [(g, p) for g, p in zip(geoms, props, strict=True) if not str(p["XZQDM"]).endswith("00")]


def county_at(small_data, point) -> str:
    """The county containing `point`, by shapely on the source district file (not the service)."""
    hits = [str(p["XZQDM"]) for g, p in counties(small_data) if g.contains(point)]
    assert len(hits) == 1
    return hits[0]


def gauss_kruger(lon: float, lat: float) -> tuple[int, float, float]:
    """(zone, prefixed easting, northing) straight from pyproj, independent of layers/crs.py."""
    zone = round(lon / 3)
    easting, northing = Transformer.from_crs(4490, 4513 + zone - 25, always_xy=True).transform(lon, lat)
    return zone, easting, northing


def test_locating_a_project_by_its_code_highlights_its_site(staff, small_data):
    feature = first_project(small_data)
    code, name = feature["properties"]["XMDM"], feature["properties"]["XMMC"]
    search(staff, code)
    page = staff.page
    selected = page.locator(".bp-result.bp-selected")
    assert selected.get_attribute("data-code") == code and name in selected.inner_text()
    assert page.locator("path.bp-highlight").count() == 1
    site = shapely.geometry.shape(feature["geometry"])
    west, south, east, north = site.bounds
    inside = page.evaluate("b => BP.map.getBounds().contains(L.latLngBounds([b[1], b[0]], [b[3], b[2]]))",
                           [west, south, east, north])
    assert inside
    assert page.evaluate("BP.map.getZoom()") >= 13  # zoomed to the site, not left at the city
    assert feature["properties"]["XZQDM"] in page.locator("#bp-result-districts").get_attribute("data-codes")


@pytest.mark.parametrize("which", [0, -1])
def test_pasted_gauss_kruger_coordinates_land_in_the_right_district(watched, small_data, which):
    geom, _ = counties(small_data)[which]  # one county of Jining (zone 39), one of Xiangyang (zone 37)
    point = geom.representative_point()
    expected = county_at(small_data, point)
    zone, easting, northing = gauss_kruger(point.x, point.y)
    search(watched, f"X={northing:.3f}, Y={easting:.3f}")  # surveyors' order: X north, Y east
    codes = watched.page.locator("#bp-result-districts").get_attribute("data-codes").split(",")
    assert expected in codes
    assert f"{zone} 带" in watched.page.locator(".bp-result.bp-selected").inner_text()
    assert watched.page.locator("circle.bp-highlight, path.bp-highlight").count() == 1
    # The same point without the zone prefix, with the zone given beside it.
    search(watched, f"{northing:.3f} {easting - zone * 1e6:.3f}", zone=zone)
    assert expected in watched.page.locator("#bp-result-districts").get_attribute("data-codes").split(",")


def test_a_pasted_boundary_point_file_is_drawn_where_it_lies(watched, small_data):
    geom, _ = counties(small_data)[1]
    point = geom.representative_point()
    expected = county_at(small_data, point)
    zone, easting, northing = gauss_kruger(point.x, point.y)
    corners = [(northing, easting), (northing, easting + 80), (northing + 60, easting + 80),
               (northing + 60, easting), (northing, easting)]
    lines = "\n".join(f"J{i + 1},1,{x:.3f},{y:.3f}" for i, (x, y) in enumerate(corners))
    text = ("[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n"
            f"带号={zone}\n[地块坐标]\n5,0.48,1,测试地块,面,,建设用地,,@\n{lines}\n")
    search(watched, text)
    selected = watched.page.locator(".bp-result.bp-selected")
    assert selected.get_attribute("data-kind") == "site"
    back = Transformer.from_crs(4513 + zone - 25, 4490, always_xy=True)
    ring = shapely.Polygon([back.transform(y, x) for x, y in corners])
    assert f"{geod_area(ring):,.2f} 平方米" in selected.inner_text()  # 80 m × 60 m in the zone's plane
    assert expected in watched.page.locator("#bp-result-districts").get_attribute("data-codes").split(",")
    assert watched.page.locator("path.bp-highlight").count() == 1


def test_anonymous_visitors_cannot_search_projects(watched, small_data):
    name = first_project(small_data)["properties"]["XMMC"]
    search(watched, name)
    message = watched.page.locator(".bp-message-error").inner_text()
    assert "没有找到" in message and "登录" in message
    assert watched.page.locator(".bp-result").count() == 0
    watched.page.goto(f"/maps/projects/{first_project(small_data)['properties']['XMDM']}")
    assert "登录" in watched.page.locator("#bp-error").inner_text()
    watched.allow_console("status of 403")


def test_project_page_shows_revisions_and_checks(staff, small_data):
    code = first_project(small_data)["properties"]["XMDM"]
    page = staff.page
    page.goto(f"/maps/projects/{code}")
    staff.wait_idle()
    assert page.locator("#bp-project-code").inner_text() == code
    assert page.locator("#bp-revisions tr").count() >= 2  # header + at least the current revision
    assert page.locator("path.bp-highlight").count() == 1
    assert page.locator("#bp-checks").is_visible()
