"""The one path every format takes: polygons only, limits, CGCS2000, validity, zone check."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point
from shapely.geometry.base import BaseGeometry

from blueprint.errors import InvalidGeometry, InvalidInput
from compliance.parsers._common import RawSite, limits
from layers import crs as crsmod
from layers.crs import SourceCRS

__all__ = ["Normalised", "normalise"]

_POLYGONAL = {"Polygon", "MultiPolygon"}
_REASONS_ZH = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数过少",
    "Hole lies outside shell": "内环(洞)在外环之外",
    "Holes are nested": "内环互相嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "外环互相嵌套",
    "Duplicate Rings": "环重复",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}
_LOCATION = re.compile(r"^(.*?)\s*\[\s*(\S+)\s+(\S+)\s*\]\s*$")


@dataclass
class Normalised:
    geometry: MultiPolygon
    warnings: list[str]
    repair: str | None


def normalise(raw: RawSite, *, repair: bool) -> Normalised:
    """Convert a reader's result to a valid EPSG:4490 MultiPolygon, or raise why not."""
    parts, warnings = _polygonal(raw.geometries)
    _check_vertices(parts)
    lonlat = list(crsmod.to_cgcs2000(np.array(parts, dtype=object), raw.source, within_china=True))
    repairs: list[tuple[str, str]] = []
    for i, (source_part, part) in enumerate(zip(parts, lonlat, strict=True)):
        problem = _problem(source_part, part, raw.source)
        if problem is None:
            continue
        if not repair:
            raise InvalidGeometry(
                f"用地红线几何无效：{problem[0]}。请在原图中修正后重新提交，或选择自动修复 (repair=true)。"
                f" (The site geometry is invalid: {problem[1]}. Fix it in the source drawing and resend,"
                " or ask for an automatic repair with repair=true.)"
            )
        lonlat[i] = _polygonal_part(shapely.make_valid(part))
        repairs.append(problem)
    if raw.audit is not None:
        warnings += raw.audit(lonlat)
    site = _merge(lonlat)
    _check_area(site)
    zone_warning = crsmod.check_zone(site, raw.source)
    warnings += [zone_warning] if zone_warning else []
    return Normalised(site, warnings, _repair_note(repairs))


def _polygonal(geometries: list[BaseGeometry]) -> tuple[list[BaseGeometry], list[str]]:
    kept: list[BaseGeometry] = []
    dropped: Counter[str] = Counter()
    for geom in geometries:
        for member in _members(geom):
            if member.is_empty:
                continue
            if member.geom_type in _POLYGONAL:
                kept.append(shapely.force_2d(member))
            else:
                dropped[member.geom_type] += 1
    listed = ", ".join(f"{name}×{count}" for name, count in sorted(dropped.items()))
    if not kept and dropped:
        raise InvalidInput(
            f"用地红线必须是面 (Polygon/MultiPolygon)，收到的是 {listed}。请提交闭合的用地范围线。"
            f" (A site boundary must be an area (Polygon/MultiPolygon); got {listed}: send the closed"
            " boundary.)"
        )
    if not kept:
        raise InvalidInput(
            "文件中没有任何用地范围 (几何为空)。请检查是否导出了正确的图层或地块。"
            " (The file holds no site geometry (it is empty): check that the right layer or parcel was"
            " exported.)"
        )
    warnings = []
    if dropped:
        warnings.append(
            f"已忽略非面要素 {listed}，只使用其中的面。 (Ignored non-polygon parts {listed};"
            " only the polygons are used.)"
        )
    return kept, warnings


def _members(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type != "GeometryCollection":
        return [geom]
    return [member for part in shapely.get_parts(geom) for member in _members(part)]


def _check_vertices(parts: list[BaseGeometry]) -> None:
    count = int(shapely.get_num_coordinates(parts).sum())
    limit = limits()["vertices"]
    if count > limit:
        raise InvalidInput(
            f"用地红线有 {count} 个顶点，超过上限 {limit}。请抽稀 (简化) 边界后重新提交。"
            f" (The site has {count} vertices, more than the limit of {limit}: simplify the boundary"
            " and resend.)"
        )


def _problem(source_part: BaseGeometry, part: BaseGeometry, source: SourceCRS) -> tuple[str, str] | None:
    """Return why a part is invalid and where, in Chinese and English, or None if it is valid."""
    # Check in the source first, so the location is where the surveyor drew it.
    for geom, in_source in ((source_part, True), (part, False)):
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            return _describe(reason, source if in_source else None)
    return None


def _describe(reason: str, source: SourceCRS | None) -> tuple[str, str]:
    match = _LOCATION.match(reason)
    what = match.group(1) if match else reason
    zh, en = _REASONS_ZH.get(what, what), what
    if match is None:
        return zh, en
    x, y = float(match.group(2)), float(match.group(3))
    if source is None or source.is_geographic and source.offset is None:
        return f"{zh}，位置 经度 {x:.7f}, 纬度 {y:.7f}", f"{en} at longitude {x:.7f}, latitude {y:.7f}"
    lon, lat = crsmod.to_cgcs2000(Point(x, y), source).coords[0]
    lonlat_zh, lonlat_en = f"经度 {lon:.7f}, 纬度 {lat:.7f}", f"longitude {lon:.7f}, latitude {lat:.7f}"
    if source.is_geographic:
        at_zh = at_en = f"{source.label} {x:.7f}, {y:.7f}"
    else:
        at_zh = f"{source.label} X(北)={y:.3f}, Y(东)={x:.3f}"
        at_en = f"{source.label} X (northing) {y:.3f}, Y (easting) {x:.3f}"
    return f"{zh}，位置 {at_zh}，即 {lonlat_zh}", f"{en} at {at_en}, i.e. {lonlat_en}"


def _repair_note(repairs: list[tuple[str, str]]) -> str | None:
    if not repairs:
        return None
    zh, en = "；".join(r[0] for r in repairs), "; ".join(r[1] for r in repairs)
    return (
        f"已自动修复 (make_valid，仅保留面)：{zh}。请核对修复结果。"
        f" (Repaired automatically (make_valid, polygons kept): {en}. Check the result.)"
    )


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL and not p.is_empty]
    return shapely.union_all(polygons) if polygons else shapely.MultiPolygon()


def _merge(parts: list[BaseGeometry]) -> MultiPolygon:
    # Features and parcels may share borders: their union is the site, not an invalid overlap.
    merged = _polygonal_part(shapely.union_all(parts))
    if merged.is_empty:
        raise InvalidInput(
            "修复后没有剩下任何面积。请检查用地红线。 (Nothing with an area is left after the repair:"
            " check the site boundary.)"
        )
    if merged.geom_type == "Polygon":
        merged = MultiPolygon([merged])
    return shapely.orient_polygons(merged)


def _check_area(site: MultiPolygon) -> None:
    km2 = crsmod.ellipsoidal_area_m2(site) / 1e6
    limit = limits()["area_km2"]
    if km2 > limit:
        raise InvalidInput(
            f"用地面积 {km2:.2f} 平方公里，超过上限 {limit:g} 平方公里。请检查坐标单位与坐标系，或拆分项目。"
            f" (The site covers {km2:.2f} km², more than the limit of {limit:g} km²: check the units"
            " and CRS, or split the project.)"
        )
