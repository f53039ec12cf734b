"""The project workspace without a browser: who sees which projects, the filters and paging, the
gate's answer on a project's page, and the lines a site is judged against (clipped to its
surroundings, audited, never another organisation's)."""

from __future__ import annotations

import json
import math
import re

import pytest
import shapely
from django.db.models import Q

from blueprint.models import AuditEntry, Role
from compliance.services import run_check
from layers.models import Project
from layers.services import add_site_revision, create_project
from maps import projects
from tests.compliance import oracle
from tests.layers.helpers import CGCS2000_GEOD
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
CONTEXT_M = 300  # what the page promises ("用地周边 300 米"), written here independently


def demo(small_data) -> list[dict]:
    return [f["properties"] for f in json.loads((small_data / "project_sites.geojson")
                                                .read_text(encoding="utf-8"))["features"]]


def config(response) -> dict:
    """The page script's configuration, as the page hands it to BP.start."""
    text = response.content.decode()
    found = re.search(r"BP\.start\([\w]+, (\{.*\})\);", text)
    assert found, "no BP.start in the page"
    return json.loads(found.group(1))


def listed_codes(response) -> list[str]:
    return re.findall(r'class="bp-project-row" data-code="([^"]+)"', response.content.decode())


def grown_box(geom, metres: float) -> shapely.Polygon:
    """The site's bounding box grown by `metres` on each side, measured with pyproj's Geod."""
    west, south, east, north = geom.bounds
    _, north2, _ = CGCS2000_GEOD.fwd(west, north, 0, metres)
    _, south2, _ = CGCS2000_GEOD.fwd(west, south, 180, metres)
    lat = (south + north) / 2
    east2, _, _ = CGCS2000_GEOD.fwd(east, lat, 90, metres)
    west2, _, _ = CGCS2000_GEOD.fwd(west, lat, 270, metres)
    return shapely.box(west2, south2, east2, north2)


def test_an_applicant_lists_only_its_organisations_projects(client, small_data):
    rows = demo(small_data)
    mine = rows[1]["JSDW"]
    sign_in(client, Role.APPLICANT, organisation=mine)
    answer = client.get("/maps/projects/")
    assert answer.status_code == 200
    assert "我的项目" in answer.content.decode()
    assert listed_codes(answer) == [r["XMDM"] for r in rows if r["JSDW"] == mine]
    other = next(r["XMDM"] for r in rows if r["JSDW"] != mine)
    # Another organisation's project is answered as if it did not exist, on both spellings.
    for path in (f"/maps/projects/{other}/", f"/maps/projects/{other}"):
        hidden = client.get(path)
        assert hidden.status_code == 404 and other in hidden.content.decode()
    assert client.get(f"/maps/projects/?q={other}").status_code == 200
    assert listed_codes(client.get(f"/maps/projects/?q={other}")) == []


def test_a_county_planner_lists_its_district_filtered_and_paged(client, small_data):
    rows = demo(small_data)
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    ours = [r for r in rows if r["XZQDM"] == "370811"]
    answer = client.get("/maps/projects/")
    assert "辖区项目" in answer.content.decode()
    assert sorted(listed_codes(answer)) == sorted(r["XMDM"] for r in ours)
    stage3 = client.get("/maps/projects/?stage=3")
    assert sorted(listed_codes(stage3)) == sorted(r["XMDM"] for r in ours if r["JD"] == "3")
    # Another county is outside the scope whatever the filter says.
    assert listed_codes(client.get("/maps/projects/?district=370826")) == []
    # Dates: everything was registered today or before.
    assert listed_codes(client.get("/maps/projects/?until=2000-01-01")) == []
    assert len(listed_codes(client.get("/maps/projects/?since=2000-01-01"))) == len(ours)


def test_the_verdict_filter_reads_the_current_sites_latest_check(client, small_data):
    rows = demo(small_data)
    sign_in(client, Role.CITY_PLANNER)
    project = Project.objects.get(code=rows[1]["XMDM"])
    check = run_check(shapely.from_wkb(bytes(project.current_site.geom.wkb)), project=project,
                      site_revision=project.current_site, category=project.category)
    def latest(p):
        found = p.current_site.checks.order_by("-created_at").first()
        return found.verdict if found else None

    # Independently of the list's query: each project's newest revision's newest check.
    same = [p.code for p in Project.objects.all() if latest(p) == check.verdict]
    assert project.code in same
    assert sorted(listed_codes(client.get(f"/maps/projects/?verdict={check.verdict}"))) == sorted(same)
    unchecked = listed_codes(client.get("/maps/projects/?verdict=none"))
    # Independently: the projects whose newest revision has no check (the browser tests check some).
    expected = [p.code for p in Project.objects.all() if latest(p) is None]
    assert project.code not in unchecked and sorted(unchecked) == sorted(expected)
    # A new revision has no check yet: the project counts as unchecked again.
    site = shapely.from_wkb(bytes(project.current_site.geom.wkb))
    add_site_revision(project, shapely.affinity.translate(site, 0.0002, 0), source_format="geojson")
    assert project.code in listed_codes(client.get("/maps/projects/?verdict=none"))


def test_pages_of_the_list(small_data):
    total = len(demo(small_data))
    pages = [projects.project_page(Q(), projects.ProjectFilters(), n, per_page=4) for n in (1, 2, 3)]
    codes = [code for page in pages for code in page["codes"]]
    assert sorted(codes) == sorted(r["XMDM"] for r in demo(small_data)) and len(codes) == total
    assert pages[0]["page"].paginator.num_pages == math.ceil(total / 4)


@pytest.mark.parametrize("query, words", [("stage=9", "审批阶段"), ("since=2026-13-01", "年-月-日"),
                                          ("since=2026-02-01&until=2026-01-01", "起始日期"),
                                          ("verdict=great", "检查结论"), ("district=abc", "行政区划代码")])
def test_bad_filters_are_explained(client, query, words):
    sign_in(client, Role.CITY_PLANNER)
    answer = client.get(f"/maps/projects/?{query}")
    assert answer.status_code == 400 and words in answer.content.decode()


def test_people_without_projects_are_refused(client):
    assert client.get("/maps/projects/").status_code == 403  # anonymous
    sign_in(client, Role.AUDIT_ADMIN)
    assert client.get("/maps/projects/").status_code == 403


def test_the_project_page_shows_the_gates_answer_without_recording_one(client, small_data):
    from compliance.models import GateDecision

    rows = demo(small_data)
    sign_in(client, Role.COUNTY_PLANNER, districts=["370811"])
    code = rows[1]["XMDM"]
    before = GateDecision.objects.count()
    page = client.get(f"/maps/projects/{code}/").content.decode()
    assert 'data-decision="blocked"' in page and "尚未进行合规性检查" in page  # not checked yet
    assert "No compliance check" not in page  # Chinese only in zh mode
    project = Project.objects.get(code=code)
    check = run_check(shapely.from_wkb(bytes(project.current_site.geom.wkb)), project=project,
                      site_revision=project.current_site, category=project.category)
    expected = {"pass": "allowed", "warn": "allowed", "info": "allowed", "fail": "blocked"}.get(
        check.verdict, "needs_review")
    page = client.get(f"/maps/projects/{code}/").content.decode()
    assert f'data-decision="{expected}"' in page
    assert f"/api/checks/{check.id}/report.pdf" in page and 'id="bp-run-check"' in page
    assert GateDecision.objects.count() == before
    # The map opens on the site: the page's bounds contain it, and are no wider than a few km.
    site = shapely.from_wkb(bytes(project.current_site.geom.wkb))
    bounds = re.search(r"fitBounds\(\s*\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", page)
    south, west, north, east = map(float, bounds.groups())
    assert shapely.box(west, south, east, north).contains(site) and east - west < 0.05


def _applicant_site_on(small_data, slug: str, organisation: str) -> tuple[Project, shapely.Geometry]:
    site, _ = oracle.border_site(small_data, slug, 400.0)
    district = "370811"
    project = create_project(code=f"2026-{district}-47-01-9{abs(hash(slug)) % 100000:05d}",
                             name=f"测试项目 {slug}", applicant=organisation)
    add_site_revision(project, site, source_format="geojson")
    return project, site


@pytest.mark.parametrize("slug", ["ecological_redline", "basic_farmland"])
def test_applicants_see_the_lines_around_their_own_site_only(client, small_data, slug):
    organisation = "测试建设单位甲"
    project, site = _applicant_site_on(small_data, slug, organisation)
    check = run_check(site, project=project, site_revision=project.current_site)
    sign_in(client, Role.APPLICANT, organisation=organisation)
    before = AuditEntry.objects.filter(action="layer.read", target=slug).count()
    for url in (f"/maps/checks/{check.id}", f"/maps/projects/{project.code}/"):
        answer = client.get(url)
        assert answer.status_code == 200
        layers = {c["slug"]: c for c in config(answer)["surroundings"]}
        assert slug in layers, url
        served = layers[slug]["features"]["features"]
        box = grown_box(site, CONTEXT_M)
        geoms, _ = oracle.layer_features(small_data, slug)
        near = {i for i, g in enumerate(geoms) if g.intersects(box)}
        assert len(served) == len(near) > 0
        for feature in served:  # clipped: nothing of the layer beyond the site's surroundings
            assert box.buffer(1e-6).contains(shapely.geometry.shape(feature["geometry"]))
            if feature["outline"]:
                assert box.buffer(1e-6).contains(shapely.geometry.shape(feature["outline"]))
        assert layers[slug]["style"]["color"]  # drawn in the layer's own style
    # A restricted layer read this way is audited (a read of the surroundings' box).
    audited = AuditEntry.objects.filter(action="layer.read", target=slug).count() - before
    assert audited == (2 if slug == "ecological_redline" else 0)
    # The layer itself stays closed to browsing.
    assert client.get(f"/maps/data/{slug}?bbox=116,35,117,36&zoom=12").status_code == 404


def test_another_organisations_site_context_is_never_served(client, small_data):
    project, site = _applicant_site_on(small_data, "ecological_redline", "测试建设单位乙")
    check = run_check(site, project=project, site_revision=project.current_site)
    sign_in(client, Role.APPLICANT, organisation="测试建设单位丙")
    for url in (f"/maps/checks/{check.id}", f"/maps/projects/{project.code}/"):
        answer = client.get(url)
        assert answer.status_code == 404 and "ecological_redline" not in answer.content.decode()


def test_the_city_planner_browses_restricted_layers_and_gets_no_extra_copy(client, small_data):
    project, site = _applicant_site_on(small_data, "ecological_redline", "测试建设单位丁")
    check = run_check(site, project=project, site_revision=project.current_site)
    sign_in(client, Role.CITY_PLANNER)
    context = config(client.get(f"/maps/checks/{check.id}"))["surroundings"]
    assert context == []  # every layer is on the map already, from its tiles


def test_the_check_page_says_what_the_pdf_says(client, small_data):
    organisation = "测试建设单位戊"
    project, site = _applicant_site_on(small_data, "basic_farmland", organisation)
    check = run_check(site, project=project, site_revision=project.current_site)
    assert check.verdict == "fail"
    sign_in(client, Role.APPLICANT, organisation=organisation)
    payload = config(client.get(f"/maps/checks/{check.id}"))["check"]
    farmland = next(f for f in payload["findings"] if f["rule_id"] == "basic_farmland")
    rule = oracle.RULES["basic_farmland"]
    assert farmland["rule"]["guidance_zh"] == rule["guidance_zh"]
    assert farmland["rule"]["legal_basis"] == rule["legal_basis"]
    assert farmland["rule"]["department"] == rule["department"]
    steps = payload["next_steps"]
    assert steps["verdict"] == "fail" and "调整用地范围" in steps["summary_zh"]
    step = next(s for s in steps["steps"] if s["rule_id"] == "basic_farmland")
    overlap = oracle.overlap_m2(site, oracle.layer_features(small_data, "basic_farmland")[0])
    said = float(re.search(r"需将 ([\d,.]+) 平方米", step["text_zh"]).group(1).replace(",", ""))
    assert said == pytest.approx(overlap, rel=1e-3, abs=0.01) and "移出" in step["text_zh"]
    assert "国务院批准的重大项目" in step["text_zh"]  # the exception that would apply
    assert step["department"] == rule["department"]
