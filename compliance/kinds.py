"""The compliance rule kinds (规则类型): one class per kind, registered in one place.

A kind says what it reads from the layers (`reads`, gathered for all rules into one statement by
`compliance.queries`) and how it turns that into a finding (`evaluate`). The rule-set schema's
`kind` enum and each kind's own fields are generated from this registry (`ruleset_schema`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import shapely

from compliance import queries
from compliance.findings import (
    NO_TOLERANCE,
    FindingData,
    Site,
    feature_rows,
    grade,
    m2_text,
    merge,
    nearest_measure,
    overlap_measures,
    polygonal,
)
from compliance.models import Status
from layers import crs

__all__ = ["RuleKind", "KINDS", "register", "ReadsBuilder", "ruleset_schema", "condition"]

KINDS: dict[str, RuleKind] = {}
BASE_SCHEMA = Path(__file__).with_name("ruleset_schema.json")


@dataclass
class ReadsBuilder:
    """What the runnable rules need read about the site, gathered before one statement reads it."""

    overlaps: set = field(default_factory=set)
    within: set = field(default_factory=set)
    nearest: set = field(default_factory=set)

    def reads(self) -> queries.Reads:
        return queries.Reads(frozenset(self.overlaps), frozenset(self.within), frozenset(self.nearest))


class RuleKind:
    """One kind of compliance rule; subclasses set the names, their own fields, reads and evaluate."""

    name: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    params: ClassVar[dict] = {}  # the kind's own rule fields, as JSON Schema properties
    required: ClassVar[list[str]] = []

    def reads(self, rule: dict, version: int, reads: ReadsBuilder) -> None:
        raise NotImplementedError

    def evaluate(
        self, rule: dict, site: Site, layer: queries.LayerRef, version_id: int, data: queries.SiteData
    ) -> FindingData:
        raise NotImplementedError


def register(cls: type[RuleKind]) -> type[RuleKind]:
    """Register a kind (a class decorator)."""
    if cls.name in KINDS:
        raise ValueError(f"rule kind {cls.name} registered twice")
    KINDS[cls.name] = cls()
    return cls


def ruleset_schema() -> dict:
    """The rule-set JSON Schema: the shared fields (`ruleset_schema.json`) and, from the registry,
    the kinds and each kind's own fields and required ones."""
    schema = json.loads(BASE_SCHEMA.read_text(encoding="utf-8"))
    rule = schema["$defs"]["rule"]
    rule["properties"]["kind"] = {"enum": list(KINDS)}
    rule["allOf"] = []
    for kind in KINDS.values():
        rule["properties"].update(kind.params)
        if kind.required:
            rule["allOf"].append(
                {"if": {"properties": {"kind": {"const": kind.name}}}, "then": {"required": kind.required}}
            )
    return schema


@register
class MustNotIntersect(RuleKind):
    name = "must_not_intersect"
    title_zh, title_en = "不得占用", "Must not intersect"
    params = {}
    required = []

    def reads(self, rule: dict, version: int, reads: ReadsBuilder) -> None:
        reads.overlaps.add(version)
        reads.nearest.add((version, None))

    def evaluate(
        self, rule: dict, site: Site, layer: queries.LayerRef, version_id: int, data: queries.SiteData
    ) -> FindingData:
        hits = data.overlaps[version_id]
        area, share, conflict = overlap_measures([h.piece for h in hits], site)
        status = grade(area, share, rule)
        measures = {
            "overlap": crs.area_units(area),
            "share": round(share, 6),
            "tolerance": rule.get("tolerance", NO_TOLERANCE),
            "review_band": rule.get("review_band"),
        }
        if not hits:
            measures.update(nearest_measure(data, version_id, rule))
            distance = measures.get("nearest", {}).get("distance_m")
            nearest_text = f"；最近距离 {distance:.1f} 米。" if distance is not None else "。"
            text = f"未占用{layer.title_zh}{nearest_text}"
            return FindingData(rule, status, text, f"Does not occupy {layer.title_en}.", measures=measures)
        text = f"占用{layer.title_zh} {m2_text(area)}，占用地面积的 {share:.2%}，涉及 {len(hits)} 个图斑。"
        if status == Status.PASS:
            text += " 重叠面积在容差范围内（数字化误差），不计为占用。"
        return FindingData(
            rule,
            status,
            text,
            f"Occupies {area:.2f} m² ({share:.2%} of the site) of {layer.title_en}, {len(hits)} features.",
            measures=measures,
            features=feature_rows(rule, hits, site),
            conflict=conflict,
        )


@register
class MustBeWithin(RuleKind):
    name = "must_be_within"
    title_zh, title_en = "须位于范围内", "Must be within"
    params = {}
    required = []

    def reads(self, rule: dict, version: int, reads: ReadsBuilder) -> None:
        reads.overlaps.add(version)

    def evaluate(
        self, rule: dict, site: Site, layer: queries.LayerRef, version_id: int, data: queries.SiteData
    ) -> FindingData:
        hits = data.overlaps[version_id]
        inside = merge([h.piece for h in hits]) if hits else shapely.Polygon()
        outside = polygonal(shapely.difference(site.geom, inside))
        outside_m2 = crs.ellipsoidal_area_m2(outside) if outside is not None else 0.0
        share = outside_m2 / site.area_m2
        status = grade(outside_m2, share, rule)
        measures = {
            "outside": crs.area_units(outside_m2),
            "outside_share": round(share, 6),
            "inside": crs.area_units(max(site.area_m2 - outside_m2, 0.0)),
            "tolerance": rule.get("tolerance", NO_TOLERANCE),
            "review_band": rule.get("review_band"),
        }
        if outside_m2 <= 0:
            text = f"用地全部位于{layer.title_zh}内。"
        else:
            text = f"用地有 {m2_text(outside_m2)} 位于{layer.title_zh}之外，占用地面积的 {share:.2%}。"
        return FindingData(
            rule,
            status,
            text,
            f"{outside_m2:.2f} m² ({share:.2%}) of the site lie outside {layer.title_en}.",
            measures=measures,
            features=feature_rows(rule, hits, site),
            conflict=outside,
        )


@register
class MinDistance(RuleKind):
    name = "min_distance"
    title_zh, title_en = "最小距离", "Minimum distance"
    params = {"distance_m": {"type": "number", "exclusiveMinimum": 0}}
    required = ["distance_m"]

    def reads(self, rule: dict, version: int, reads: ReadsBuilder) -> None:
        reads.within.add((version, float(rule["distance_m"])))
        reads.nearest.add((version, float(rule["distance_m"])))

    def evaluate(
        self, rule: dict, site: Site, layer: queries.LayerRef, version_id: int, data: queries.SiteData
    ) -> FindingData:
        distance = rule["distance_m"]
        hits = data.within[(version_id, float(distance))]
        measures = {"distance_required_m": distance}
        if not hits:
            measures.update(nearest_measure(data, version_id, rule))
            near = measures.get("nearest", {}).get("distance_m")
            text = f"距{layer.title_zh}超过 {distance:g} 米" + (f"（最近 {near:.1f} 米）。" if near else "。")
            return FindingData(
                rule, Status.PASS, text, f"More than {distance:g} m from {layer.title_en}.", measures=measures
            )
        closest = min(h.distance_m for h in hits)
        area, share, conflict = overlap_measures([h.piece for h in hits if h.piece is not None], site)
        measures.update(
            {
                "closest_m": round(closest, 2),
                "area_within": crs.area_units(area),
                "share_within": round(share, 6),
            }
        )
        return FindingData(
            rule,
            rule["severity"],
            f"用地距{layer.title_zh}最近 {closest:.1f} 米，不足 {distance:g} 米；"
            f"缓冲区内用地 {m2_text(area)}。",
            f"The site comes within {closest:.1f} m of {layer.title_en} (required {distance:g} m).",
            measures=measures,
            features=feature_rows(rule, hits, site),
            conflict=conflict,
        )


@register
class AttributeCondition(RuleKind):
    name = "attribute_condition"
    title_zh, title_en = "属性条件", "Attribute condition"
    params = {"condition": {"type": "string", "minLength": 1},
              # People read the condition in words, never as CQL2 (the report, the pages).
              "condition_zh": {"type": "string", "minLength": 1},
              "condition_en": {"type": "string", "minLength": 1}}
    required = ["condition"]

    def reads(self, rule: dict, version: int, reads: ReadsBuilder) -> None:
        reads.overlaps.add(version)

    def evaluate(
        self, rule: dict, site: Site, layer: queries.LayerRef, version_id: int, data: queries.SiteData
    ) -> FindingData:
        allowed = condition(rule["condition"])
        hits = data.overlaps[version_id]
        breaking = [h for h in hits if not allowed(h.properties)]
        area, share, conflict = overlap_measures([h.piece for h in breaking], site)
        status = grade(area, share, rule)
        measures = {"condition": rule["condition"], "overlap": crs.area_units(area), "share": round(share, 6)}
        said_zh = rule.get("condition_zh") or rule["title_zh"]
        said_en = rule.get("condition_en") or rule.get("title_en") or rule["id"]
        if not breaking:
            return FindingData(
                rule,
                status,
                f"涉及的{layer.title_zh}要素均满足条件：{said_zh}。",
                f"All {layer.title_en} features met satisfy the condition: {said_en}.",
                measures=measures,
                features=feature_rows(rule, hits, site),
            )
        return FindingData(
            rule,
            status,
            f"用地有 {m2_text(area)}（{share:.2%}）落在不满足条件（{said_zh}）的{layer.title_zh}要素内。",
            f"{area:.2f} m² ({share:.2%}) lie in {layer.title_en} features failing the condition: {said_en}.",
            measures=measures,
            features=feature_rows(rule, breaking, site),
            conflict=conflict,
        )


@lru_cache(maxsize=128)
def condition(text: str) -> Callable[[dict], bool]:
    # pygeofilter builds its grammar on import (~0.5 s): load it on first use, not at start-up.
    from pygeofilter.backends.native.evaluate import NativeEvaluator
    from pygeofilter.parsers.cql2_text import parse as parse_cql2

    return NativeEvaluator(use_getattr=False).evaluate(parse_cql2(text))
