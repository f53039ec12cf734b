"""多规合一 conflict patches: areas per county against pyproj Geod areas of shapely intersections,
and their recomputation when a layer switches version (a procrastinate job)."""

import numpy as np
import pyogrio.raw
import pytest
import shapely

from blueprint.tasks import run_until_idle
from layers import conflicts
from layers.importers import import_layer
from layers.models import ConflictPatch, ConflictRule, District, Layer
from layers.services import register_layer
from layers.versions import activate_version, get_version
from tests.layers.helpers import straight_edge_area_m2, write_geojson

pytestmark = pytest.mark.django_db
WEST, EAST = "370811", "370826"


def county(code):
    return shapely.from_wkb(bytes(District.objects.get(code=code).geom.wkb))


def farmland(small_data):
    _, _, wkb, _ = pyogrio.raw.read(str(small_data / "basic_farmland.gpkg"))
    return shapely.from_wkb(wkb)


def zone_over_farmland(small_data):
    """A heavy (subdivided) circle on the border of two counties, reaching farmland on both sides."""
    farm = farmland(small_data)
    shared = shapely.line_merge(shapely.intersection(county(WEST).boundary, county(EAST).boundary))
    sides = [farm[shapely.intersects(farm, county(code))] for code in (WEST, EAST)]
    best = None
    for step in np.linspace(0, 1, 200):
        centre = shapely.line_interpolate_point(shared, step, normalized=True)
        reach = max(shapely.distance(centre, side).min() for side in sides)
        if best is None or reach < best[0]:
            best = (reach, centre)
    reach, centre = best
    return centre.buffer(reach + 0.004, quad_segs=1200)  # 4 801 vertices: cut into pieces on import


def expected_by_county(a_geoms, b_geoms, codes=(WEST, EAST)):
    """Per county: Geod area (straight lon/lat edges) of each a∩b pair cut by the county."""
    out = {}
    tree = shapely.STRtree(b_geoms)
    for code in codes:
        shape = county(code)
        total = 0.0
        for i, j in zip(*tree.query(a_geoms, predicate="intersects"), strict=True):
            piece = shapely.intersection(shapely.intersection(a_geoms[i], b_geoms[j]), shape)
            total += straight_edge_area_m2(piece) if not piece.is_empty else 0.0
        out[code] = total
    return out


@pytest.fixture
def zone_layer(small_data, tmp_path):
    layer = register_layer("test_zone", "测试规划区", "Test zone", fields={"MC": "string"},
                           access_level="internal")[0]
    circle = zone_over_farmland(small_data)
    import_layer(layer.slug, write_geojson(tmp_path / "zone.geojson", [circle], [{"MC": "甲"}]))
    return Layer.objects.select_related("active_version").get(pk=layer.pk), circle


def test_conflict_areas_per_county_match_geod(small_data, zone_layer):
    layer, circle = zone_layer
    assert layer.active_version.features.filter(subdivided=True).exists()  # the piece path is used
    rule = ConflictRule.objects.create(slug="farmland_in_test_zone", title_zh="农田位于测试区",
                                       title_en="Farmland in the test zone",
                                       layer_a=Layer.objects.get(slug="basic_farmland"), layer_b=layer)
    count = conflicts.recompute(rule)
    expected = expected_by_county(farmland(small_data), np.array([circle]))
    got = {row.code: row for row in conflicts.conflict_areas_by_county(rules=[rule.slug])}
    assert count == ConflictPatch.objects.filter(rule=rule).count() > 5
    for code in (WEST, EAST):
        assert expected[code] > 0
        assert got[code].area_m2 == pytest.approx(expected[code], rel=1e-6)
        assert got[code].area["mu"] == pytest.approx(expected[code] / (10000 / 15), abs=1e-4)
        assert got[code].area["hectare"] == pytest.approx(expected[code] / 10000, abs=1e-4)
    only_west = conflicts.conflict_areas_by_county(rules=[rule.slug], counties=[WEST])
    assert [row.code for row in only_west] == [WEST]


def test_a_version_switch_queues_the_recomputation(small_data, zone_layer, tmp_path):
    layer, circle = zone_layer
    rule = ConflictRule.objects.create(slug="farmland_in_test_zone2", title_zh="农田位于测试区",
                                       title_en="Farmland in the test zone",
                                       layer_a=Layer.objects.get(slug="basic_farmland"), layer_b=layer)
    conflicts.recompute(rule)
    before = sum(r.area_m2 for r in conflicts.conflict_areas_by_county(rules=[rule.slug]))
    smaller = shapely.affinity.scale(circle, 0.5, 0.5)
    import_layer(layer.slug, write_geojson(tmp_path / "zone2.geojson", [smaller], [{"MC": "乙"}]))
    run_until_idle(["layers"])
    rule.refresh_from_db()
    assert rule.computed_version_b_id == Layer.objects.get(pk=layer.pk).active_version_id
    after = {r.code: r.area_m2 for r in conflicts.conflict_areas_by_county(rules=[rule.slug])}
    expected = expected_by_county(farmland(small_data), np.array([smaller]), codes=list(after))
    assert sum(after.values()) < before
    for code, area in after.items():
        assert area == pytest.approx(expected[code], rel=1e-6)
    # A rollback recomputes too.
    layer, first = get_version(layer.slug, 1)
    activate_version(layer, first, reason="test")
    run_until_idle(["layers"])
    back = sum(r.area_m2 for r in conflicts.conflict_areas_by_county(rules=[rule.slug]))
    assert back == pytest.approx(before, rel=1e-9)


def test_the_default_pairs_are_registered():
    assert set(ConflictRule.objects.values_list("slug", flat=True)) >= {
        "farmland_in_development_boundary", "redline_over_farmland", "development_boundary_over_redline"}


def test_a_rule_needs_two_different_layers():
    from django.db import IntegrityError, transaction

    farm = Layer.objects.get(slug="basic_farmland")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConflictRule.objects.create(slug="self", title_zh="x", title_en="x", layer_a=farm, layer_b=farm)
