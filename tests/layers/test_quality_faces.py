"""The quality report's faces (page with the map, JSON, PDF) and the admin's preview and confirm."""

import pytest
import shapely

from blueprint.models import AuditEntry, Role
from layers.models import Layer
from layers.quality.models import QualityRule
from layers.services import register_layer
from tests.layers.helpers import jining_patches, write_geojson
from tests.roles import log_in, make_person

pytestmark = pytest.mark.django_db


def test_report_page_json_and_pdf(client, small_data):
    log_in(client, make_person(Role.CITY_PLANNER, "qf-city"))
    layer = Layer.objects.get(slug="basic_farmland")
    number = layer.active_version.number
    page = client.get(f"/maps/quality/basic_farmland/{number}")
    assert page.status_code == 200 and "数据质量校验报告" in page.content.decode()
    body = client.get(f"/api/layers/basic_farmland/versions/{number}/quality").json()
    assert body["features"] == layer.active_version.feature_count
    assert {r["id"] for r in body["rules"]} == set(
        layer.quality_rules.filter(enabled=True).values_list("code", flat=True))
    pdf = client.get(f"/api/layers/basic_farmland/versions/{number}/quality.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    rerun = client.post(f"/api/layers/basic_farmland/versions/{number}/quality/run")
    assert rerun.status_code == 201 and rerun.json()["report_id"] > body["report_id"]
    assert AuditEntry.objects.filter(action="quality.run", target="basic_farmland").exists()


def test_a_county_planner_reads_only_its_county(client, small_data):
    layer = Layer.objects.get(slug="basic_farmland")
    number = layer.active_version.number
    log_in(client, make_person(Role.COUNTY_PLANNER, "qf-county", districts=["370811"]))
    mine = client.get(f"/api/layers/basic_farmland/versions/{number}/quality")
    assert mine.status_code == 200 and mine.json()["county"] == "370811"
    other = client.get(f"/api/layers/basic_farmland/versions/{number}/quality?county=370812")
    assert other.status_code == 404 and other["Content-Type"].startswith("application/problem+json")


def test_admin_preview_then_confirm_and_only_an_administrator_overrides(client, tmp_path):
    layer = register_layer(
        "qf_admin", "后台预览", "Admin preview", fields={"NAME": "string", "MJ": "number"}
    )[0]
    QualityRule.objects.create(layer=layer, code="overlaps", kind="no_overlaps", blocking=True)
    a, _ = jining_patches(2)
    b = shapely.affinity.translate(a, xoff=(a.bounds[2] - a.bounds[0]) / 10)
    path = write_geojson(tmp_path / "o.geojson", [a, b], [{"NAME": "a", "X": 1}, {"NAME": "b", "X": 2}])
    log_in(client, make_person(Role.CITY_PLANNER, "qf-planner"))
    with path.open("rb") as handle:
        response = client.post(
            f"/admin/layers/layer/{layer.pk}/import/",
            {"file": handle, "crs": "EPSG:4490", "coverage": "", "access_level": "public"},
        )
    assert response.status_code == 302 and "/preview/1/" in response["Location"]
    preview = client.get(response["Location"]).content.decode()
    assert "文件缺少的字段" in preview and "MJ" in preview and "X" in preview and "阻断" in preview
    client.post(
        response["Location"], {"action": "confirm", "override_reason": "城市规划人员不能强制启用此版本"}
    )
    assert Layer.objects.get(pk=layer.pk).active_version is None  # a planner may not override
    log_in(client, make_person(Role.SYSTEM_ADMIN, "qf-admin"))
    client.post(
        response["Location"], {"action": "confirm", "override_reason": "系统管理员：重叠已核实，先行启用"}
    )
    layer.refresh_from_db()
    assert layer.active_version.number == 1 and layer.access_level == "public"
    assert layer.active_version.source_crs == "EPSG:4490"
    assert AuditEntry.objects.get(action="quality.override", target=layer.slug).actor == "qf-admin"


def test_submission_pages_for_the_county_and_the_city(client, tmp_path, small_data):
    import datetime as dt

    from layers.models import Feature
    from layers.quality.models import Submission

    farmland = Layer.objects.get(slug="basic_farmland")
    features = list(
        Feature.objects.filter(version=farmland.active_version, properties__ZLDWDM__startswith="370811")[:5]
    )
    path = write_geojson(
        tmp_path / "s.geojson",
        [shapely.from_wkb(bytes(f.geom.wkb)) for f in features],
        [f.properties for f in features],
        "urn:ogc:def:crs:EPSG::4490",
    )
    log_in(client, make_person(Role.COUNTY_PLANNER, "qf-county2", districts=["370811"]))
    form = client.get("/maps/submissions").content.decode()
    assert "报送本县数据" in form and "逾期未整改" not in form
    with path.open("rb") as handle:
        sent = client.post(
            "/maps/submissions", {"layer": "basic_farmland", "county": "370811", "file": handle}
        )
    assert sent.status_code == 302
    submission = Submission.objects.get(county_id="370811", submitted_by="qf-county2")
    assert "质量校验" in client.get(sent["Location"]).content.decode()
    log_in(client, make_person(Role.CITY_PLANNER, "qf-city2"))
    assert "报送队列" in client.get("/maps/submissions").content.decode()
    deadline = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    client.post(
        sent["Location"], {"action": "return", "reasons": "请补充 370811 其余图斑", "deadline": deadline}
    )
    assert Submission.objects.get(pk=submission.pk).state == "returned"
    log_in(client, make_person(Role.COUNTY_PLANNER, "qf-county3", districts=["370811"]))
    page = client.get(sent["Location"]).content.decode()
    assert "市级反馈" in page and "请补充 370811 其余图斑" in page and deadline in page
