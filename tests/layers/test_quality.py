"""Quality rules (质量校验): each kind on data built to fail it and to pass it, with the expected
figures computed here (shapely, pyproj's Geod), never read from the code under test."""

import pytest
import shapely
from shapely import affinity

from layers.importers import import_layer
from layers.models import District, Feature, Layer
from layers.quality.models import QualityRule
from layers.quality.reports import version_report
from layers.quality.runner import run_quality
from layers.services import register_layer
from tests.layers.helpers import geod_area, jining_patches, square, write_geojson

pytestmark = pytest.mark.django_db

FIELDS = {"NAME": "string", "TBBH": "string", "DLBM": "string", "ZLDWDM": "string", "MJ": "number"}


def make_layer(*rules, fields=FIELDS) -> Layer:
    layer = register_layer("q_test", "质检测试", "Quality test", fields=fields)[0]
    for order, (code, kind, params, blocking) in enumerate(rules):
        QualityRule.objects.create(
            layer=layer, code=code, kind=kind, params=params, blocking=blocking, order=order
        )
    return layer


def load(tmp_path, layer, geoms, props=None, **kwargs):
    props = props or [{"NAME": f"n{i}"} for i in range(len(geoms))]
    summary = import_layer(
        layer.slug,
        write_geojson(
            tmp_path / f"{len(list(tmp_path.iterdir()))}.geojson", geoms, props, kwargs.pop("crs_name", None)
        ),
        **kwargs,
    )
    layer.refresh_from_db()
    return layer.versions.get(number=summary.version), summary


def failing(version, rule: str) -> dict[str, dict]:
    """NAME of each failing feature → its failure (a failure without a feature under its reason)."""
    report = version_report(version, limit=10_000)
    out = {}
    for failure in report["failures"]:
        if failure["rule"] != rule:
            continue
        feature = Feature.objects.filter(version=version, fid=failure["fid"]).first()
        out[feature.properties["NAME"] if feature else f"#{failure['fid']}"] = failure
    assert report["rules"] and {r["id"]: r["failed"] for r in report["rules"]}[rule] == len(
        [f for f in report["failures"] if f["rule"] == rule]
    )
    return out


def test_geometry_valid_reports_rejected_and_repaired(tmp_path):
    (good,) = jining_patches(1)
    x0, y0, x1, y1 = good.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    assert not shapely.is_valid(bowtie)
    layer = make_layer(("geometry", "geometry_valid", {"repaired_fail": True}, True))
    version, summary = load(tmp_path, layer, [good, bowtie, shapely.Polygon()], activate=True)
    report = version_report(version)
    stages = sorted(f["details"]["stage"] for f in report["failures"])
    assert stages == ["rejected", "repaired"] and report["status"] == "blocked"
    assert not summary.activated and layer.active_version_id is None
    clean, _ = load(tmp_path, layer, [good])
    assert (
        version_report(clean)["rules"][0]["failed"] == 0
        and Layer.objects.get(pk=layer.pk).active_version == clean
    )


def test_cgcs2000_declared_passes_and_crs84_fails(tmp_path):
    layer = make_layer(("crs", "cgcs2000", {}, False))
    patches = jining_patches(2)
    declared, _ = load(tmp_path, layer, patches[:1], crs_name="urn:ogc:def:crs:EPSG::4490")
    plain, _ = load(tmp_path, layer, patches[1:])  # GeoJSON without "crs": CRS84 (WGS 84)
    assert version_report(declared)["rules"][0]["failed"] == 0
    assert version_report(plain)["rules"][0]["failed"] == 1


def test_required_attributes_present_and_typed(tmp_path):
    layer = make_layer(("req", "required_attributes", {"fields": ["TBBH", "MJ"]}, False))
    props = [
        {"NAME": "full", "TBBH": "0001", "MJ": 12.0},
        {"NAME": "no_tbbh", "MJ": 5.5},
        {"NAME": "blank", "TBBH": "", "MJ": 1.0},
        {"NAME": "half", "TBBH": "0004", "MJ": 2.5},
    ]
    version, _ = load(tmp_path, layer, jining_patches(4), props)
    fails = failing(version, "req")
    assert set(fails) == {"no_tbbh", "blank"} and fails["no_tbbh"]["details"]["missing"] == ["TBBH"]
    # The schema says MJ is an integer now: 5.5, 2.5 are mistyped; 12 and 1 are integers.
    Layer.objects.filter(pk=layer.pk).update(fields={**FIELDS, "MJ": "integer"})
    version.layer.refresh_from_db()
    run_quality(version, run_by="test")
    fails = failing(version, "req")
    expected_wrong = {p["NAME"] for p in props if "MJ" in p and not float(p["MJ"]).is_integer()}
    assert {n for n, f in fails.items() if f["details"]["wrong_type"]} == expected_wrong


def test_code_lists(tmp_path):
    layer = make_layer(
        ("dl", "code_list", {"field": "DLBM", "list": "gbt21010"}, False),
        ("village", "code_list", {"field": "ZLDWDM", "list": "gbt2260", "prefix_length": 6}, False),
        ("project", "code_list", {"field": "TBBH", "list": "project_code"}, False),
    )
    known = District.objects.filter(level="county").values_list("code", flat=True).first()
    props = [
        {"NAME": "ok", "DLBM": "0102", "ZLDWDM": f"{known}001001", "TBBH": f"2024-{known}-48-01-000123"},
        {"NAME": "bad_dl", "DLBM": "0199", "ZLDWDM": f"{known}002001", "TBBH": "2024-999999-48-01-000001"},
        {"NAME": "bad_village", "DLBM": "0103", "ZLDWDM": "999999001001", "TBBH": "not a code"},
    ]
    version, _ = load(tmp_path, layer, jining_patches(3), props)
    assert set(failing(version, "dl")) == {
        "bad_dl"
    }  # 0199 is no GB/T 21010 class; 0102 水浇地, 0103 旱地 are
    assert set(failing(version, "village")) == {"bad_village"}
    assert set(failing(version, "project")) == {"bad_dl", "bad_village"}


def test_within_the_claimed_district(tmp_path):
    county = District.objects.filter(level="county", geom__isnull=False).order_by("code").first()
    boundary = shapely.from_wkb(bytes(county.geom.wkb))
    inside = square(*shapely.get_coordinates(shapely.point_on_surface(boundary))[0], 200)
    assert boundary.contains(inside)
    west = boundary.bounds[0]
    lat = shapely.get_coordinates(shapely.point_on_surface(boundary))[0][1]
    straddling = shapely.box(west - 0.01, lat - 0.002, west + 0.01, lat + 0.002)
    layer = make_layer(("within", "within_districts", {"tolerance_m2": 1.0}, False))
    version, _ = load(tmp_path, layer, [inside, straddling], coverage=[county.code])
    fails = failing(version, "within")
    assert set(fails) == {"n1"}
    expected = geod_area(straddling.difference(boundary))
    assert fails["n1"]["details"]["outside_m2"] == pytest.approx(expected, rel=2e-3)


def test_overlaps_found_by_the_self_join(tmp_path):
    a, b, c = jining_patches(3)
    width = a.bounds[2] - a.bounds[0]
    overlapping = affinity.translate(a, xoff=width * 0.1)  # 30 m east: overlaps a, not b (50 m on)
    touching = shapely.box(c.bounds[2], c.bounds[1], c.bounds[2] + width, c.bounds[3])  # shares an edge
    layer = make_layer(("overlaps", "no_overlaps", {"tolerance_m2": 0.01}, True))
    version, summary = load(tmp_path, layer, [a, overlapping, b, c, touching])
    fails = failing(version, "overlaps")
    assert not overlapping.intersects(b) and set(fails) == {"n0"}
    assert fails["n0"]["details"]["overlap_m2"] == pytest.approx(
        geod_area(a.intersection(overlapping)), rel=1e-3
    )
    assert not summary.activated  # blocking
    ok, ok_summary = load(tmp_path, layer, [a, b, c, touching])
    assert failing(ok, "overlaps") == {} and ok_summary.activated


def test_gaps_and_slivers_where_a_layer_must_tile(tmp_path):
    county = District.objects.filter(level="county", geom__isnull=False).order_by("code").first()
    boundary = shapely.from_wkb(bytes(county.geom.wkb))
    centre = shapely.get_coordinates(shapely.point_on_surface(boundary))[0]
    hole = square(*centre, 500)
    layer = make_layer(("tiles", "tiles_coverage", {"ignore_below_m2": 1.0, "sliver_m2": 100.0}, False))
    whole, _ = load(tmp_path, layer, [boundary], coverage=[county.code])
    assert failing(whole, "tiles") == {}
    holed, _ = load(tmp_path, layer, [boundary.difference(hole)], coverage=[county.code])
    report = version_report(holed)
    gaps = [f for f in report["failures"] if f["rule"] == "tiles"]
    assert len(gaps) == 1 and gaps[0]["fid"] is None and "空隙" in gaps[0]["reason_zh"]
    assert gaps[0]["details"]["gap_m2"] == pytest.approx(geod_area(hole), rel=2e-3)


def test_stated_area_against_the_ellipsoidal_area(tmp_path):
    patches = jining_patches(3)
    areas = [geod_area(p) for p in patches]
    props = [
        {"NAME": "exact", "MJ": areas[0] / 666.6666666667},  # stated in 亩
        {"NAME": "off_by_50", "MJ": (areas[1] + 50.0) / 666.6666666667},
        {"NAME": "within", "MJ": (areas[2] + 0.5) / 666.6666666667},
    ]
    layer = make_layer(
        (
            "area",
            "area_agrees",
            {"field": "MJ", "unit": "mu", "tolerance_m2": 1.0, "tolerance_share": 0.0},
            False,
        )
    )
    version, _ = load(tmp_path, layer, patches, props)
    fails = failing(version, "area")
    assert set(fails) == {"off_by_50"}
    assert fails["off_by_50"]["details"]["stated_m2"] - fails["off_by_50"]["details"][
        "ellipsoidal_m2"
    ] == pytest.approx(50.0, abs=0.05)


def test_duplicates_by_geometry_and_by_key(tmp_path):
    a, b, c = jining_patches(3)
    rotated = shapely.Polygon(
        list(a.exterior.coords)[2:-1] + list(a.exterior.coords)[:3]
    )  # other start vertex
    assert rotated.equals(a)
    props = [
        {"NAME": "a", "ZLDWDM": "v1", "TBBH": "1"},
        {"NAME": "a_again", "ZLDWDM": "v2", "TBBH": "1"},
        {"NAME": "b", "ZLDWDM": "v1", "TBBH": "2"},
        {"NAME": "b_key", "ZLDWDM": "v1", "TBBH": "2"},
    ]
    layer = make_layer(("dup", "duplicates", {"key_fields": ["ZLDWDM", "TBBH"]}, False))
    version, _ = load(tmp_path, layer, [a, rotated, b, c], props)
    report = version_report(version)
    by = {(f["details"]["by"] if isinstance(f["details"]["by"], str) else "key") for f in report["failures"]}
    assert by == {"geometry", "key"} and set(failing(version, "dup")) == {"a_again", "b_key"}


def test_counts_per_county(tmp_path):
    counties = list(District.objects.filter(level="county", geom__isnull=False).order_by("code")[:2])
    squares = []
    for county in counties:
        point = shapely.get_coordinates(shapely.point_on_surface(shapely.from_wkb(bytes(county.geom.wkb))))[0]
        squares.append(square(*point, 100))
    props = [{"NAME": "x"}, {"NAME": "y", "TBBH": "1"}]
    layer = make_layer(("req", "required_attributes", {"fields": ["TBBH"]}, False))
    version, _ = load(tmp_path, layer, squares, props, coverage=[c.code for c in counties])
    whole = version_report(version)
    assert whole["counties"][counties[0].code]["total"] == 1 and counties[1].code not in whole["counties"]
    assert version_report(version, county=counties[1].code)["failures_total"] == 0
    assert version_report(version, county=counties[0].code)["failures"][0]["county"] == counties[0].code
