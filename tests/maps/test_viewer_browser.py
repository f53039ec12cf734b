"""The viewer in Chromium, on a desktop and a phone, in Chinese and English: the map first and the
panel a drawer on a phone, the legend's groups and opacity, the basemap, the clicked feature
highlighted, measuring while drawing, locating, imagery comparison. Screenshots in artifacts/."""

from __future__ import annotations

import re

import pytest
import shapely

from tests.layers.helpers import CGCS2000_GEOD
from tests.maps.conftest import STAFF, sign_in_page
from tests.maps.test_browser import _clear_point, screen_xy, set_view

pytestmark = pytest.mark.django_db
PHONE = {"width": 390, "height": 844}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_phone_map_first_and_the_panel_a_drawer(watched_factory, staff_user, small_data):
    watch = watched_factory(viewport=PHONE, mobile=True)
    page = watch.page
    sign_in_page(watch, STAFF, "/accounts/login/", "/maps/")
    watch.wait_idle()
    assert page.evaluate("window.innerWidth") == 390  # the viewport tag: not rendered 980 px wide
    map_box = page.locator(".folium-map").bounding_box()
    assert map_box["width"] >= 389 and map_box["height"] > 700  # the map takes the screen
    handle = page.locator("#bp-drawer-handle")
    panel = page.locator("#bp-panel")
    closed = panel.bounding_box()
    assert closed["y"] > 844 - 60  # only the drawer's handle shows
    assert page.locator("#bp-nav-links").is_hidden()
    handle.tap()
    page.wait_for_timeout(400)
    opened = panel.bounding_box()
    assert opened["y"] < 844 - 200 and page.locator(".bp-panel h1").is_visible()
    handle.tap()
    page.wait_for_timeout(400)
    # The legend folds to its title; a tap opens it with its groups.
    legend = page.locator("#bp-legend")
    assert legend.locator("fieldset").first.is_hidden()
    legend.locator(".bp-legend-head").tap()
    assert legend.locator('fieldset[data-group="control"]').is_visible()
    legend.locator(".bp-legend-head").tap()
    # A popup fits the screen.
    point, _ = _clear_point(small_data)
    set_view(watch, point.y, point.x, 11)
    page.touchscreen.tap(*screen_xy(page, point.y, point.x))
    popup = page.locator(".leaflet-popup")
    popup.wait_for()
    page.wait_for_timeout(300)
    box = popup.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.locator("#bp-menu-toggle").tap()
    assert page.locator("#bp-nav-links").is_visible()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_desktop_legend_groups_basemap_and_language(watched_factory, staff_user, small_data, language):
    watch = watched_factory(language=language, suffix=f"-{language}")
    page = watch.page
    sign_in_page(watch, STAFF, "/accounts/login/", "/maps/")
    watch.wait_idle()
    groups = page.locator("#bp-legend fieldset legend").all_inner_texts()
    if language == "en":
        assert groups == ["Basemap", "Base", "Three zones, three lines", "Projects", "Imagery"]
        chrome = page.locator(".bp-nav").inner_text() + page.locator(".bp-panel").inner_text() + \
            page.locator("#bp-legend").inner_text()
        assert not CJK.search(chrome.replace("中文", "")), CJK.findall(chrome)
    else:
        assert groups == ["底图", "基础", "三区三线", "项目", "影像"]
        assert "Layers" not in page.locator("#bp-legend").inner_text()
    # The offline basemap is on and drawn (our own tiles), imagery off.
    assert page.evaluate("BP.basemap") == "offline"
    tiles = page.locator(".bp-basemap-offline img.leaflet-tile-loaded")
    assert tiles.count() > 0
    assert all("/maps/basemap/" in src for src in tiles.evaluate_all("imgs => imgs.map(i => i.src)"))
    assert page.locator(".bp-imagery").count() == 0
    # A group's opacity reaches its layers' tiles.
    slider = page.locator('input[data-bp-opacity="control"]')
    slider.fill("40")
    opacity = page.evaluate("getComputedStyle(BP.layers.urban_development_boundary.vector.getContainer())"
                            ".opacity")
    assert float(opacity) == pytest.approx(0.4)
    # The development boundary is dashed and the farmland hatched in the legend, as on the map.
    assert page.locator('.bp-legend-item[data-slug="urban_development_boundary"] .bp-swatch').evaluate(
        "s => s.style.borderStyle") == "dashed"
    assert page.locator('.bp-legend-item[data-slug="basic_farmland"] .bp-swatch').get_attribute(
        "data-hatch") == "diagonal"


def test_a_clicked_feature_is_highlighted_and_a_project_links_to_its_page(staff, small_data):
    page = staff.page
    staff.wait_idle()
    point, prop = _clear_point(small_data)
    set_view(staff, point.y, point.x, 11)
    page.mouse.click(*screen_xy(page, point.y, point.x))
    page.locator(".bp-popup").wait_for()
    assert page.locator("path.bp-selected-feature").count() == 1
    assert page.evaluate("BP.selected.properties.XZQDM") == prop["XZQDM"]
    text = page.locator(".bp-popup").inner_text()
    assert "XZQMC" not in text and "行政区名称" in text
    page.evaluate("BP.map.closePopup()")
    assert page.locator("path.bp-selected-feature").count() == 0
    # A project site: its popup links to the project's page.
    import json

    site = json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"][0]
    shape = shapely.geometry.shape(site["geometry"])
    inner = shape.representative_point()
    set_view(staff, inner.y, inner.x, 16)
    page.mouse.click(*screen_xy(page, inner.y, inner.x))
    link = page.locator(".bp-popup a.bp-popup-link")
    link.wait_for()
    assert link.get_attribute("href") == f"/maps/projects/{site['properties']['XMDM']}"
    text = page.locator(".bp-popup").inner_text()
    assert "revision" not in text and "用地红线版本" in text and "统一项目代码" in text


def test_measuring_shows_the_length_so_far_and_how_to_finish(staff):
    page = staff.page
    staff.wait_idle()
    set_view(staff, 35.4, 116.6, 14)
    box = page.locator(".folium-map").bounding_box()
    page.click("[data-measure=line]")
    assert "单击最后一点" in page.locator("#bp-measure-result").inner_text()
    corners = [(420, 330), (700, 350), (680, 620)]
    for x, y in corners:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)
    page.mouse.move(box["x"] + 500, box["y"] + 650)
    running = page.evaluate("BP.runningMeasure")
    assert running and len(running["points"]) == 4  # three clicked and the pointer
    lons, lats = zip(*running["points"], strict=True)
    expected = CGCS2000_GEOD.line_length(lons, lats)
    shown = page.locator("#bp-measure-result").inner_text()
    assert "当前" in shown and f"{expected:,.2f}" in shown
    page.mouse.click(box["x"] + 680, box["y"] + 620)  # the last point again: done
    page.wait_for_function("() => BP.lastMeasure !== null")
    # An area: its perimeter too.
    staff.click_polygon("[data-measure=area]", [(420, 330), (700, 350), (680, 620), (440, 580)])
    page.wait_for_function("() => BP.lastMeasure && BP.lastMeasure.kind === 'polygon'")
    result = page.evaluate("BP.lastMeasure")
    lons, lats = zip(*(result["points"] + result["points"][:1]), strict=True)
    perimeter = CGCS2000_GEOD.line_length(lons, lats)
    assert result["perimeter"] == pytest.approx(perimeter, rel=1e-9)
    assert f"周长 {perimeter:,.2f}" in page.locator("#bp-measure-result").inner_text()


def test_locating_defaults_the_zone_clears_on_not_found_and_checks_a_parcel(watched_factory, staff_user,
                                                                            small_data):
    watch = watched_factory()
    page = watch.page
    sign_in_page(watch, STAFF, "/accounts/login/", "/maps/locate")
    watch.wait_idle()
    # The staff user's first district is 济宁 (370800, ~116.6°E): zone 39, whatever the map centre.
    assert page.input_value("#bp-zone") == "39"
    centre, _ = _clear_point(small_data)
    ring = shapely.box(centre.x, centre.y, centre.x + 0.003, centre.y + 0.002)
    from pyproj import Transformer

    zone = round(ring.centroid.x / 3)
    to_gk = Transformer.from_crs(4490, 4513 + zone - 25, always_xy=True)  # eastings with the zone prefix
    points = [to_gk.transform(x, y) for x, y in ring.exterior.coords[:-1]]
    lines = "\n".join(f"J{i + 1},1,{n:.3f},{e:.3f}" for i, (e, n) in enumerate(points))
    page.fill("#bp-q", lines)
    page.click("#bp-locate-go")
    page.locator('.bp-result[data-kind="site"]').wait_for()
    assert page.locator("path.bp-highlight").count() == 1
    page.fill("#bp-q", "没有这个地方XYZ")
    page.click("#bp-locate-go")
    page.locator(".bp-message-error").wait_for()
    said = page.locator(".bp-message-error").inner_text()
    assert "没有找到" in said and "Nothing found" not in said  # the page's language only
    assert page.locator(".bp-result").count() == 0 and page.locator("path.bp-highlight").count() == 0
    assert page.locator("#bp-result-districts").inner_text() == ""
    page.fill("#bp-q", lines)
    page.click("#bp-locate-go")
    page.locator("#bp-check-parcel").click()
    page.wait_for_url("**/maps/preview?site=located")
    watch.wait_idle()
    page.click("#bp-run")
    page.locator("#bp-verdict").wait_for(timeout=30_000)
    site = shapely.geometry.shape(page.evaluate("BP.lastCheck.site"))
    assert shapely.hausdorff_distance(site, ring) < 1e-7  # the TXT's millimetres: ~1 cm at most


def test_imagery_comparison_shows_two_dates_and_swipes(watched):
    page = watched.page
    page.goto("/maps/imagery")
    page.wait_for_function("() => window.BP && document.querySelectorAll('#bp-date-left option').length > 1")
    left, right = page.input_value("#bp-date-left"), page.input_value("#bp-date-right")
    assert left < right  # two different dates on arrival: the oldest left, the newest right
    assert page.input_value("#bp-imagery") == "hires_jining"
    page.wait_for_function("() => document.querySelector('.bp-imagery-left img.leaflet-tile-loaded')")
    sources = page.locator(".bp-imagery-left img").evaluate_all("imgs => imgs.map(i => i.src)")
    assert sources and all(f"date={left}" in s and "/hires_jining/" in s for s in sources)
    assert page.locator(".bp-basemap-offline").count() == 1  # the basemap under it, not Blue Marble
    assert page.locator('[src*="blue_marble"]').count() == 0
    assert page.locator("#bp-meta-left .bp-scene").first.get_attribute("data-acquired") == left
    assert page.locator("#bp-meta-right .bp-scene").first.get_attribute("data-acquired") == right
    page.select_option("#bp-compare-mode", "swipe")
    page.wait_for_timeout(300)
    assert page.locator("#bp-compare-right").is_hidden()
    page.wait_for_function("() => document.querySelector('.bp-imagery-right img.leaflet-tile-loaded')")
    clip = page.evaluate("document.querySelector('.bp-imagery-right').style.clip")
    assert clip.startswith("rect(")
    page.locator("#bp-swipe").fill("30")
    assert page.evaluate("document.querySelector('.bp-imagery-right').style.clip") != clip
    page.wait_for_timeout(300)


def test_english_pages_carry_no_chinese_chrome(watched_factory, applicant_user):
    """In English mode the map pages' menu, panel and legend hold no Chinese (the layer titles are
    the English ones); an applicant lands on their projects or the preview."""
    watch = watched_factory(language="en", suffix="-en")
    page = watch.page
    page.goto("/accounts/login/?next=/maps/start")
    page.fill("#id_username", "maps-applicant")
    page.fill("#id_password", "maps-applicant-pass-1")
    page.click("[type=submit]")
    page.wait_for_url(re.compile(r".*/maps/(preview|projects/?)$"))
    for path in ["/maps/", "/maps/locate", "/maps/imagery"]:
        page.goto(path)
        watch.wait_idle()
        text = " ".join(page.locator(sel).inner_text() for sel in (".bp-nav", ".bp-panel", "#bp-legend"))
        assert not CJK.search(text.replace("中文", "")), (path, CJK.findall(text))
