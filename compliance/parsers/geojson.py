"""Read a GeoJSON geometry, Feature or FeatureCollection (RFC 7946, plus the legacy `crs` member)."""

from __future__ import annotations

import json

from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from blueprint.errors import InvalidInput, echo
from compliance.parsers._common import Options, RawSite, decode_text, resolve_source

__all__ = ["read"]

_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def read(data: bytes | str | dict, options: Options) -> RawSite:
    """Read GeoJSON; coordinates are lon/lat (CRS84) unless `crs` or the legacy member says otherwise."""
    doc = data if isinstance(data, dict) else _load(decode_text(data))
    geometries, skipped = _geometries(doc)
    source = resolve_source(options.crs, options.zone, _legacy_crs(doc), geometries, default="CRS84")
    warnings = []
    if skipped:
        warnings.append(
            f"{skipped} 个要素没有几何，已忽略。 ({skipped} features without geometry were ignored.)"
        )
    return RawSite(geometries, source, warnings)


def _load(text: str) -> dict:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"GeoJSON 无法解析：第 {exc.lineno} 行第 {exc.colno} 列 {exc.msg}。请用 GIS 软件重新导出。"
            f" (The GeoJSON does not parse: line {exc.lineno} column {exc.colno}: {exc.msg}."
            " Export it again from the GIS software.)"
        ) from exc
    except RecursionError:  # json raises it, not a ValueError, on deep nesting
        raise InvalidInput("GeoJSON 嵌套过深：用地红线不需要这么深的几何集合。"
                           " (The GeoJSON nests too deep for a site.)") from None
    if not isinstance(doc, dict):
        raise _not_geojson()
    return doc


def _geometries(doc: dict) -> tuple[list[BaseGeometry], int]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise _not_geojson()
    elif kind == "Feature":
        features = [doc]
    elif kind in _GEOMETRY_TYPES:
        return [_shape(doc)], 0
    else:
        raise _not_geojson()
    present = [f.get("geometry") for f in features if isinstance(f, dict) and f.get("geometry")]
    return [_shape(g) for g in present], len(features) - len(present)


def _shape(geometry: dict) -> BaseGeometry:
    try:
        return shape(geometry)
    except (GEOSException, ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError) as exc:
        reason = echo(exc, 200)
        raise InvalidInput(
            f"GeoJSON 几何无法读取：{reason}。每个面至少需要 4 个坐标 (首尾相同)，坐标为 [经度, 纬度]。"
            f" (A GeoJSON geometry cannot be read: {reason}. Each ring needs at least 4 positions, the last"
            " equal to the first, as [longitude, latitude].)"
        ) from exc


def _legacy_crs(doc: dict) -> str | None:
    # GeoJSON 2008 named the CRS in the document; RFC 7946 dropped it, but old exports still carry it.
    member = doc.get("crs")
    if not member:
        return None
    properties = member.get("properties", {}) if isinstance(member, dict) else {}
    if "name" in properties:
        return str(properties["name"])
    if "code" in properties:
        return f"EPSG:{properties['code']}"
    raise InvalidInput(
        f"无法识别 GeoJSON 的 crs 成员 {json.dumps(member, ensure_ascii=False)[:80]}。"
        "请删除它并用 crs 参数声明坐标系。"
        " (The GeoJSON 'crs' member is not understood: remove it and declare the CRS with the crs"
        " parameter.)"
    )


def _not_geojson() -> InvalidInput:
    return InvalidInput(
        "不是 GeoJSON：需要 type 为 FeatureCollection、Feature 或 Polygon/MultiPolygon 的 JSON 对象。"
        " (Not GeoJSON: expected a JSON object whose type is FeatureCollection, Feature or"
        " Polygon/MultiPolygon.)"
    )
