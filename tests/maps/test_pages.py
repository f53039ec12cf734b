"""The pages without a browser: nothing links elsewhere, data endpoints refuse bad input clearly,
Chinese first with English on request, and the report links back to its map page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import shapely

from blueprint.errors import InvalidInput
from compliance.services import run_check
from maps.locate import locate
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
PAGES = ["/maps/", "/maps/locate", "/maps/preview", "/maps/imagery"]
VENDOR = Path(__file__).resolve().parents[2] / "maps" / "static" / "maps" / "vendor"


@pytest.mark.parametrize("url", PAGES)
def test_pages_load_every_script_and_stylesheet_from_this_site(client, url):
    page = client.get(url).content.decode()
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert any("leaflet/leaflet.js" in link for link in links)
    assert all(link.startswith("/static/") or link.startswith("data:") for link in links), links
    assert "cdn." not in page and "https://" not in page.replace("https://one-blueprint.dev", "")


def test_vendored_libraries_carry_their_licences():
    licences = [("leaflet", "LICENSE"), ("leaflet-draw", "LICENSE"), ("geographiclib", "LICENSE.txt")]
    for folder, licence in licences:
        assert (VENDOR / folder / licence).stat().st_size > 500
    assert "1.9.4" in (VENDOR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:400]


def test_chinese_first_and_english_on_request(client):
    assert "项目定位" in client.get("/maps/locate").content.decode()
    answer = client.get("/maps/language/en?next=/maps/locate")
    assert answer.status_code == 302 and answer["Location"] == "/maps/locate"
    english = client.get("/maps/locate").content.decode()
    assert "Locate a project" in english and "项目定位" not in english
    assert client.get("/maps/language/en?next=https://elsewhere.example/")["Location"] == "/maps/"


@pytest.mark.parametrize("query, words", [
    ("bbox=1,2,3", "bbox"), ("bbox=117,35,116,36", "西边应小于东边"), ("bbox=80,20,110,40", "过大"),
    ("bbox=116,35,117,36&zoom=x", "zoom"),
])
def test_layer_data_refuses_bad_boxes_as_problem_json(client, query, words):
    answer = client.get(f"/maps/data/admin_district?{query}")
    assert answer.status_code == 400 and answer["Content-Type"] == "application/problem+json"
    assert words in answer.json()["detail"]


def test_layer_data_is_limited_to_the_box(client, small_data):
    from tests.compliance import oracle

    geoms, _ = oracle.layer_features(small_data, "water_body")
    box = shapely.box(116.9, 34.9, 117.4, 35.3)
    expected = int(shapely.intersects(shapely.envelope(geoms), box).sum())
    body = client.get("/maps/data/water_body?bbox=116.9,34.9,117.4,35.3&zoom=12").json()
    assert len(body["features"]) == expected < len(geoms)


def test_locating_explains_what_it_cannot_read():
    with pytest.raises(InvalidInput, match="带号"):
        locate("3936625.9 474785.8")  # an easting without prefix and no zone
    with pytest.raises(InvalidInput, match="中国"):
        locate("12.5, 40.1")
    swapped = locate("35.5588, 116.7219")[0]
    assert list(swapped["geometry"]["coordinates"]) == [116.7219, 35.5588]
    assert "纬度, 经度" in swapped["note_zh"]


def test_the_report_links_to_the_check_page(client):
    sign_in(client)
    check = run_check(shapely.box(116.58, 35.40, 116.581, 35.401))
    report = client.get(f"/api/checks/{check.id}/report").content.decode()
    assert f"/maps/checks/{check.id}" in report
    page = client.get(f"/maps/checks/{check.id}")
    assert page.status_code == 200 and str(check.id) in page.content.decode()
    assert client.get("/maps/checks/not-a-check").status_code == 404
