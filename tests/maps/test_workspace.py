"""The project workspace in Chromium: an applicant's project list, a project's page zoomed to its
site with the lines it is judged against, checking the site, and the check page's advice."""

from __future__ import annotations

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
