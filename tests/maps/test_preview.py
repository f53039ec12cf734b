"""合规性预检: upload a site, read the verdict and areas, see the conflicts, download the PDF."""

from __future__ import annotations

import json

import pytest
import shapely

from tests.compliance import oracle
from tests.layers.helpers import geod_area

pytestmark = pytest.mark.django_db


def open_preview(watch) -> None:
    watch.page.goto("/maps/preview")
    watch.wait_idle()


def run(watch) -> None:
    watch.page.click("#bp-run")
    watch.page.wait_for_selector("#bp-verdict, .bp-message-error", timeout=30_000)


def test_a_site_on_farmland_fails_with_the_right_area_and_its_pdf(applicant, small_data, tmp_path):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    expected = oracle.overlap_m2(site, geoms)
    assert oracle.grade(expected, expected / geod_area(site), oracle.RULES["basic_farmland"]) == "fail"
    upload = tmp_path / "site.geojson"
    upload.write_text(json.dumps({"type": "Feature", "properties": {},
                                  "geometry": shapely.geometry.mapping(site)}), encoding="utf-8")
    open_preview(applicant)
    page = applicant.page
    page.set_input_files("#bp-file", str(upload))
    run(applicant)
    assert page.locator("#bp-verdict").get_attribute("data-verdict") == "fail"
    farmland = page.locator('.bp-finding[data-rule="basic_farmland"]')
    assert farmland.get_attribute("data-status") == "fail"
    area = farmland.locator(".bp-finding-area")
    assert float(area.get_attribute("data-m2")) == pytest.approx(expected, rel=1e-3, abs=1e-3)
    text = area.inner_text()
    assert "平方米" in text and "亩" in text and "公顷" in text
    assert f"{expected / 10_000:,.4f}"[:-1] in text  # 公顷, to the shown precision
    assert page.locator("path.bp-conflict").count() >= 1
    assert page.locator("path.bp-site").count() == 1
    with page.expect_download() as download:
        page.click("#bp-report-pdf")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    # The stored check has its own page, with the same verdict and map.
    page.click("#bp-check-page")
    applicant.wait_idle()
    assert page.locator("#bp-verdict").get_attribute("data-verdict") == "fail"
    finding = page.locator('.bp-finding[data-rule="basic_farmland"] .bp-finding-area')
    shown = float(finding.get_attribute("data-m2"))
    assert shown == pytest.approx(expected, rel=1e-3, abs=1e-3)
    assert page.locator("path.bp-conflict").count() >= 1


def test_a_broken_file_is_explained_in_plain_words(applicant, tmp_path):
    upload = tmp_path / "坐标.txt"
    upload.write_text("这不是坐标文件\nhello\n", encoding="utf-8")
    open_preview(applicant)
    applicant.page.set_input_files("#bp-file", str(upload))
    run(applicant)
    message = applicant.page.locator(".bp-message-error").inner_text()
    assert "无法完成检查" in message and "[地块坐标]" in message
    assert applicant.page.locator("#bp-verdict").count() == 0
    applicant.allow_console("status of 400")


def test_a_drawn_site_is_checked(applicant):
    open_preview(applicant)
    page = applicant.page
    page.evaluate("BP.map.setView([35.40, 116.58], 15, {animate: false})")
    applicant.wait_idle()
    applicant.click_polygon("#bp-draw", [(500, 300), (700, 300), (700, 450), (500, 450)])
    run(applicant)
    check = page.evaluate("BP.lastCheck")
    drawn = shapely.geometry.shape(check["site"])
    assert check["site_area"]["m2"] == pytest.approx(geod_area(drawn), rel=1e-6)
    assert page.locator("#bp-verdict").get_attribute("data-verdict") == check["verdict"]
    assert page.locator(".bp-finding").count() == len(check["findings"]) > 0


def test_no_file_and_nothing_drawn_says_what_to_do(applicant):
    open_preview(applicant)
    applicant.page.click("#bp-run")
    assert "请先上传" in applicant.page.locator(".bp-message-error").inner_text()


def test_anonymous_visitors_are_asked_to_sign_in(watched, small_data, tmp_path):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    upload = tmp_path / "site.geojson"
    upload.write_text(json.dumps(shapely.geometry.mapping(site)), encoding="utf-8")
    open_preview(watched)
    watched.page.set_input_files("#bp-file", str(upload))
    run(watched)
    assert "登录" in watched.page.locator(".bp-message-error").inner_text()
    assert watched.page.locator("#bp-verdict").count() == 0
    watched.allow_console("status of 401")
