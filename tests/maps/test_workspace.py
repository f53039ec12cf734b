"""The project workspace in Chromium: an applicant's project list, a project's page zoomed to its
site with the lines it is judged against, checking the site, and the check page's advice."""

from __future__ import annotations

import io
import json

import pytest
import shapely
from django.contrib.auth import get_user_model

from tests.maps.conftest import sign_in_page

pytestmark = pytest.mark.django_db
# A demo project no other test checks (tests/compliance/test_engine.py needs 000002 unchecked).
CODE = "2024-370883-47-01-000009"
OWNER = ("maps-owner", "maps-owner-pass-1")


@pytest.fixture(scope="session")
def owner_user(django_db_setup, django_db_blocker, small_data):
    """An applicant of the organisation that owns the demo project CODE."""
    from blueprint.models import AccessProfile, Role

    rows = json.loads((small_data / "project_sites.geojson").read_text(encoding="utf-8"))["features"]
    organisation = next(f["properties"]["JSDW"] for f in rows if f["properties"]["XMDM"] == CODE)
    with django_db_blocker.unblock():
        user, _ = get_user_model().objects.get_or_create(username=OWNER[0])
        user.set_password(OWNER[1])
        user.save()
        AccessProfile.objects.update_or_create(user=user, defaults={"role": Role.APPLICANT,
                                                                    "organisation": organisation})
    return user, organisation, rows


@pytest.fixture
def owner(watched, owner_user):
    sign_in_page(watched, OWNER, "/accounts/login/", "/maps/projects/")
    return watched


def site_of(rows, code: str):
    feature = next(f for f in rows if f["properties"]["XMDM"] == code)
    return shapely.geometry.shape(feature["geometry"])


def map_view(page) -> shapely.Polygon:
    b = page.evaluate("(() => { const b = BP.map.getBounds();"
                      " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
    return shapely.box(*b)


def test_an_applicant_works_on_its_project(owner, owner_user):
    _, organisation, rows = owner_user
    page = owner.page
    owner.wait_idle()
    assert page.locator("#bp-projects-title").inner_text() == "我的项目"
    mine = [f["properties"]["XMDM"] for f in rows if f["properties"]["JSDW"] == organisation]
    assert page.locator(".bp-project-row").evaluate_all("rows => rows.map(r => r.dataset.code)") == mine
    # The list's map opens on the listed sites.
    assert map_view(page).contains(site_of(rows, CODE))
    page.click(f'.bp-project-row[data-code="{CODE}"] a.bp-project-link')
    page.wait_for_url(f"**/maps/projects/{CODE}/")
    owner.wait_idle()
    site = site_of(rows, CODE)
    view = map_view(page)
    assert view.contains(site) and view.area < site.envelope.area * 40  # zoomed to the site
    assert page.locator("#bp-gate").get_attribute("data-decision") in {"blocked", "allowed", "needs_review"}
    assert page.locator(".bp-legend").inner_text().count("用地周边 300 米") >= 1
    page.screenshot(path="artifacts/maps-workspace-project.png")
    page.click("#bp-run-check")
    page.wait_for_url("**/maps/checks/*", timeout=30_000)
    owner.wait_idle()
    verdict = page.locator("#bp-verdict").get_attribute("data-verdict")
    assert page.locator("#bp-next-steps").get_attribute("data-verdict") == verdict
    # The site's outline is drawn above the conflicts, and the map shows both.
    order = page.evaluate("Array.from(document.querySelectorAll('path.bp-site, path.bp-conflict'))"
                          ".map(p => p.classList.contains('bp-site') ? 'site' : 'conflict')")
    assert order[-1] == "site"
    assert map_view(page).contains(site)
    for finding in page.locator('.bp-finding:not([data-status="pass"])').all():
        assert finding.locator('dt[data-note="legal_basis"]').count() == 1
    for finding in page.locator('.bp-finding[data-status="pass"]').all():
        assert finding.locator(".bp-finding-area").count() == 0  # no "0.00 平方米" lines
    assert "GHFQMC" not in page.locator("#bp-check-result").inner_text()
    # Back on the project page, the gate now rests on this check.
    page.click("#bp-check-project")
    owner.wait_idle()
    assert page.locator(".bp-check-row").count() >= 1 and page.locator("#bp-latest-pdf").count() == 1


def test_a_failed_check_shows_the_lines_and_what_to_do(applicant, small_data, tmp_path):
    from tests.compliance import oracle

    site, _ = oracle.border_site(small_data, "basic_farmland", 300.0)
    upload = tmp_path / "site.geojson"
    upload.write_text(json.dumps(shapely.geometry.mapping(site)), encoding="utf-8")
    page = applicant.page
    page.goto("/maps/preview")
    applicant.wait_idle()
    page.set_input_files("#bp-file", str(upload))
    page.click("#bp-run")
    page.wait_for_selector("#bp-verdict", timeout=30_000)
    # The preview says what the check page says.
    assert page.locator("#bp-next-steps").get_attribute("data-verdict") == "fail"
    page.click("#bp-check-page")
    applicant.wait_idle()
    assert page.locator("#bp-verdict").get_attribute("data-verdict") == "fail"
    # Farmland is not the applicant's to browse: its patches around the site are drawn, in its style,
    # with a legend entry, under the site's outline.
    assert page.locator("path.bp-context-basic_farmland").count() >= 1
    assert "永久基本农田（用地周边 300 米）" in page.locator(".bp-legend").inner_text()
    farmland = page.locator('.bp-finding[data-rule="basic_farmland"]')
    notes = farmland.locator(".bp-rule-notes").inner_text()
    rule = oracle.RULES["basic_farmland"]
    assert rule["legal_basis"] in notes and rule["department"] in notes and rule["guidance_zh"] in notes
    step = page.locator('.bp-next-step[data-rule="basic_farmland"]').inner_text()
    assert "移出永久基本农田" in step and rule["department"] in step
    assert map_view(page).contains(site) and page.evaluate("BP.map.getZoom()") >= 16  # on the site
    page.screenshot(path="artifacts/maps-workspace-failed-check.png")


def test_the_attribute_table_export_and_print_on_the_map(staff, small_data, tmp_path):
    from openpyxl import load_workbook

    from tests.compliance import oracle

    page = staff.page
    staff.wait_idle()
    geoms, props = oracle.layer_features(small_data, "basic_farmland")
    centre = geoms[len(geoms) // 2].representative_point()
    page.evaluate(f"BP.map.setView([{centre.y}, {centre.x}], 15, {{animate: false}})")
    staff.wait_idle()
    page.click("#bp-open-table")
    page.select_option("#bp-table-layer", "basic_farmland")
    page.wait_for_selector("#bp-table-status[data-total]")
    staff.wait_idle()
    view = map_view(page)
    expected = [p for g, p in zip(geoms, props, strict=True) if g.intersects(view)]
    assert int(page.locator("#bp-table-status").get_attribute("data-total")) == len(expected)
    # Sort by patch number (图斑编号), descending on the second click.
    header = page.locator('#bp-table-rows th[data-sort="TBBH"]')
    header.click()
    staff.wait_idle()
    page.locator('#bp-table-rows th[data-sort="TBBH"]').click()
    staff.wait_idle()
    column = page.evaluate("Array.from(document.querySelectorAll('#bp-table-rows th'))"
                           ".findIndex(th => th.dataset.sort === 'TBBH')") + 1
    shown = page.locator(f"#bp-table-rows tr.bp-table-row td:nth-child({column})").all_inner_texts()
    assert shown == sorted((str(p["TBBH"]) for p in expected), reverse=True)[:len(shown)]
    # A click zooms to the feature.
    row = page.locator("#bp-table-rows tr.bp-table-row").nth(3)
    fid = int(row.get_attribute("data-fid"))
    row.click()
    staff.wait_idle()
    ids = list(fixture_fids(small_data))
    assert map_view(page).contains(geoms[ids.index(fid)])
    page.screenshot(path="artifacts/maps-workspace-table.png")
    # Export what the table holds, as Excel, and read it back.
    with page.expect_download() as download:
        page.click("#bp-export-xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    now = [p for g, p in zip(geoms, props, strict=True) if g.intersects(map_view(page))]
    assert len(rows) == len(now) and sheet.cell(1, 1).value in {"标识码", "要素代码", "图斑编号"}
    # The 专题图 of the view.
    page.click("#bp-open-print")
    page.fill("#bp-print-title", "浏览器专题图")
    with page.expect_download() as download:
        page.click("#bp-print-go")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def fixture_fids(folder):
    import pyogrio

    return pyogrio.raw.read(str(folder / "basic_farmland.gpkg"), return_fids=True)[1]


def test_the_preview_offers_the_repair_a_project_code_and_earlier_checks(owner, owner_user, tmp_path):
    _, _, rows = owner_user
    page = owner.page
    page.goto("/maps/preview")
    owner.wait_idle()
    assert page.locator("#bp-file-button").inner_text() == "选择文件"
    assert page.locator("#bp-file-name").inner_text() == "未选择文件"
    # A bow-tie: the error suggests the repair, the page offers it, and with it the check runs.
    lon, lat = site_of(rows, CODE).representative_point().coords[0]
    d = 0.001
    bowtie = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat + d], [lon + d, lat],
                                                  [lon, lat + d], [lon, lat]]]}
    upload = tmp_path / "领结.geojson"
    upload.write_text(json.dumps(bowtie), encoding="utf-8")
    page.set_input_files("#bp-file", str(upload))
    assert page.locator("#bp-file-name").inner_text() == "领结.geojson"
    owner.allow_console("status of 400")
    page.click("#bp-run")
    page.wait_for_selector(".bp-message-error")
    error = page.locator("#bp-preview-message").inner_text()
    assert "自动修复" in error and "(The site" not in error  # Chinese only in zh mode
    assert "bp-suggested" in page.locator("#bp-repair-label").get_attribute("class")
    page.check("#bp-repair")
    page.click("#bp-run")
    page.wait_for_selector("#bp-verdict", timeout=30_000)
    # The project's own site under its code: the check is the project's.
    upload = tmp_path / "site.geojson"
    upload.write_text(json.dumps(shapely.geometry.mapping(site_of(rows, CODE))), encoding="utf-8")
    page.uncheck("#bp-repair")
    page.set_input_files("#bp-file", str(upload))
    page.fill("#bp-project-code", CODE)
    page.click("#bp-run")
    page.wait_for_function("() => BP.lastCheck && BP.lastCheck.project_code", timeout=30_000)
    assert page.evaluate("BP.lastCheck.project_code") == CODE
    page.reload()
    owner.wait_idle()
    assert page.locator("#bp-earlier-checks tr").count() >= 2
    page.screenshot(path="artifacts/maps-workspace-preview.png")
