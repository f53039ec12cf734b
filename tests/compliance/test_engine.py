"""Golden cases of the check engine on the small fixtures, expected figures from oracle.py."""

import psycopg2
import pytest
import shapely
from django.db import DatabaseError, transaction

from compliance.models import Check
from compliance.services import gate, rerun_check, run_check
from layers.crs import wgs84_to_gcj02
from layers.models import Project
from tests.compliance import oracle
from tests.layers.helpers import geod_area, square

pytestmark = pytest.mark.django_db


def finding(check: Check, rule_id: str):
    return check.findings.get(rule_id=rule_id)


def test_farmland_occupation_fails_with_the_right_area(small_data):
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    patch = next(g for g in geoms if oracle.coverage(small_data).contains(g.buffer(0.01)))
    site = shapely.box(*shapely.buffer(patch.centroid, 0.004).bounds)  # ~0.8 km square over patches
    expected = oracle.overlap_m2(site, geoms)
    check = run_check(site)
    result = finding(check, "basic_farmland")
    assert result.status == "fail" and check.verdict == "fail"
    assert result.measures["overlap"]["m2"] == pytest.approx(expected, rel=1e-6)
    assert result.measures["share"] == pytest.approx(expected / geod_area(site), rel=1e-4)
    assert result.measures["overlap"]["mu"] == pytest.approx(expected * 15 / 10000, rel=1e-4)
    hit_count = len(shapely.STRtree(geoms).query(site, predicate="intersects"))
    assert len(result.features) == hit_count and {"TBBH", "DLMC"} <= set(result.features[0]["attributes"])
    assert sum(f["overlap"]["m2"] for f in result.features) == pytest.approx(expected, rel=1e-6)
    assert result.conflict_geom is not None
    assert geod_area(shapely.from_wkb(bytes(result.conflict_geom.wkb))) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("overlap_m2", [0.05, 3.0, 150.0])
def test_shared_border_sliver_review_band_and_fail(small_data, overlap_m2):
    """A site on a farmland patch's border, pushed a hair, a little and clearly into it."""
    site, _ = oracle.border_site(small_data, "basic_farmland", overlap_m2)
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    area = oracle.overlap_m2(site, geoms)
    expected = oracle.grade(area, area / geod_area(site), oracle.RULES["basic_farmland"])
    result = finding(run_check(site), "basic_farmland")
    assert result.status == expected
    assert result.measures["overlap"]["m2"] == pytest.approx(area, rel=1e-3, abs=1e-3)


def test_the_three_grades_are_all_exercised(small_data):
    """Guard the parametrised case above against testing one grade three times."""
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    grades = []
    for overlap_m2 in [0.05, 3.0, 150.0]:
        site, _ = oracle.border_site(small_data, "basic_farmland", overlap_m2)
        area = oracle.overlap_m2(site, geoms)
        grades.append(oracle.grade(area, area / geod_area(site), oracle.RULES["basic_farmland"]))
    assert grades == ["pass", "needs_review", "fail"]


def test_state_council_exception_turns_farmland_fail_into_review(small_data):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    result = finding(run_check(site, category="major_state_council"), "basic_farmland")
    assert result.status == "needs_review"
    assert result.measures["exception"]["status_without"] == "fail"


def test_within_boundary_reports_the_area_outside(small_data):
    boundaries, _ = oracle.layer_features(small_data, "urban_development_boundary")
    zone = max(boundaries, key=lambda g: g.area)
    west, south, east, north = zone.bounds
    site = shapely.box(west - 0.002, (south + north) / 2, west + 0.004, (south + north) / 2 + 0.004)
    outside = oracle.outside_m2(site, boundaries)
    check = run_check(site)
    result = finding(check, "urban_development_boundary")
    assert outside > 0 and result.status == "fail"
    assert result.measures["outside"]["m2"] == pytest.approx(outside, rel=1e-6)
    assert result.measures["outside_share"] == pytest.approx(outside / geod_area(site), rel=1e-4)
    linear = run_check(site, category="linear_infrastructure")
    assert finding(linear, "urban_development_boundary_linear").status == "warn"
    assert not linear.findings.filter(rule_id="urban_development_boundary").exists()


def test_special_use_zone_condition(small_data):
    boundaries, props = oracle.layer_features(small_data, "urban_development_boundary")
    special = [g for g, p in zip(boundaries, props, strict=True) if p["GHFQMC"] == "特别用途区"]
    candidates = [square(g.representative_point().x - 0.0003, g.representative_point().y - 0.0003, 40)
                  for g in special]
    site = next(c for c, g in zip(candidates, special, strict=True) if g.contains(c))
    result = finding(run_check(site), "special_use_zone")
    assert result.status == "warn"
    # The message says the condition in words, never as CQL2.
    assert "特别用途区" in result.message_zh and "GHFQMC" not in result.message_zh + result.message_en
    assert result.measures["overlap"]["m2"] == pytest.approx(geod_area(site), rel=1e-6)


def test_water_buffer_and_nearest_distance(small_data):
    water, _ = oracle.layer_features(small_data, "water_body")
    covered = oracle.coverage(small_data)
    lakes = shapely.union_all(water)
    band = lakes.buffer(0.0004).difference(lakes.buffer(0.0001))  # ~10–40 m from the shore
    for shore in shapely.get_parts(lakes):
        x, y = shapely.get_coordinates(shore.exterior)[0]
        window = shapely.box(x - 0.002, y - 0.002, x + 0.002, y + 0.002)
        near = band.intersection(window)
        if covered.contains(window.buffer(0.003)) and not near.is_empty:
            break
    near = max(shapely.get_parts(near), key=lambda p: p.area)
    edge = (x, y)
    result = finding(run_check(near), "water_body_buffer")
    assert result.status == "warn" and 5 < result.measures["closest_m"] < 30
    far = square(edge[0], edge[1], 150).difference(lakes.buffer(0.001))  # ≥ ~90 m from water
    far = max(shapely.get_parts(far), key=lambda p: p.area)
    away = finding(run_check(far), "water_body_buffer")
    assert away.status == "pass" and away.measures["nearest"]["distance_m"] > 30


def test_outside_the_data_is_not_covered_never_pass(small_data):
    yanzhou = square(116.83, 35.55, 300)  # 兖州区 370812: districts loaded, control lines not built
    assert "370812" not in oracle.covered_counties(small_data)
    check = run_check(yanzhou)
    statuses = set(check.findings.values_list("status", flat=True))
    assert statuses == {"not_covered"} and check.verdict == "not_covered"


def test_a_rule_whose_data_cannot_be_read_is_an_error_never_a_pass(small_data):
    """Another session holds the feature tables locked: the check is stored, with `error` findings."""
    from django.db import connection
    db = connection.settings_dict
    other = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    site = square(116.56, 35.43, 200)
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; LOCK TABLE layers_feature IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        check = run_check(site)
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    statuses = dict(check.findings.values_list("rule_id", "status"))
    assert check.verdict == "error" and "pass" not in statuses.values()
    assert statuses["basic_farmland"] == "error"
    assert "lock" in finding(check, "basic_farmland").message_en


def test_gcj02_site_is_checked_where_it_really_is(small_data):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    from compliance.services import submit_check

    gx, gy = wgs84_to_gcj02(*shapely.get_coordinates(site).T)
    as_gcj = shapely.geometry.mapping(shapely.Polygon(list(zip(gx, gy, strict=True))))
    direct = finding(run_check(site), "basic_farmland").measures["overlap"]["m2"]
    via_gcj = submit_check(as_gcj, crs_name="GCJ02")
    assert via_gcj.source_crs == "GCJ02"
    assert finding(via_gcj, "basic_farmland").measures["overlap"]["m2"] == pytest.approx(direct, rel=1e-4)


def test_same_input_same_versions_same_findings(small_data):
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    first, second = run_check(site), run_check(site)
    assert first.result_hash == second.result_hash and first.pk != second.pk
    rerun = rerun_check(first)
    assert rerun.rerun_of == first and rerun.result_hash == first.result_hash


def test_results_are_immutable(small_data):
    check = run_check(square(116.58, 35.40, 100))
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Check.objects.filter(pk=check.pk).update(verdict="pass")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        check.findings.all().delete()


def test_gate_follows_the_latest_check_and_notices_staleness(small_data, tmp_path):
    from compliance.services import check_project
    from layers.importers import import_layer
    from tests.layers.helpers import write_geojson

    project = Project.objects.exclude(category="major_state_council").order_by("code").first()
    assert gate(project.code, "1").decision == "blocked"  # no check yet
    check = check_project(project)
    decision = gate(project.code, "1")
    assert decision.check_result == check and not decision.stale
    expected = {"pass": "allowed", "warn": "allowed", "fail": "blocked"}.get(check.verdict, "needs_review")
    assert decision.decision == expected
    water = oracle.layer_features(small_data, "water_body")[0][:3]
    import_layer("water_body", write_geojson(tmp_path / "w.geojson", list(water),
                                             [{"MC": "新", "LX": "湖泊", "LY": "test"}] * 3))
    later = gate(project.code, "1")
    assert later.stale and any("water_body" in reason for reason in later.reasons)
    assert later.decision in ("needs_review", "blocked")


def test_empty_site_is_refused():
    from blueprint.errors import InvalidInput

    with pytest.raises(InvalidInput, match="empty"):
        run_check(shapely.Polygon())
