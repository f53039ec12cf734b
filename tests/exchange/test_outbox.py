"""The outbox on the real databases: rows written with their change, sent by procrastinate's
worker into the front database, read back by an independent reader, and the province's feedback."""

import io
import zipfile

import pyogrio.raw
import pytest
import shapely
from django.db import connection, transaction
from shapely import affinity

from blueprint.tasks import run_until_idle
from compliance.parsers import parse_site
from exchange import delivery
from exchange.models import OutboxRow, State, Table
from layers.models import Project
from layers.services import add_site_revision
from tests.exchange.conftest import front_rows
from tests.layers.helpers import geod_area

pytestmark = pytest.mark.django_db

PROJECT_CODE = "2022-370811-47-01-000002"  # a demo project in 任城区 (370811)


def project() -> Project:
    return Project.objects.get(code=PROJECT_CODE)


def inner_site(scale: float = 0.8) -> shapely.MultiPolygon:
    """A site inside the project's current one (so inside its district): a new revision."""
    current = shapely.from_wkb(bytes(project().current_site.geom.wkb))
    return shapely.MultiPolygon([affinity.scale(p, scale, scale) for p in shapely.get_parts(current)])


def test_a_site_revision_reaches_the_front_database_and_its_txt_reads_back(front, province):
    site = inner_site()
    revision = add_site_revision(project(), site, note="exchange test")
    row = OutboxRow.objects.get(site_revision=revision, valid=True)
    assert row.state == State.PENDING and row.table == Table.SITE and row.district_id == "370811"
    run_until_idle(["exchange"])  # procrastinate's worker runs the push the revision deferred
    [sent] = [r for r in front_rows(front, Table.SITE) if r["dfsjzj"] == OutboxRow.objects.get(pk=row.pk).key]
    assert sent["xmdm"] == PROJECT_CODE and sent["xzqhdm"] == "370811" and sent["sjyxbs"] == 1
    assert sent["sjsczt"] == 0 and sent["jzwjxh"] == str(revision.number)
    # Our own parser, as any recipient would read the 界址坐标 file, gives the same geometry back.
    parsed = parse_site(bytes(sent["jzwjfj"]), format="txt").geometry
    assert geod_area(parsed) == pytest.approx(geod_area(site), rel=1e-6)
    assert shapely.hausdorff_distance(parsed, site) < 1e-8  # every vertex within ~1 mm (4 decimals in m)
    row.refresh_from_db()
    assert row.state == State.SENT and row.sent_at is not None


def test_the_provinces_verdict_is_read_back(front, province):
    add_site_revision(project(), inner_site(0.7))
    run_until_idle(["exchange"])
    assert province.take() >= 1
    assert delivery.poll() >= 1
    row = OutboxRow.objects.filter(table=Table.SITE, valid=True).latest("id")
    assert row.state == State.ACCEPTED and row.province_status == 2
    assert row.get_state_display().startswith("省级已接收")


def waiting_pushes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'exchange.push'"
                       " AND status = 'todo'")
        return cursor.fetchone()[0]


def test_a_rolled_back_change_writes_no_row_and_queues_no_push(front):
    run_until_idle(["exchange"])
    before, pushes = OutboxRow.objects.count(), waiting_pushes()
    assert pushes == 0
    with pytest.raises(RuntimeError), transaction.atomic():
        add_site_revision(project(), inner_site(0.6))
        assert OutboxRow.objects.count() > before and waiting_pushes() == 1  # inside the change's
        raise RuntimeError("the request failed afterwards")
    assert OutboxRow.objects.count() == before and waiting_pushes() == 0


def test_a_new_revision_invalidates_the_old_row_with_two_new_rows(front, province):
    first = add_site_revision(project(), inner_site(0.8))
    run_until_idle(["exchange"])
    old = OutboxRow.objects.get(site_revision=first, valid=True)
    second = add_site_revision(project(), inner_site(0.5))
    run_until_idle(["exchange"])
    rows = {r["dfsjzj"]: r for r in front_rows(front, Table.SITE)}
    invalid = OutboxRow.objects.get(supersedes=old, valid=False)
    new = OutboxRow.objects.get(site_revision=second, valid=True)
    assert invalid.pk < new.pk and new.supersedes_id == old.pk
    assert rows[old.key]["sjyxbs"] == 1  # never edited
    assert rows[invalid.key]["sjyxbs"] == 0 and new.key in rows[invalid.key]["sjwxyy"]
    assert rows[invalid.key]["jzwjxh"] == str(first.number)  # it names the old record
    assert rows[new.key]["sjyxbs"] == 1 and rows[new.key]["jzwjxh"] == str(second.number)
    province.take()
    delivery.poll()
    assert set(OutboxRow.objects.filter(pk__in=[old.pk, invalid.pk, new.pk])
               .values_list("state", flat=True)) == {State.ACCEPTED}


def test_a_site_outside_its_district_fails_the_local_check_and_is_not_sent(front):
    far = shapely.MultiPolygon([shapely.box(112.10, 32.00, 112.11, 32.01)])  # in Xiangyang, not 任城区
    revision = add_site_revision(project(), far)
    run_until_idle(["exchange"])
    row = OutboxRow.objects.get(site_revision=revision, valid=True)
    assert row.state == State.LOCAL_FAILED and row.province_status == -1
    assert "之外" in row.problem and "370811" in row.problem
    assert row.key not in {r["dfsjzj"] for r in front_rows(front, Table.SITE)}


def test_a_stored_check_of_a_project_becomes_an_opinion_row(front, province):
    from compliance.services import check_project

    check = check_project(project(), created_by="planner-a")
    row = OutboxRow.objects.get(check_result=check)
    run_until_idle(["exchange"])
    [sent] = [r for r in front_rows(front, Table.OPINION) if r["dfsjzj"] == row.key]
    assert sent["qqyjslbm"] == str(check.pk) and sent["xmdm"] == PROJECT_CODE and sent["blr"] == "planner-a"
    assert sent["bldwmc"] == "济宁市自然资源和规划局" and sent["fjid"].endswith(f"{check.pk}/report.pdf")
    assert "合规性检查结论" in sent["qqyj"]
    province.take()
    delivery.poll()
    row.refresh_from_db()
    assert row.state == State.ACCEPTED


def test_control_line_version_gives_a_shapefile_per_county_read_back_by_pyogrio(front, tmp_path, small_data):
    from layers.importers import import_layer
    from layers.models import District, Layer

    source = small_data / "water_body.gpkg"
    # A new version (other content than the loaded one): a water body shifted by 10 m.
    meta, _, geoms, fields = pyogrio.raw.read(source)
    shifted = [shapely.to_wkb(affinity.translate(shapely.from_wkb(g), 1e-4, 0)) for g in geoms]
    path = tmp_path / "water_body.gpkg"
    pyogrio.raw.write(path, shifted, fields, meta["fields"], crs=meta["crs"], geometry_type="MultiPolygon",
                      promote_to_multi=True)
    import_layer("water_body", path)
    layer = Layer.objects.get(slug="water_body")
    rows = list(OutboxRow.objects.filter(layer_version=layer.active_version, valid=True))
    assert rows and {r.district.level for r in rows} <= {"city", "county"}
    run_until_idle(["exchange"])
    sent = {r["dfsjzj"]: r for r in front_rows(front, Table.CONTROL_LINE)}
    row = next(r for r in rows if r.district.level == "county")
    record = sent[row.key]
    archive = zipfile.ZipFile(io.BytesIO(bytes(record["kzxwjfj"])))
    names = {n.rsplit(".", 1)[1] for n in archive.namelist()}
    assert {"shp", "shx", "dbf", "prj", "cpg"} <= names
    archive.extractall(tmp_path / "out")
    shp = next((tmp_path / "out").glob("*.shp"))
    assert (tmp_path / "out" / shp.with_suffix(".cpg").name).read_text() == "GBK"
    read_meta, _, read_geoms, read_fields = pyogrio.raw.read(shp)
    assert read_meta["crs"] == "EPSG:4490" and list(read_meta["fields"]) == list(layer.fields)
    # Expected part: the new features clipped to the county, by shapely on the source file.
    county = shapely.from_wkb(bytes(District.objects.get(code=row.district_id).geom.wkb))
    expected = shapely.union_all([shapely.intersection(shapely.from_wkb(g), county) for g in shifted])
    got = shapely.union_all(shapely.from_wkb(read_geoms))
    assert geod_area(got) == pytest.approx(geod_area(expected), rel=1e-6)
    names_back = set(read_fields[list(read_meta["fields"]).index("MC")]) - {None}
    assert names_back and all(isinstance(n, str) for n in names_back)
    assert names_back <= set(fields[list(meta["fields"]).index("MC")])  # GBK decoded back to the names
