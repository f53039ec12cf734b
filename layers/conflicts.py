"""多规合一 conflicts: where two plans claim the same land (冲突图斑), per county, with areas.

A conflict rule names two layers (farmland inside the development boundary, red line over
farmland, development boundary over red line, and any pair an administrator adds). Its patches are
the overlaps of the two layers' active versions, feature by feature, cut by county, computed
set-wise in PostGIS on the subdivided pieces; their areas are ellipsoidal (layers.crs). They are
recomputed whole, in one transaction, when either layer switches version (`layers.tasks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from blueprint import audit
from blueprint.errors import InvalidInput
from layers import crs
from layers.diffs import DOWNLOAD_FORMATS, write_features
from layers.models import ConflictPatch, ConflictRule, District, Layer

__all__ = ["DEFAULT_RULES", "ensure_default_rules", "recompute", "recompute_for_layer",
           "conflict_areas_by_county", "CountyConflict", "write_patches", "rules_for_layer"]

DEFAULT_RULES = [
    ("farmland_in_development_boundary", "永久基本农田位于城镇开发边界内",
     "Permanent basic farmland inside the urban development boundary", "basic_farmland",
     "urban_development_boundary"),
    ("redline_over_farmland", "生态保护红线与永久基本农田重叠",
     "Ecological red line over permanent basic farmland", "ecological_redline", "basic_farmland"),
    ("development_boundary_over_redline", "城镇开发边界与生态保护红线重叠",
     "Urban development boundary over the ecological red line", "urban_development_boundary",
     "ecological_redline"),
]

# Piece meets piece (heavy features through their subdivided parts), grouped back per feature
# pair, then cut by county; a pair wholly inside one county is not cut again.
_OVERLAPS = """
CREATE TEMP TABLE bp_conflict ON COMMIT DROP AS
WITH x AS (
  SELECT pa.feature_id AS a_id, pb.feature_id AS b_id, ST_Intersection(pa.geom, pb.geom) AS g
  FROM layers_overlay_piece pa JOIN layers_overlay_piece pb
    ON pb.version_id = %(vb)s AND pa.geom && pb.geom AND ST_Intersects(pa.geom, pb.geom)
  WHERE pa.version_id = %(va)s),
pairs AS (SELECT a_id, b_id, ST_CollectionExtract(ST_Union(g), 3) AS g FROM x GROUP BY a_id, b_id),
cut AS (
  SELECT p.a_id, p.b_id, d.code,
         CASE WHEN ST_CoveredBy(p.g, d.geom) THEN p.g
              ELSE ST_CollectionExtract(ST_Intersection(p.g, d.geom), 3) END AS g
  FROM pairs p JOIN layers_district d ON d.level = 'county' AND d.geom IS NOT NULL
    AND d.geom && p.g AND ST_Intersects(d.geom, p.g)
  WHERE NOT ST_IsEmpty(p.g))
SELECT row_number() OVER () AS n, c.code, fa.fid AS a_fid, fb.fid AS b_fid, fa.properties AS a_props,
       fb.properties AS b_props, ST_Multi(c.g) AS g
FROM cut c
JOIN layers_feature fa ON fa.version_id = %(va)s AND fa.id = c.a_id
JOIN layers_feature fb ON fb.version_id = %(vb)s AND fb.id = c.b_id
WHERE NOT ST_IsEmpty(c.g)"""

_STORE = """
INSERT INTO layers_conflictpatch (rule_id, district_id, a_fid, b_fid, a_properties, b_properties,
                                  area_m2, geom)
SELECT %(rule)s, c.code, c.a_fid, c.b_fid, c.a_props, c.b_props, m.area, c.g
FROM bp_conflict c JOIN unnest(%(n)s::bigint[], %(area)s::float8[]) AS m(n, area) ON m.n = c.n
WHERE m.area > 0"""


def ensure_default_rules() -> list[ConflictRule]:
    """Register the three conflicts every blueprint checks, where their layers are registered."""
    layers = {layer.slug: layer for layer in Layer.objects.all()}
    made = []
    for slug, title_zh, title_en, a, b in DEFAULT_RULES:
        if a in layers and b in layers:
            made.append(ConflictRule.objects.get_or_create(slug=slug, defaults={
                "title_zh": title_zh, "title_en": title_en, "layer_a": layers[a], "layer_b": layers[b]})[0])
    return made


def rules_for_layer(layer: Layer):
    """The enabled conflict rules that read `layer`."""
    return ConflictRule.objects.filter(Q(layer_a=layer) | Q(layer_b=layer), enabled=True)


def recompute(rule: ConflictRule) -> int:
    """Recompute a rule's patches from its layers' active versions; return how many there are."""
    with transaction.atomic():
        rule = ConflictRule.objects.select_for_update().select_related("layer_a", "layer_b").get(pk=rule.pk)
        va, vb = rule.layer_a.active_version_id, rule.layer_b.active_version_id
        rule.patches.all().delete()
        count = 0
        if va is not None and vb is not None:
            count = _store(rule, va, vb)
        rule.computed_version_a_id, rule.computed_version_b_id = va, vb
        rule.computed_at = timezone.now()
        rule.save(update_fields=["computed_version_a", "computed_version_b", "computed_at"])
        audit.record("conflict.recompute", target=rule.slug, patches=count, version_a=va, version_b=vb)
    return count


def _store(rule: ConflictRule, va: int, vb: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_OVERLAPS, {"va": va, "vb": vb})
        cursor.execute("SELECT n, ST_AsBinary(g) FROM bp_conflict ORDER BY n")
        rows = cursor.fetchall()
        numbers = [row[0] for row in rows]
        areas = crs.ellipsoidal_areas_m2(shapely.from_wkb([bytes(row[1]) for row in rows])) if rows else []
        cursor.execute(_STORE, {"rule": rule.pk, "n": numbers, "area": [float(a) for a in np.asarray(areas)]})
        count = cursor.rowcount
        cursor.execute("DROP TABLE bp_conflict")
    return count


def recompute_for_layer(layer_id: int) -> dict[str, int]:
    """Recompute every enabled rule reading a layer (after it switched version)."""
    layer = Layer.objects.get(pk=layer_id)
    return {rule.slug: recompute(rule) for rule in rules_for_layer(layer)}


@dataclass
class CountyConflict:
    """One county's conflict patches of one rule: how many, and their area."""

    rule: str
    title_zh: str
    code: str
    name: str
    patches: int
    area_m2: float

    @property
    def area(self) -> dict[str, float]:
        return crs.area_units(self.area_m2)  # m2, mu (亩), hectare (公顷)


def conflict_areas_by_county(*, rules: list[str] | None = None,
                             counties: list[str] | None = None) -> list[CountyConflict]:
    """Per rule and county: the number of conflict patches and their ellipsoidal area (m²; `.area`
    in m², 亩 and 公顷). `rules` (slugs) and `counties` (codes) narrow it; a county planner's
    pages pass their counties. Reads the stored patches (recomputed on every version switch)."""
    patches = ConflictPatch.objects.filter(rule__enabled=True)
    if rules is not None:
        patches = patches.filter(rule__slug__in=rules)
    if counties is not None:
        patches = patches.filter(district_id__in=counties)
    grouped = (patches.values("rule__slug", "rule__title_zh", "district_id", "district__name")
               .annotate(n=Count("id"), area=Sum("area_m2")).order_by("rule__slug", "district_id"))
    return [CountyConflict(row["rule__slug"], row["rule__title_zh"], row["district_id"],
                           row["district__name"], row["n"], row["area"] or 0.0) for row in grouped]


def write_patches(path: Path, *, rule: ConflictRule, counties: list[str] | None = None,
                  fmt: str = "gpkg") -> Path:
    """Write a rule's conflict patches (county, areas in m²/亩/公顷, both features' attributes)."""
    if fmt not in DOWNLOAD_FORMATS:
        raise InvalidInput(f"不支持的导出格式 “{fmt}”，应为 gpkg 或 geojson。 (Unknown format '{fmt}'.)",
                           field="format")
    patches = rule.patches.order_by("district_id", "a_fid", "b_fid")
    if counties is not None:
        patches = patches.filter(district_id__in=counties)
    rows = list(patches)
    names = dict(District.objects.values_list("code", "name"))
    units = [crs.area_units(p.area_m2) for p in rows]
    write_features(path, [shapely.from_wkb(bytes(p.geom.wkb)) for p in rows], {
        "rule": [rule.slug] * len(rows), "county_code": [p.district_id for p in rows],
        "county": [names.get(p.district_id, "") for p in rows],
        f"{rule.layer_a.slug}_fid": [p.a_fid for p in rows],
        f"{rule.layer_b.slug}_fid": [p.b_fid for p in rows],
        "area_m2": [p.area_m2 for p in rows], "area_mu": [u["mu"] for u in units],
        "area_ha": [u["hectare"] for u in units],
        "a_attributes": [json.dumps(p.a_properties, ensure_ascii=False, sort_keys=True) for p in rows],
        "b_attributes": [json.dumps(p.b_properties, ensure_ascii=False, sort_keys=True) for p in rows],
    }, driver=DOWNLOAD_FORMATS[fmt][0], layer=rule.slug)
    return path
