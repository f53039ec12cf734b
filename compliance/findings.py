"""What a rule's evaluation yields and the measures the kinds share: graded overlaps, the pieces
of the site met, the rows of the features hit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from compliance import queries
from compliance.models import Status
from layers import crs

__all__ = [
    "Site",
    "FindingData",
    "NO_TOLERANCE",
    "grade",
    "m2_text",
    "polygonal",
    "feature_rows",
    "merge",
    "overlap_measures",
    "nearest_measure",
]

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


def grade(area_m2: float, share: float, rule: dict) -> str:
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


def m2_text(square_metres: float) -> str:
    units = crs.area_units(square_metres)
    return f"{units['m2']:.2f} 平方米（{units['mu']:.2f} 亩）"


def polygonal(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "MultiPolygon":  # a union's result already: no second union
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(parts) if parts else None
    if merged is None or merged.is_empty:
        return None
    return merged if merged.geom_type == "MultiPolygon" else shapely.MultiPolygon([merged])


def feature_rows(rule: dict, hits: list[queries.Hit], site: Site) -> list[dict]:
    keys = rule.get("key_fields") or []
    pieces = np.array([hit.piece if hit.piece is not None else shapely.Polygon() for hit in hits])
    areas = crs.ellipsoidal_areas_m2(pieces) if len(pieces) else []
    rows = []
    for hit, area in zip(hits, areas, strict=True):
        area = float(area)
        row = {
            "fid": hit.fid,
            "attributes": {k: hit.properties.get(k) for k in keys},
            "overlap": crs.area_units(area),
            "share_of_site": round(area / site.area_m2, 6),
        }
        if hit.distance_m is not None:
            row["distance_m"] = round(hit.distance_m, 2)
        rows.append(row)
    return rows


def merge(pieces: list) -> shapely.Geometry:
    """Union the pieces of the site met in one layer.

    A layer's features rarely overlap (farmland patches tile the land), so their pieces usually
    form a valid polygon coverage, whose union is an order of magnitude faster (GEOS's
    CoverageUnion) than the general one. Validity is checked, not assumed: overlapping or
    ill-matched pieces take the general union.
    """
    if len(pieces) > 1 and shapely.coverage_is_valid(pieces):
        return shapely.coverage_union_all(pieces)
    return shapely.union_all(pieces)


def overlap_measures(pieces: list, site: Site) -> tuple[float, float, shapely.Geometry | None]:
    conflict = polygonal(merge(pieces)) if pieces else None
    area = crs.ellipsoidal_area_m2(conflict) if conflict is not None else 0.0
    return area, area / site.area_m2, conflict


def nearest_measure(data: queries.SiteData, version_id: int, rule: dict) -> dict:
    near = data.nearest.get(version_id)
    if near is None:
        return {}
    keys = rule.get("key_fields") or []
    return {
        "nearest": {
            "fid": near.fid,
            "distance_m": round(near.distance_m, 2),
            "attributes": {k: near.properties.get(k) for k in keys},
        }
    }
