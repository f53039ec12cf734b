"""The version-diff and conflict pages, their downloads, the admin's switch with its impact, and who
may see what: REVIEW_PLANS only, layer levels, and a county planner's own districts."""

import re

import pyogrio.raw
import pytest
import shapely

from blueprint.models import AuditEntry, Role
from layers import conflicts
from layers.importers import import_layer
from layers.models import ConflictRule, Layer
from layers.services import register_layer
from tests.layers.helpers import square, write_geojson
from tests.roles import log_in, make_person, make_token, sign_in

pytestmark = pytest.mark.django_db
WEST, EAST = "370811", "370826"
FIELDS = {"ZLDWDM": "string", "TBBH": "string"}


@pytest.fixture
def two_versions(tmp_path):
    """A layer with patches in two counties, then a version without one patch of each county."""
    layer = register_layer("page_patches", "测试图斑", "Test patches", fields=FIELDS, access_level="internal",
                           feature_key="ZLDWDM,TBBH")[0]
    # In 任城区 (370811) and 兖州区 (370812) of the fixtures' districts.
    west = [square(116.58 + i * 0.004, 35.40, 200) for i in range(3)]
    east = [square(116.80 + i * 0.004, 35.65, 200) for i in range(3)]
    props = [{"ZLDWDM": "1", "TBBH": f"{i}"} for i in range(6)]
    import_layer(layer.slug, write_geojson(tmp_path / "v1.geojson", west + east, props))
    import_layer(layer.slug, write_geojson(tmp_path / "v2.geojson", west[1:] + east[1:],
                                           props[1:3] + props[4:]))
    return Layer.objects.get(pk=layer.pk)


def counties_of(html):
    return set(re.findall(r'data-county="(\d+)"', html))


def test_a_city_planner_sees_the_diff_and_downloads_it(client, two_versions, tmp_path):
    sign_in(client, Role.CITY_PLANNER)
    response = client.get("/maps/versions/page_patches/diff?from=1&to=2")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="bp-diff-removed">2<', html) and re.search(r'id="bp-diff-added">0<', html)
    assert html.count("bp-diff-removed") >= 2  # drawn on the map (the highlight config)
    download = client.get("/maps/versions/page_patches/diff.gpkg?from=1&to=2")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    path = tmp_path / "d.gpkg"
    path.write_bytes(b"".join(download.streaming_content))
    meta, _, wkb, fields = pyogrio.raw.read(str(path))
    assert len(wkb) == 2 and set(fields[list(meta["fields"]).index("change")]) == {"removed"}


def test_a_county_planner_sees_only_their_districts(client, two_versions):
    sign_in(client, Role.COUNTY_PLANNER, districts=[WEST])
    html = client.get("/maps/versions/page_patches/diff?from=1&to=2").content.decode()
    assert counties_of(html) == {WEST}
    assert re.search(r'id="bp-diff-removed">1<', html)  # the other county's patch is not theirs


def test_applicants_tokens_and_anonymous_visitors_are_refused(client, two_versions):
    anonymous = client.get("/maps/versions/page_patches/diff")
    assert anonymous.status_code in (302, 401)
    _, secret = make_token("plans-token")
    for path in ("/maps/versions/page_patches/diff", "/maps/conflicts", "/maps/conflicts.gpkg"):
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 403
    sign_in(client, Role.APPLICANT, organisation="某公司")
    for path in ("/maps/versions/page_patches/diff", "/maps/conflicts", "/maps/conflicts.geojson"):
        assert client.get(path).status_code == 403


def test_a_restricted_layer_is_not_a_county_planners(client):
    sign_in(client, Role.COUNTY_PLANNER, districts=[WEST])
    response = client.get("/maps/versions/ecological_redline/diff?from=1&to=1")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="access.refused", target="layer:ecological_redline").exists()


def test_bad_version_numbers_are_explained(client, two_versions):
    sign_in(client, Role.CITY_PLANNER)
    for query, words in (("from=x&to=2", "版本号"), ("from=1&to=9", "没有第 9 版"), ("from=2&to=2", "不同")):
        response = client.get(f"/maps/versions/page_patches/diff?{query}")
        assert response.status_code in (400, 404) and words in response.content.decode(), query
    response = client.get("/maps/versions/page_patches/diff.shp?from=1&to=2")
    assert response.status_code == 400 and "gpkg 或 geojson" in response.content.decode()


@pytest.fixture
def zone_conflicts(tmp_path):
    """A rule between two test layers, with overlaps in two counties."""
    a = register_layer("plan_a", "规划甲", "Plan A", fields={"MC": "string"}, access_level="internal")[0]
    b = register_layer("plan_b", "规划乙", "Plan B", fields={"MC": "string"}, access_level="internal")[0]
    boxes = [square(116.58, 35.40, 500), square(116.80, 35.65, 500)]
    import_layer(a.slug, write_geojson(tmp_path / "a.geojson", boxes, [{"MC": "甲1"}, {"MC": "甲2"}]))
    shifted = [shapely.affinity.translate(g, xoff=0.002) for g in boxes]
    import_layer(b.slug, write_geojson(tmp_path / "b.geojson", shifted, [{"MC": "乙1"}, {"MC": "乙2"}]))
    rule = ConflictRule.objects.create(slug="plan_a_over_b", title_zh="甲乙冲突", title_en="A over B",
                                       layer_a=Layer.objects.get(pk=a.pk), layer_b=Layer.objects.get(pk=b.pk))
    conflicts.recompute(rule)
    return rule


def test_the_conflict_page_and_export_by_county(client, zone_conflicts, tmp_path):
    sign_in(client, Role.CITY_PLANNER)
    html = client.get("/maps/conflicts?rule=plan_a_over_b").content.decode()
    counties = counties_of(html)
    assert counties == {WEST, "370812"}
    export = client.get("/maps/conflicts.geojson?rule=plan_a_over_b")
    path = tmp_path / "c.geojson"
    path.write_bytes(b"".join(export.streaming_content))
    meta, _, wkb, fields = pyogrio.raw.read(str(path))
    areas = fields[list(meta["fields"]).index("area_m2")]
    assert len(wkb) == 2 and all(a > 0 for a in areas)

    client.logout()
    sign_in(client, Role.COUNTY_PLANNER, username="county-west", districts=[WEST])
    html = client.get("/maps/conflicts?rule=plan_a_over_b").content.decode()
    assert counties_of(html) == {WEST}
    other = next(c for c in counties if c != WEST)
    assert client.get(f"/maps/conflicts.gpkg?rule=plan_a_over_b&county={other}").status_code == 404
    assert client.get("/maps/conflicts?rule=no_such_rule").status_code == 404


def staff(role, **profile):
    user = make_person(role, **profile)
    user.is_staff = True
    user.save()
    return user


def test_the_admin_shows_the_impact_then_rolls_back_with_a_reason(client, two_versions):
    log_in(client, staff(Role.CITY_PLANNER, username="admin-planner"))
    first = two_versions.versions.get(number=1)
    page = client.get(f"/admin/layers/layerversion/{first.pk}/activate/")
    assert page.status_code == 200 and "启用前的影响" in page.content.decode()
    assert "评估了" in page.content.decode()  # the compliance preview ran
    refused = client.post(f"/admin/layers/layerversion/{first.pk}/activate/", {"reason": ""})
    assert "须写明原因" in refused.content.decode()
    assert Layer.objects.get(pk=two_versions.pk).active_version.number == 2
    done = client.post(f"/admin/layers/layerversion/{first.pk}/activate/", {"reason": "误删图斑"})
    assert done.status_code == 302
    assert Layer.objects.get(pk=two_versions.pk).active_version.number == 1
    assert AuditEntry.objects.filter(action="layer.rollback", target="page_patches",
                                     detail__reason="误删图斑").exists()
    queued = client.post("/admin/compliance/check/rerun-stale/", {"layer": "page_patches"})
    assert queued.status_code == 302
    assert AuditEntry.objects.filter(action="check.rerun_queue", target="page_patches").exists()


def test_a_county_planner_cannot_switch_versions(client, two_versions):
    log_in(client, staff(Role.COUNTY_PLANNER, username="admin-county", districts=[WEST]))
    first = two_versions.versions.get(number=1)
    response = client.post(f"/admin/layers/layerversion/{first.pk}/activate/", {"reason": "x"})
    assert response.status_code == 302 and Layer.objects.get(pk=two_versions.pk).active_version.number == 2
