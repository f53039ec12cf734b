"""The viewer around the map, without a browser: every page fit for a phone, words in the page's
language (no role codes, no slugs), the landing after sign-in, the jurisdiction a map opens on,
the one style registry (map, map tiles, PDF), Chinese field labels, the offline basemap."""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pytest
import shapely
from django.core.exceptions import ValidationError
from PIL import Image

from blueprint.models import Role
from compliance.mapsvg import site_map_svg
from compliance.reports import render_report_html
from compliance.services import run_check
from layers.models import Layer
from layers.styles import labelled_attributes, layer_style, validate_field_labels, validate_style
from tests.compliance import oracle
from tests.roles import make_person, sign_in

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")
VIEWPORT = re.compile(r'<meta name="viewport" content="width=device-width, initial-scale=1(\.0)?">')


def config_of(page: str) -> dict:
    """The page script's configuration (BP.start's second argument) read from a map page."""
    match = re.search(r"BP\.start\([^,]+, (\{.*\})\);", page)
    return json.loads(match.group(1))


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: the body without its tags, styles and scripts."""
    body = page.split("<body>", 1)[1]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_every_page_has_a_viewport(client, small_data):
    pages = ["/", "/maps/", "/maps/locate", "/maps/preview", "/maps/imagery", "/accounts/login/",
             "/admin/login/", "/maps/checks/00000000-0000-0000-0000-000000000000"]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 403, 404), path
        assert VIEWPORT.search(response.content.decode()), path
    sign_in(client, Role.CITY_PLANNER)
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    check = run_check(site)
    for path in ["/exchange/", f"/api/checks/{check.id}/report", "/accounts/password/change/"]:
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, path
        assert VIEWPORT.search(response.content.decode()), path


def test_home_page_speaks_one_language_and_shows_no_codes(client, small_data):
    sign_in(client, Role.CITY_PLANNER, username="planner-li")
    page = visible_text(client.get("/").content.decode())
    for code in ["city_planner", "admin_district", "basic_farmland", "restricted", "internal", "slug",
                 "图层 Layers", "退出 Sign out", "Sign out", "Layers"]:
        assert code not in page, code
    assert "市级规划人员" in page and "退出登录" in page and "永久基本农田" in page and "受限" in page
    # Feature counts are grouped in thousands, as the fixture has them.
    farmland = json.loads((small_data / "manifest.json").read_text())["layers"]["basic_farmland"]["features"]
    assert f"{farmland:,}" in page
    client.cookies["django_language"] = "en"
    english = visible_text(client.get("/").content.decode())
    body = english.replace("中文", "")  # the switch back is in Chinese
    assert not CJK.search(body), CJK.findall(body)[:20]
    assert "City planner" in english and "Sign out" in english and "Permanent basic farmland" in english


def test_the_login_page_in_english(client):
    client.cookies["django_language"] = "en"
    page = client.get("/accounts/login/").content.decode()
    body = visible_text(page).replace("中文", "")
    assert "User name" in page and "Password" in page and not CJK.search(body)


@pytest.mark.parametrize(("role", "profile", "landing"), [
    (Role.CITY_PLANNER, {}, "/maps/"),
    (Role.COUNTY_PLANNER, {"districts": ["370811"]}, "/maps/"),
    (Role.APPLICANT, {"organisation": "济宁市某建设单位"}, None),
])
def test_signing_in_lands_where_the_work_is(client, role, profile, landing):
    from django.urls import NoReverseMatch, reverse

    user = make_person(role, **profile)
    user.set_password("Landing-Pass-123")
    user.save()
    answer = client.post("/accounts/login/", {"username": user.username, "password": "Landing-Pass-123"})
    assert answer.status_code == 302 and answer["Location"] == "/maps/start"
    then = client.get("/maps/start")
    if landing is None:  # applicants: their projects when the workspace exists, else the preview
        try:
            landing = reverse("maps:projects")
        except NoReverseMatch:
            landing = "/maps/preview"
    assert then.status_code == 302 and then["Location"] == landing


def _fixture_bounds(folder, slug: str, where) -> list[float]:
    geoms, props = oracle.layer_features(folder, slug)
    chosen = [g for g, p in zip(geoms, props, strict=True) if where(p)]
    return list(shapely.bounds(shapely.union_all(chosen)))


def test_the_map_opens_on_the_jurisdiction(client, small_data):
    """City staff: the city; county staff: their county; applicants: their projects (padded), else
    their district; the box is computed from the fixture itself, not the code under test."""
    sign_in(client, Role.COUNTY_PLANNER, districts=["370826"])
    config = config_of(client.get("/maps/").content.decode())
    expected = _fixture_bounds(small_data, "admin_district", lambda p: p["XZQDM"] == "370826")
    assert config["home_bounds"] == pytest.approx(expected, abs=1e-6)
    assert config["home_zone"] == 39  # 微山县, ~117.1°E: zone 39
    sign_in(client, Role.CITY_PLANNER, username="city-x", districts=["420600"])
    config = config_of(client.get("/maps/").content.decode())
    assert config["home_bounds"] == pytest.approx(
        _fixture_bounds(small_data, "admin_district", lambda p: p["XZQDM"] == "420600"), abs=1e-6)
    assert config["home_zone"] == 37  # 襄阳
    sites = json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"]
    organisation = sites[0]["properties"]["JSDW"]
    own = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in sites
                             if f["properties"]["JSDW"] == organisation])
    sign_in(client, Role.APPLICANT, username="app-x", organisation=organisation)
    box = config_of(client.get("/maps/preview").content.decode())["home_bounds"]
    west, south, east, north = own.bounds
    assert box[0] < west and box[1] < south and box[2] > east and box[3] > north
    assert box[2] - box[0] < (east - west) * 1.31 + 0.021 and box[3] - box[1] < (north - south) * 1.31 + 0.021
    sign_in(client, Role.APPLICANT, username="app-y", organisation="无项目的单位", districts=["370811"])
    box = config_of(client.get("/maps/").content.decode())["home_bounds"]
    county = _fixture_bounds(small_data, "admin_district", lambda p: p["XZQDM"] == "370811")
    assert box == pytest.approx(county, abs=1e-6)
    client.logout()
    anonymous = config_of(client.get("/maps/").content.decode())["home_bounds"]
    assert anonymous == pytest.approx(_fixture_bounds(small_data, "admin_district", lambda p: True), abs=1e-6)


def test_a_style_is_validated():
    validate_style({"color": "#1f78b4", "weight": 2, "dashArray": "8 4", "hatch": "cross", "group": "base"})
    for bad, words in [({"color": "red"}, "#rrggbb"), ({"fillOpacity": 1.5}, "fillOpacity"),
                       ({"dashArray": "8,4"}, "dashArray"), ({"hatch": "dots"}, "hatch"),
                       ({"colour": "#ffffff"}, "未知的样式项"), ({"group": "other"}, "group"),
                       ([], "JSON 对象")]:
        with pytest.raises(ValidationError) as caught:
            validate_style(bad)
        assert words in " ".join(caught.value.messages), bad
    validate_field_labels({"DLMC": "地类名称", "MJ": {"zh": "面积", "en": "Area", "unit": "m2"}})
    for bad in [{"DLMC": ""}, {"DLMC": {"en": "Land class"}}, {"MJ": {"zh": "面积", "unit": "mu"}}, "DLMC"]:
        with pytest.raises(ValidationError):
            validate_field_labels(bad)
    layer = Layer(slug="blue_line_x", title_zh="蓝线", title_en="Blue line", style={"color": "blue"})
    with pytest.raises(ValidationError) as caught:
        layer.full_clean()
    assert "style" in caught.value.message_dict


def test_a_layer_added_later_gets_its_style_and_labels_everywhere(client, small_data):
    """A control line added later is grey by default; the style set on it (as in the admin)
    reaches the page's legend and its map tiles, and its field labels the popup."""
    from layers.importers import import_layer

    water = oracle.layer_features(small_data, "water_body")[0]
    Layer.objects.create(slug="blue_line", title_zh="蓝线", title_en="Blue line", access_level="public",
                         fields={"MC": "string", "LX": "string", "LY": "string"})
    import_layer("blue_line", small_data / "water_body.gpkg")
    layer = Layer.objects.get(slug="blue_line")
    assert layer_style("blue_line", layer.style)["color"] == "#4d4d4d"  # the default grey
    layer.style = {"color": "#0055ff", "weight": 3, "dashArray": "10 5", "group": "control", "on": True}
    layer.field_labels = {"MC": {"zh": "河湖名称", "en": "River or lake"},
                          "LY": {"zh": "来源", "hidden": True}}
    layer.full_clean()
    layer.save()
    config = config_of(client.get("/maps/").content.decode())
    [entry] = [row for row in config["layers"] if row["slug"] == "blue_line"]
    assert entry["style"]["color"] == "#0055ff" and entry["style"]["dashArray"] == "10 5"
    assert entry["labels"]["MC"]["label"] == "河湖名称" and entry["labels"]["LY"]["hidden"]
    assert len(water) > 0


def test_labelled_attributes_read_as_chinese():
    rows = dict(labelled_attributes({"XZQMC": "任城区", "DLBM": "0101", "YJJBNTTBMJ": 12345.678901,
                                     "LY": "generated", "_area_m2": 1.0}))
    assert rows == {"行政区名称": "任城区", "地类编码": "0101",
                    "基本农田图斑面积": "12,345.68 平方米（18.52 亩）", "数据来源": "模拟生成（演示数据）"}


def test_the_pdf_map_draws_each_layer_in_its_map_style(client, small_data):
    """生态保护红线 red with hatching, 永久基本农田 yellow with hatching, 城镇开发边界 dashed: the
    colours of layers/styles.py, as the map draws them; field labels in Chinese in the report."""
    sign_in(client, Role.CITY_PLANNER)
    site, _ = oracle.border_site(small_data, "ecological_redline", 150.0)
    check = run_check(site)
    svg = site_map_svg(check)
    red = layer_style("ecological_redline")
    assert red["color"] == "#d7191c"
    paths = re.findall(r'<path class="layer layer-ecological_redline"[^>]*>', svg)
    assert paths and all(f'stroke="{red["color"]}"' in p and "url(#hatch-ecological_redline)" in p
                         for p in paths)
    assert "#2e7d32" not in svg  # the green the PDF drew before
    pattern = re.search(r'<pattern id="hatch-ecological_redline".*?</pattern>', svg).group(0)
    assert red["fillColor"] in pattern and red["hatchColor"] in pattern
    farm = site_map_svg(run_check(oracle.border_site(small_data, "basic_farmland", 150.0)[0]))
    assert re.search(r'<pattern id="hatch-basic_farmland"[^>]*>.*?#f2d43d', farm)
    html = render_report_html(check)
    assert "XJXZQMC" not in html and "LHLX" not in html and "县级行政区名称" in html


def test_the_basemap_is_drawn_from_our_data(client, small_data):
    """A basemap tile over 微山湖 shows its water; a tile is a 256-px PNG with an ETag and a 304."""
    lakes, props = oracle.layer_features(small_data, "water_body")
    lake = next(g for g, p in zip(lakes, props, strict=True) if p["MC"].startswith("微山湖"))
    z = 10
    point = lake.representative_point()
    n = 2 ** z
    fx = (point.x + 180) / 360 * n
    fy = (1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n
    x, y = int(fx), int(fy)
    response = client.get(f"/maps/basemap/{z}/{x}/{y}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert image.shape == (256, 256, 3)
    # The lake's share of the tile is drawn in the water colour (its label and relief take a little).
    water = np.all(np.abs(image - [170, 206, 235]) <= 3, axis=2)
    share = _pixel_share(lake, z, x, y)
    assert share > 0.05 and water.sum() > 0.6 * share * 256 * 256, (water.sum(), share)
    again = client.get(f"/maps/basemap/{z}/{x}/{y}.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get("/maps/basemap/30/0/0.png").status_code == 404


def _mercator(geom):
    """Spherical Web Mercator in metres, written here (not the code under test's)."""
    def project(coords):
        lon, lat = coords[:, 0], coords[:, 1]
        north = np.log(np.tan(np.radians(45 + lat / 2)))
        return np.column_stack([np.radians(lon) * 6378137, north * 6378137])
    return shapely.transform(geom, project)


def _pixel_share(geom, z: int, x: int, y: int) -> float:
    """The share of tile z/x/y that `geom` covers."""
    span = 2 * math.pi * 6378137 / 2 ** z
    west, north = -math.pi * 6378137 + x * span, math.pi * 6378137 - y * span
    tile = shapely.box(west, north - span, west + span, north)
    return shapely.area(shapely.intersection(_mercator(geom), tile)) / shapely.area(tile)


def test_locate_reads_dms_and_place_names(client, small_data):
    answer = client.get("/maps/data/locate", {"q": "北纬35°24′36″ 东经116°35′30″"}).json()
    [point] = answer["results"]
    assert point["geometry"]["coordinates"] == pytest.approx([116 + 35 / 60 + 30 / 3600, 35.41], abs=1e-9)
    places = client.get("/maps/data/locate", {"q": "微山湖"}).json()["results"]
    assert any(r["kind"] == "place" and r["title"].startswith("微山湖") for r in places)
    lakes, props = oracle.layer_features(small_data, "water_body")
    lake = next(g for g, p in zip(lakes, props, strict=True) if p["MC"].startswith("微山湖"))
    hit = next(r for r in places if r["kind"] == "place")
    assert hit["bbox"] == pytest.approx(list(lake.bounds), abs=1e-6)


def test_styles_and_field_labels_are_set_in_the_admin(client, small_data):
    """A layer's page in the admin edits its style and field labels; a bad style is refused with
    the validator's words and nothing is saved."""

    from layers.services import register_layer

    layer = register_layer("green_line", "绿线", "Green line", fields={"MC": "string"})[0]
    sign_in(client, Role.SYSTEM_ADMIN, username="style-admin")
    url = f"/admin/layers/layer/{layer.pk}/change/"
    form = client.get(url).content.decode()
    assert 'name="style"' in form and 'name="field_labels"' in form
    data = {"slug": layer.slug, "title_zh": layer.title_zh, "title_en": layer.title_en, "kind": layer.kind,
            "geometry_type": layer.geometry_type, "fields": json.dumps(layer.fields),
            "access_level": layer.access_level, "source": "", "licence": "",
            "style": json.dumps({"color": "green"}), "field_labels": json.dumps({"MC": "绿地名称"})}
    refused = client.post(url, data)
    assert refused.status_code == 200 and "#rrggbb" in refused.content.decode()
    layer.refresh_from_db()
    assert layer.style == {} and layer.field_labels == {}
    data["style"] = json.dumps({"color": "#1a9641", "dashArray": "4 2", "group": "control", "on": True})
    saved = client.post(url, data)
    assert saved.status_code == 302
    layer.refresh_from_db()
    assert layer.style["color"] == "#1a9641" and layer.field_labels == {"MC": "绿地名称"}


def test_imagery_tiles_keep_transparency_at_a_scene_edge(client, small_data):
    """The page asks for WebP imagery tiles: outside a scene they are transparent, not a black frame."""
    config = config_of(client.get("/maps/").content.decode())
    [hires] = [i for i in config["imagery"] if i["slug"] == "hires_jining"]
    assert hires["url"].endswith(".webp")
    z, lon, lat = 14, 116.516, 35.36  # the west edge of the synthetic scene (fixtures/README.md)
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    tile = client.get(hires["url"].format(z=z, x=x, y=y))
    assert tile.status_code == 200
    alpha = np.asarray(Image.open(io.BytesIO(tile.content)).convert("RGBA"))[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()
