"""Version switches (rollback, staged imports) and version diffs, against independent figures.

Expected counts and per-county areas are computed here with shapely over both versions' features
and pyproj's Geod, never with the code under test.
"""

import pyogrio.raw
import pytest
import shapely
from shapely.affinity import translate

from blueprint.errors import InvalidInput
from blueprint.models import AuditEntry
from layers.diffs import diff_versions, write_diff
from layers.importers import import_layer
from layers.models import District, Layer
from layers.services import register_layer
from layers.versions import activate_version, get_version
from tests.layers.helpers import CGCS2000_GEOD, geod_area, square, write_geojson

pytestmark = pytest.mark.django_db

FIELDS = {"ZLDWDM": "string", "TBBH": "string", "DLMC": "string"}
WEST, EAST = "370811", "370826"  # neighbouring counties of the small fixtures


def county(code):
    return shapely.from_wkb(bytes(District.objects.get(code=code).geom.wkb))


@pytest.fixture
def border_point():
    """A point on the shared border of two counties, so that some patches straddle it."""
    shared = shapely.intersection(county(WEST).boundary, county(EAST).boundary)
    return shapely.line_interpolate_point(shapely.line_merge(shared), 0.5, normalized=True) \
        if shared.geom_type != "Point" else shared


def patches_around(point, n=6, metres=200.0):
    """n patches in a row along the latitude of `point`, the third one over it."""
    lon, lat = point.x, point.y
    start = CGCS2000_GEOD.fwd(lon, lat, 270, 2.5 * (metres + 40))[0]
    out = []
    for i in range(n):
        x = CGCS2000_GEOD.fwd(start, lat, 90, i * (metres + 40))[0]
        out.append(square(x, lat - 0.0009, metres))
    return out


def register(slug, key="ZLDWDM,TBBH"):
    return register_layer(slug, f"测试{slug}", slug, fields=FIELDS, access_level="internal",
                          feature_key=key)[0]


def import_version(layer, tmp_path, geoms, props, name, activate=True):
    path = write_geojson(tmp_path / f"{name}.geojson", geoms, props)
    return import_layer(layer.slug, path, activate=activate)


def county_areas(geoms_by_change):
    """Per county and change: Geod area of the parts inside the county (the oracle)."""
    out = {}
    for code in (WEST, EAST):
        shape = county(code)
        for change, geoms in geoms_by_change.items():
            out[(code, change)] = sum(geod_area(shapely.intersection(g, shape)) for g in geoms
                                      if g.intersects(shape))
    return out


TOLERANCE_DEG = 0.01 / 111_320  # 1 cm, as the service documents


def oracle_diff(before, after, key=("ZLDWDM", "TBBH")):
    """The diff recomputed with shapely over both versions' features: [(geom, props)] each.

    By key when given; else by geometry (equal, or within the tolerance by Hausdorff distance).
    Returns {(change, before index, after index, changed fields)}.
    """
    out = set()
    if key:
        old = {"|".join(p[k] for k in key): (i, g, p) for i, (g, p) in enumerate(before)}
        new = {"|".join(p[k] for k in key): (i, g, p) for i, (g, p) in enumerate(after)}
        for k in old.keys() - new.keys():
            out.add(("removed", old[k][0], None, ()))
        for k in new.keys() - old.keys():
            out.add(("added", None, new[k][0], ()))
        for k in old.keys() & new.keys():
            (i, g1, p1), (j, g2, p2) = old[k], new[k]
            fields = sorted(f for f in p1.keys() | p2.keys() if p1.get(f) != p2.get(f))
            if shapely.hausdorff_distance(g1, g2) > TOLERANCE_DEG:
                fields.append("geometry")
            if fields:
                out.add(("changed", i, j, tuple(fields)))
        return out
    unmatched = set(range(len(after)))
    for i, (g1, p1) in enumerate(before):
        near = [j for j in sorted(unmatched) if shapely.hausdorff_distance(g1, after[j][0]) <= TOLERANCE_DEG]
        j = near[0] if near else None
        if j is None:
            out.add(("removed", i, None, ()))
            continue
        unmatched.discard(j)
        fields = tuple(sorted(f for f in p1.keys() | after[j][1].keys() if p1.get(f) != after[j][1].get(f)))
        if fields:
            out.add(("changed", i, j, fields))
    return out | {("added", None, j, ()) for j in unmatched}


def as_found(diff):
    """The service's diff in the oracle's terms (GeoJSON feature ids are 0-based indexes)."""
    return {(i.change, i.before_fid, i.after_fid, tuple(i.fields)) for i in diff.items}


def test_a_staged_version_is_stored_but_not_active(tmp_path, border_point):
    layer = register("staged_patches")
    geoms = patches_around(border_point)
    props = [{"ZLDWDM": "1", "TBBH": f"{i:04d}", "DLMC": "旱地"} for i in range(len(geoms))]
    import_version(layer, tmp_path, geoms, props, "v1")
    summary = import_version(layer, tmp_path, geoms[:3], props[:3], "v2", activate=False)
    layer.refresh_from_db()
    assert summary.created and summary.version == 2 and layer.active_version.number == 1
    assert not AuditEntry.objects.filter(action="layer.activate", target=layer.slug,
                                         detail__version=2).exists()


def test_rollback_activates_an_earlier_version_audited_with_its_reason(tmp_path, border_point):
    layer = register("rollback_patches")
    geoms = patches_around(border_point)
    props = [{"ZLDWDM": "1", "TBBH": f"{i:04d}", "DLMC": "旱地"} for i in range(len(geoms))]
    import_version(layer, tmp_path, geoms, props, "v1")
    import_version(layer, tmp_path, geoms[:2], props[:2], "v2")
    layer, first = get_version(layer.slug, 1)
    with pytest.raises(InvalidInput, match="原因"):
        activate_version(layer, first, actor="planner")
    assert Layer.objects.get(pk=layer.pk).active_version.number == 2  # nothing changed
    activate_version(layer, first, actor="planner", reason="v2 漏了 4 个图斑")
    assert Layer.objects.get(pk=layer.pk).active_version_id == first.pk
    entry = AuditEntry.objects.filter(action="layer.rollback", target=layer.slug).latest("id")
    assert entry.detail["version"] == 1 and entry.detail["previous"] == 2
    assert entry.detail["reason"] == "v2 漏了 4 个图斑" and entry.actor == "planner"
    with pytest.raises(InvalidInput, match="已是"):
        activate_version(layer, first, reason="again")


def test_an_unknown_version_says_which_exist(tmp_path, border_point):
    layer = register("unknown_version_patches")
    geoms = patches_around(border_point, n=2)
    import_version(layer, tmp_path, geoms, [{"ZLDWDM": "1", "TBBH": "1"}, {"ZLDWDM": "1", "TBBH": "2"}], "v1")
    with pytest.raises(Exception, match="现有版本：1"):
        get_version(layer.slug, 7)


def test_diff_by_key_against_shapely_and_geod(tmp_path, border_point):
    layer = register("diff_key_patches")
    geoms = patches_around(border_point)
    props = [{"ZLDWDM": "370811001", "TBBH": f"{i:04d}", "DLMC": "旱地"} for i in range(6)]
    import_version(layer, tmp_path, geoms, props, "v1")
    # v2: patch 0 removed, 1 re-classed, 2 (over the border) reshaped, 3 re-digitised by < 1 cm
    # (no change), 4 and 5 as they were, one new patch.
    new = square(border_point.x + 0.004, border_point.y + 0.002, 150)
    grown = shapely.box(*geoms[2].bounds[:3], geoms[2].bounds[3] + 0.0005)
    v2_geoms = [geoms[1], grown, translate(geoms[3], xoff=2e-8), geoms[4], geoms[5], new]
    v2_props = [{**props[1], "DLMC": "水田"}, props[2], props[3], props[4], props[5],
                {"ZLDWDM": "370811001", "TBBH": "0100", "DLMC": "旱地"}]
    import_version(layer, tmp_path, v2_geoms, v2_props, "v2")
    layer, before = get_version(layer.slug, 1)
    _, after = get_version(layer.slug, 2)
    diff = diff_versions(layer, before, after)

    assert diff.matched_by == "key:ZLDWDM,TBBH"
    assert as_found(diff) == oracle_diff(list(zip(geoms, props, strict=True)),
                                         list(zip(v2_geoms, v2_props, strict=True)))
    changes = {(item.change, item.key): item.fields for item in diff.items}
    assert changes == {("removed", "370811001|0000"): [], ("added", "370811001|0100"): [],
                       ("changed", "370811001|0001"): ["DLMC"],
                       ("changed", "370811001|0002"): ["geometry"]}
    expected = county_areas({"added": [new], "removed": [geoms[0]], "before": [geoms[1], geoms[2]],
                             "after": [geoms[1], grown]})
    table = {c.code: c for c in diff.counties}
    for code in (WEST, EAST):
        got = table.get(code)
        for change, name in (("added", "added_m2"), ("removed", "removed_m2"),
                             ("before", "changed_before_m2"), ("after", "changed_after_m2")):
            value = getattr(got, name) if got else 0.0
            assert value == pytest.approx(expected[(code, change)], rel=1e-6, abs=1e-3), (code, change)
    assert expected[(WEST, "before")] > 0 and expected[(EAST, "before")] > 0  # it did straddle


def test_diff_by_geometry_when_the_layer_has_no_key(tmp_path, border_point):
    layer = register("diff_geom_patches", key="")
    geoms = patches_around(border_point, n=4)
    props = [{"ZLDWDM": "1", "TBBH": "x", "DLMC": "旱地"} for _ in range(4)]  # keys useless anyway
    import_version(layer, tmp_path, geoms, props, "v1")
    moved = translate(geoms[2], xoff=0.0001)  # ~9 m: another patch
    near = translate(geoms[1], xoff=3e-8)  # ~3 mm: the same patch, re-digitised
    v2 = [(geoms[0], props[0]), (near, props[1]), (moved, props[2]), (geoms[3], {**props[3], "DLMC": "水田"})]
    import_version(layer, tmp_path, [g for g, _ in v2], [p for _, p in v2], "v2")
    layer, before = get_version(layer.slug, 1)
    _, after = get_version(layer.slug, 2)
    diff = diff_versions(layer, before, after)
    assert diff.matched_by == "geometry"
    assert as_found(diff) == oracle_diff(list(zip(geoms, props, strict=True)), v2, key=None)
    assert sorted((i.change, i.before_fid, i.after_fid, tuple(i.fields)) for i in diff.items) == [
        ("added", None, 2, ()), ("changed", 3, 3, ("DLMC",)), ("removed", 2, None, ())]


def test_duplicate_keys_fall_back_to_geometry_and_say_so(tmp_path, border_point):
    layer = register("diff_dup_patches")
    geoms = patches_around(border_point, n=3)
    props = [{"ZLDWDM": "1", "TBBH": "0001", "DLMC": "旱地"}] * 3
    import_version(layer, tmp_path, geoms, props, "v1")
    import_version(layer, tmp_path, geoms[:2], props[:2], "v2")
    layer, before = get_version(layer.slug, 1)
    _, after = get_version(layer.slug, 2)
    diff = diff_versions(layer, before, after)
    assert diff.matched_by == "geometry" and "重复" in diff.note
    assert [(i.change, i.before_fid) for i in diff.items] == [("removed", 2)]


def test_diff_download_as_geopackage_and_county_scope(tmp_path, border_point):
    layer = register("diff_dl_patches")
    geoms = patches_around(border_point)
    props = [{"ZLDWDM": "1", "TBBH": f"{i:04d}", "DLMC": "旱地"} for i in range(6)]
    import_version(layer, tmp_path, geoms, props, "v1")
    import_version(layer, tmp_path, geoms[2:], props[2:], "v2")
    layer, before = get_version(layer.slug, 1)
    _, after = get_version(layer.slug, 2)
    diff = diff_versions(layer, before, after)
    path = write_diff(diff, tmp_path / "diff.gpkg")
    meta, _, wkb, fields = pyogrio.raw.read(str(path))
    names = list(meta["fields"])
    assert meta["crs"] == "EPSG:4490" and len(wkb) == 2
    assert sorted(fields[names.index("key")]) == ["1|0000", "1|0001"]
    assert all(shapely.from_wkb(w).equals(shapely.MultiPolygon([g])) for w, g in
               zip(wkb, sorted(geoms[:2], key=lambda g: g.bounds[0]), strict=True))
    west_only = {c.code for c in diff_versions(layer, before, after, counties=[WEST]).counties}
    assert west_only <= {WEST}
    with pytest.raises(InvalidInput, match="格式"):
        write_diff(diff, tmp_path / "diff.shp", "shp")


def test_the_commands_show_the_impact_switch_and_diff(tmp_path, border_point):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    layer = register("command_patches")
    geoms = patches_around(border_point, n=3)
    props = [{"ZLDWDM": "1", "TBBH": f"{i}", "DLMC": "旱地"} for i in range(3)]
    import_version(layer, tmp_path, geoms, props, "v1")
    import_version(layer, tmp_path, geoms[:1], props[:1], "v2")
    out = StringIO()
    call_command("activate_version", layer.slug, "1", "--dry-run", stdout=out)
    assert "合规性检查影响" in out.getvalue() and Layer.objects.get(pk=layer.pk).active_version.number == 2
    with pytest.raises(CommandError, match="原因"):
        call_command("activate_version", layer.slug, "1", "--yes", stdout=StringIO())
    call_command("activate_version", layer.slug, "1", "--yes", "--reason", "test", stdout=StringIO())
    assert Layer.objects.get(pk=layer.pk).active_version.number == 1
    out = StringIO()
    call_command("version_diff", layer.slug, "1", "2", "--out", str(tmp_path / "d.geojson"), stdout=out)
    assert "删除 removed 2" in out.getvalue()
    assert len(pyogrio.raw.read(str(tmp_path / "d.geojson"))[2]) == 2
