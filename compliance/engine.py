"""Evaluate one rule against one site: the finding, its figures, the features hit, the conflict.

Every rule yields a status. A rule that cannot run says `error`; a site outside the data's
coverage says `not_covered`. Neither is ever a pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from django.db import DatabaseError, connection, transaction

from compliance import queries
from compliance.models import STATUS_ORDER, Status
from layers import crs

__all__ = ["Site", "FindingData", "evaluate_all", "evaluate", "applies", "worst"]

logger = logging.getLogger(__name__)
NO_TOLERANCE = {"area_m2": 0.0, "share": 0.0}


@dataclass(frozen=True)
class Site:
    """The normalised site: EPSG:4490 multipolygon, its ellipsoidal area, the project category."""

    geom: shapely.MultiPolygon
    area_m2: float
    category: str


@dataclass
class FindingData:
    rule: dict
    status: str
    message_zh: str
    message_en: str = ""
    layer_version_id: int | None = None
    measures: dict = field(default_factory=dict)
    features: list[dict] = field(default_factory=list)
    conflict: shapely.Geometry | None = None


def applies(rule: dict, category: str) -> bool:
    """Say whether a rule applies to a project category."""
    return category in rule.get("applies_to", [category])


def worst(statuses: list[str]) -> str:
    """Return the worst of some statuses (the verdict of a check)."""
    return max(statuses, key=STATUS_ORDER.index, default=Status.PASS)


def evaluate_all(rules: list[dict], site: Site, layers: dict[str, queries.LayerRef]) -> list[FindingData]:
    """Evaluate the applicable rules against the layers' active versions (`queries.read_state`):
    their coverage and what the site meets in them are read once for all rules, the site's
    overlays in one statement."""
    versions = {slug: layer.active_version_id for slug, layer in layers.items() if layer.active_version_id}
    needed = {versions[rule["layer"]] for rule in rules if rule["layer"] in versions}
    coverage = queries.covered(site.geom, sorted(needed))
    runnable = [(rule, versions[rule["layer"]]) for rule in rules
                if rule["layer"] in versions and coverage[versions[rule["layer"]]][0]]
    try:
        # Inside a transaction (the one storing a revision, say), a failed read must not poison
        # it: a savepoint. Outside one the read is a statement of its own, nothing to protect.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            data = queries.read_site(site.geom, _reads(runnable))
    except DatabaseError as exc:
        logger.error("reading the site failed: %s", exc)
        data = exc
    return [evaluate(rule, site, layers.get(rule["layer"]), coverage, data) for rule in rules]


def _reads(runnable: list[tuple[dict, int]]) -> queries.Reads:
    overlaps, within, nearest = set(), set(), set()
    for rule, version in runnable:
        if rule["kind"] == "min_distance":
            within.add((version, float(rule["distance_m"])))
            nearest.add((version, float(rule["distance_m"])))
        else:
            overlaps.add(version)
            if rule["kind"] == "must_not_intersect":
                nearest.add((version, None))
    return queries.Reads(frozenset(overlaps), frozenset(within), frozenset(nearest))


def evaluate(rule: dict, site: Site, layer: queries.LayerRef | None, coverage: dict,
             data: queries.SiteData | Exception) -> FindingData:
    """Evaluate one applicable rule; never raise for a data problem, say `error` instead."""
    if layer is None or layer.active_version_id is None:
        return FindingData(rule, Status.ERROR,
                           f"图层 {rule['layer']} 没有可用数据，本项未能检查。",
                           f"Layer {rule['layer']} has no active data: the rule could not run.")
    version_id = layer.active_version_id
    inside, outside = coverage[version_id]
    if not inside:
        outside_m2 = crs.ellipsoidal_area_m2(outside) if outside is not None else site.area_m2
        return FindingData(
            rule, Status.NOT_COVERED,
            f"用地有 {_m2(outside_m2)} 位于{layer.title_zh}数据覆盖范围之外，本项无法判定。",
            f"{outside_m2:.2f} m² of the site lie outside the coverage of {layer.title_en}: not assessed.",
            version_id, {"outside_coverage": crs.area_units(outside_m2)},
            conflict=_polygonal(outside))
    if isinstance(data, Exception):
        return FindingData(rule, Status.ERROR, f"本项检查执行失败，结果未知：{str(data)[:200]}",
                           f"The rule failed to run; no result: {str(data)[:200]}", version_id)
    finding = _KINDS[rule["kind"]](rule, site, layer, version_id, data)
    finding.layer_version_id = version_id
    return _apply_exceptions(finding, site.category)


def _grade(area_m2: float, share: float, rule: dict) -> str:
    """Grade an overlap: within tolerance passes, within the review band needs review."""
    tolerance = rule.get("tolerance", NO_TOLERANCE)
    band = rule.get("review_band", tolerance)
    if area_m2 <= 0:
        return Status.PASS
    if area_m2 <= tolerance.get("area_m2", 0) and share <= tolerance.get("share", 0):
        return Status.PASS
    if area_m2 <= band.get("area_m2", 0) and share <= band.get("share", 0):
        return Status.NEEDS_REVIEW
    return rule["severity"]


def _apply_exceptions(finding: FindingData, category: str) -> FindingData:
    if finding.status in (Status.PASS, Status.ERROR, Status.NOT_COVERED):
        return finding
    for exception in finding.rule.get("exceptions", []):
        if category in exception["categories"]:
            finding.measures["exception"] = {"status_without": finding.status,
                                             "note_zh": exception.get("note_zh", "")}
            finding.status = exception["status"]
            finding.message_zh += f" 例外：{exception.get('note_zh', '')}"
            break
    return finding


def _m2(square_metres: float) -> str:
    units = crs.area_units(square_metres)
    return f"{units['m2']:.2f} 平方米（{units['mu']:.2f} 亩）"


def _polygonal(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "MultiPolygon":  # a union's result already: no second union
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(parts) if parts else None
    if merged is None or merged.is_empty:
        return None
    return merged if merged.geom_type == "MultiPolygon" else shapely.MultiPolygon([merged])


def _feature_rows(rule: dict, hits: list[queries.Hit], site: Site) -> list[dict]:
    keys = rule.get("key_fields") or []
    pieces = np.array([hit.piece if hit.piece is not None else shapely.Polygon() for hit in hits])
    areas = crs.ellipsoidal_areas_m2(pieces) if len(pieces) else []
    rows = []
    for hit, area in zip(hits, areas, strict=True):
        area = float(area)
        row = {"fid": hit.fid, "attributes": {k: hit.properties.get(k) for k in keys},
               "overlap": crs.area_units(area), "share_of_site": round(area / site.area_m2, 6)}
        if hit.distance_m is not None:
            row["distance_m"] = round(hit.distance_m, 2)
        rows.append(row)
    return rows


def _merge(pieces: list) -> shapely.Geometry:
    """Union the pieces of the site met in one layer.

    A layer's features rarely overlap (farmland patches tile the land), so their pieces usually
    form a valid polygon coverage, whose union is an order of magnitude faster (GEOS's
    CoverageUnion) than the general one. Validity is checked, not assumed: overlapping or
    ill-matched pieces take the general union.
    """
    if len(pieces) > 1 and shapely.coverage_is_valid(pieces):
        return shapely.coverage_union_all(pieces)
    return shapely.union_all(pieces)


def _overlap_measures(pieces: list, site: Site) -> tuple[float, float, shapely.Geometry | None]:
    conflict = _polygonal(_merge(pieces)) if pieces else None
    area = crs.ellipsoidal_area_m2(conflict) if conflict is not None else 0.0
    return area, area / site.area_m2, conflict


def _nearest_measure(data: queries.SiteData, version_id: int, rule: dict) -> dict:
    near = data.nearest.get(version_id)
    if near is None:
        return {}
    keys = rule.get("key_fields") or []
    return {"nearest": {"fid": near.fid, "distance_m": round(near.distance_m, 2),
                        "attributes": {k: near.properties.get(k) for k in keys}}}


def _must_not_intersect(rule: dict, site: Site, layer: queries.LayerRef, version_id: int,
                        data: queries.SiteData) -> FindingData:
    hits = data.overlaps[version_id]
    area, share, conflict = _overlap_measures([h.piece for h in hits], site)
    status = _grade(area, share, rule)
    measures = {"overlap": crs.area_units(area), "share": round(share, 6),
                "tolerance": rule.get("tolerance", NO_TOLERANCE), "review_band": rule.get("review_band")}
    if not hits:
        measures.update(_nearest_measure(data, version_id, rule))
        distance = measures.get("nearest", {}).get("distance_m")
        nearest_text = f"；最近距离 {distance:.1f} 米。" if distance is not None else "。"
        text = f"未占用{layer.title_zh}{nearest_text}"
        return FindingData(rule, status, text, f"Does not occupy {layer.title_en}.", measures=measures)
    text = (f"占用{layer.title_zh} {_m2(area)}，占用地面积的 {share:.2%}，涉及 {len(hits)} 个图斑。")
    if status == Status.PASS:
        text += " 重叠面积在容差范围内（数字化误差），不计为占用。"
    return FindingData(rule, status, text,
                       f"Occupies {area:.2f} m² ({share:.2%} of the site) of {layer.title_en},"
                       f" {len(hits)} features.", measures=measures,
                       features=_feature_rows(rule, hits, site), conflict=conflict)


def _must_be_within(rule: dict, site: Site, layer: queries.LayerRef, version_id: int,
                    data: queries.SiteData) -> FindingData:
    hits = data.overlaps[version_id]
    inside = _merge([h.piece for h in hits]) if hits else shapely.Polygon()
    outside = _polygonal(shapely.difference(site.geom, inside))
    outside_m2 = crs.ellipsoidal_area_m2(outside) if outside is not None else 0.0
    share = outside_m2 / site.area_m2
    status = _grade(outside_m2, share, rule)
    measures = {"outside": crs.area_units(outside_m2), "outside_share": round(share, 6),
                "inside": crs.area_units(max(site.area_m2 - outside_m2, 0.0)),
                "tolerance": rule.get("tolerance", NO_TOLERANCE), "review_band": rule.get("review_band")}
    if outside_m2 <= 0:
        text = f"用地全部位于{layer.title_zh}内。"
    else:
        text = f"用地有 {_m2(outside_m2)} 位于{layer.title_zh}之外，占用地面积的 {share:.2%}。"
    return FindingData(rule, status, text,
                       f"{outside_m2:.2f} m² ({share:.2%}) of the site lie outside {layer.title_en}.",
                       measures=measures, features=_feature_rows(rule, hits, site), conflict=outside)


def _min_distance(rule: dict, site: Site, layer: queries.LayerRef, version_id: int,
                  data: queries.SiteData) -> FindingData:
    distance = rule["distance_m"]
    hits = data.within[(version_id, float(distance))]
    measures = {"distance_required_m": distance}
    if not hits:
        measures.update(_nearest_measure(data, version_id, rule))
        near = measures.get("nearest", {}).get("distance_m")
        text = f"距{layer.title_zh}超过 {distance:g} 米" + (f"（最近 {near:.1f} 米）。" if near else "。")
        return FindingData(rule, Status.PASS, text, f"More than {distance:g} m from {layer.title_en}.",
                           measures=measures)
    closest = min(h.distance_m for h in hits)
    area, share, conflict = _overlap_measures([h.piece for h in hits if h.piece is not None], site)
    measures.update({"closest_m": round(closest, 2), "area_within": crs.area_units(area),
                     "share_within": round(share, 6)})
    return FindingData(
        rule, rule["severity"],
        f"用地距{layer.title_zh}最近 {closest:.1f} 米，不足 {distance:g} 米；缓冲区内用地 {_m2(area)}。",
        f"The site comes within {closest:.1f} m of {layer.title_en} (required {distance:g} m).",
        measures=measures, features=_feature_rows(rule, hits, site), conflict=conflict)


def _attribute_condition(rule: dict, site: Site, layer: queries.LayerRef, version_id: int,
                         data: queries.SiteData) -> FindingData:
    allowed = _condition(rule["condition"])
    hits = data.overlaps[version_id]
    breaking = [h for h in hits if not allowed(h.properties)]
    area, share, conflict = _overlap_measures([h.piece for h in breaking], site)
    status = _grade(area, share, rule)
    measures = {"condition": rule["condition"], "overlap": crs.area_units(area), "share": round(share, 6)}
    # People read the condition in words (condition_zh / _en), never as CQL2.
    said_zh = rule.get("condition_zh") or rule["title_zh"]
    said_en = rule.get("condition_en") or rule.get("title_en") or rule["id"]
    if not breaking:
        return FindingData(rule, status, f"涉及的{layer.title_zh}要素均满足条件：{said_zh}。",
                           f"All {layer.title_en} features met satisfy the condition: {said_en}.",
                           measures=measures, features=_feature_rows(rule, hits, site))
    return FindingData(
        rule, status,
        f"用地有 {_m2(area)}（{share:.2%}）落在不满足条件（{said_zh}）的{layer.title_zh}要素内。",
        f"{area:.2f} m² ({share:.2%}) lie in {layer.title_en} features failing the condition: {said_en}.",
        measures=measures, features=_feature_rows(rule, breaking, site), conflict=conflict)


@lru_cache(maxsize=128)
def _condition(text: str) -> Callable[[dict], bool]:
    # pygeofilter builds its grammar on import (~0.5 s): load it on first use, not at start-up.
    from pygeofilter.backends.native.evaluate import NativeEvaluator
    from pygeofilter.parsers.cql2_text import parse as parse_cql2

    return NativeEvaluator(use_getattr=False).evaluate(parse_cql2(text))


_KINDS = {
    "must_not_intersect": _must_not_intersect,
    "must_be_within": _must_be_within,
    "min_distance": _min_distance,
    "attribute_condition": _attribute_condition,
}
